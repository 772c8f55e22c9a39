"""Which destination received which person, for `cmo sync` runs outside the service (the service
keeps the same in its `destination_deliveries` table): erasure must reach every recipient (GDPR
Art. 17(2)) and say so (Art. 19).

`$CMO_HOME/destinations/deliveries.json` lists, per delivery, the destination's name, platform and
config file (to rebuild the connector; tokens stay `env:` references or in that file), the prospect
id, the remote record id and a SHA-256 of the lowercased email (so `cmo erase --email` finds the
person without the ledger keeping the address). `erasures.jsonl` beside it records each propagated
erasure by a hash of the prospect id, the destination and the outcome, never the person.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, TypeAdapter

from tools.destinations.base import ForgetResult

LEDGER_DIR = "destinations"
DELIVERIES = "deliveries.json"
ERASURES = "erasures.jsonl"


def email_hash(email: str | None) -> str | None:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest() if email else None


def subject_hash(prospect_id: str) -> str:
    return hashlib.sha256(prospect_id.encode()).hexdigest()[:16]


class Delivery(BaseModel):
    destination: str
    platform: str
    config_path: str
    prospect_id: str
    remote_id: str
    email_sha256: str | None = None
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Ledger:
    def __init__(self, home: Path) -> None:
        self.dir = home / LEDGER_DIR
        self.path = self.dir / DELIVERIES

    def deliveries(self) -> list[Delivery]:
        if not self.path.is_file():
            return []
        return TypeAdapter(list[Delivery]).validate_json(self.path.read_bytes())

    def _save(self, deliveries: list[Delivery]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(TypeAdapter(list[Delivery]).dump_json(deliveries, indent=1))
        os.chmod(temporary, 0o600)
        temporary.replace(self.path)

    def record(self, new: list[Delivery]) -> None:
        """Add deliveries; one entry per (destination, config, prospect), the newest kept."""
        keyed = {(d.destination, d.config_path, d.prospect_id): d for d in [*self.deliveries(), *new]}
        self._save(list(keyed.values()))

    def recipients(self, *, prospect_ids: set[str], email: str | None = None) -> list[Delivery]:
        """Deliveries of the person (prospect ids compare case-insensitively: logins do on GitHub)."""
        wanted, ids = email_hash(email), {p.lower() for p in prospect_ids}
        return [d for d in self.deliveries() if d.prospect_id.lower() in ids or (wanted and d.email_sha256 == wanted)]

    def settle(self, delivery: Delivery, result: ForgetResult) -> None:
        """Record the erasure's outcome; a delivery whose record is gone leaves the ledger."""
        self.dir.mkdir(parents=True, exist_ok=True)
        line = {
            "at": datetime.now(UTC).isoformat(),
            "subject": subject_hash(delivery.prospect_id),
            "destination": delivery.destination,
            "platform": delivery.platform,
            "outcome": result.outcome,
            "records": len(result.remote_ids),
            "detail": result.detail,
        }
        with (self.dir / ERASURES).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
        if result.outcome != "failed":
            self._save([d for d in self.deliveries() if d != delivery])
