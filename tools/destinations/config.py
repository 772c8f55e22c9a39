"""A destination's configuration: the file `cmo sync --config` reads and the service stores (sealed).

A file holds one destination, or several under `destinations:` keyed by the name `cmo sync` takes:

    destinations:
      hubspot:
        platform: hubspot
        base_url: https://api.hubapi.com      # sandboxes, EU data centres, tests
        token: env:HUBSPOT_TOKEN              # or the literal token (then keep the file private)
        conflict_policy: fill_blanks          # ours_wins | theirs_wins | fill_blanks
        list_name: cmo ML maintainers
        batch_size: 100
        rate_limit_per_second: 10
        mapping: {fields: {email: email, firstname: first_name}, custom: {github_url: github_url}}
        options: {github_url_property: github_url}

`token: env:NAME` keeps the secret out of the file; it is read when the connector is built.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.destinations.base import ConflictPolicy
from tools.destinations.mapping import FieldMapping

Conversion = Literal["demo_booked", "trial_started", "contact_made"]
# Pulled stage names (lowercased) that count as conversions; common defaults of the three CRMs
# (HubSpot lifecycle stages, Salesforce lead status and opportunity stages, Pipedrive's default
# pipeline); a config's `stage_events` replaces them.
DEFAULT_STAGE_EVENTS: dict[str, Conversion] = {
    "salesqualifiedlead": "contact_made",
    "working - contacted": "contact_made",
    "contacted": "contact_made",
    "qualified": "contact_made",
    "opportunity": "demo_booked",
    "appointmentscheduled": "demo_booked",
    "demo scheduled": "demo_booked",
    "demo booked": "demo_booked",
    "trial": "trial_started",
    "trial started": "trial_started",
}


# Options that hold secrets (sent to the vendor, or undoing pseudonyms) and options naming a URL
# this process calls with them: the service seals and hides the first, and checks the second as it
# checks `base_url` (a private address would receive the secret).
SECRET_OPTIONS = frozenset({"client_secret", "deletion_token", "pseudonym_key", "refresh_token"})
CALLED_URL_OPTIONS = frozenset({"accounts_url", "deletion_base_url"})


class DestinationConfigError(ValueError):
    """The config file is unreadable or invalid, or its `env:` token is unset: one line for the user."""


class DestinationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str = Field(description="a name in tools.destinations.registry.FACTORIES, e.g. hubspot")
    name: str | None = Field(default=None, description="your name for this destination (default: the platform)")
    base_url: str | None = Field(default=None, description="API base URL override (default: the vendor's)")
    token: str = Field(default="", description="API key or access token, or env:NAME to read it from the environment")
    mapping: FieldMapping | None = Field(default=None, description="default: the connector's DEFAULT_MAPPING")
    conflict_policy: ConflictPolicy = "fill_blanks"
    list_name: str | None = Field(default=None, description="a list/segment to add the pushed contacts to")
    batch_size: int = Field(default=100, ge=1, le=1000)
    rate_limit_per_second: float = Field(default=5.0, gt=0)
    options: dict[str, str] = Field(default_factory=dict, description="vendor specifics (see each connector)")
    stage_events: dict[str, Conversion] = Field(
        default_factory=lambda: dict(DEFAULT_STAGE_EVENTS),
        description="pulled lifecycle/deal stage name (case-insensitive) -> the conversion it records",
    )

    @property
    def label(self) -> str:
        return self.name or self.platform

    def resolved_token(self) -> str:
        """The literal token, or the environment variable an `env:NAME` token names."""
        if not self.token.startswith("env:"):
            return self.token
        variable = self.token.removeprefix("env:")
        value = os.environ.get(variable, "")
        if not value:
            raise DestinationConfigError(f"{self.label}: token is env:{variable} but {variable} is not set")
        return value


class DestinationsFile(BaseModel):
    """Several destinations in one file, keyed by name."""

    model_config = ConfigDict(extra="forbid")

    destinations: dict[str, DestinationConfig]


def load_configs(path: Path) -> dict[str, DestinationConfig]:
    """Read a YAML or JSON config file (one destination, or `destinations:`); name -> config.
    One clear error for anything wrong."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise DestinationConfigError(f"cannot read {path}: {exc}") from exc
    try:
        if isinstance(data, dict) and "destinations" in data:
            many = DestinationsFile.model_validate(data).destinations
            return {name: config.model_copy(update={"name": config.name or name}) for name, config in many.items()}
        one = DestinationConfig.model_validate(data)
        return {one.label: one}
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DestinationConfigError(f"{path}: {where}: {first['msg']}") from exc


def load_config(path: Path, name: str) -> DestinationConfig:
    """The destination `name` of the file (a one-destination file also answers to its platform)."""
    configs = load_configs(path)
    found = configs.get(name) or next((c for c in configs.values() if len(configs) == 1 and c.platform == name), None)
    if found is None:
        raise DestinationConfigError(f"{path} has no destination {name!r} (it has: {', '.join(configs)})")
    return found
