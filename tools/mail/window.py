"""The send window: cold email lands during the recipient's working hours, or waits.

`CMO_SEND_WINDOW=09:00-17:00` lets a message go out only between those local times on the
recipient's weekdays (Monday to Friday). A message outside it is not claimed, so nothing is lost:
the next `cmo send` inside the window sends it.

The recipient's time zone is read from what the pipeline already knows, never guessed:
- the profile's free-form location, through `tools.geo` (country and city), or the lead's `country`;
- a country with one time zone in the system's tz database (`zone1970.tab`/`zone.tab`: FR, DE, IN,
  JP, ...) is that zone;
- a country with several (US, CA, AU, BR, RU, ...) needs a city named like one of its zones
  ("San Francisco" does not name one, "Los Angeles" or "Chicago" do): else unknown.
An unknown time zone means no window: the message is sent when the run happens (the caps still apply).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from foundation.schemas import Prospect
from tools.geo import normalize_location

_WEEKDAYS = range(5)  # Monday .. Friday


@dataclass(frozen=True)
class SendWindow:
    """Local `start` to `end` (exclusive; `24:00` is midnight) on weekdays."""

    start: time
    end_minutes: int  # minutes after midnight; up to 24 * 60

    @classmethod
    def parse(cls, text: str) -> SendWindow:
        """`HH:MM-HH:MM` (settings validate the syntax); ValueError for an empty or reversed window."""
        first, last = text.strip().split("-")
        start_h, start_m = (int(part) for part in first.split(":"))
        end_h, end_m = (int(part) for part in last.split(":"))
        end_minutes = min(end_h * 60 + end_m, 24 * 60)
        if end_minutes <= start_h * 60 + start_m:
            raise ValueError(f"CMO_SEND_WINDOW {text!r}: the end must come after the start (no overnight windows)")
        return cls(time(start_h, start_m), end_minutes)

    def is_open(self, moment: datetime, zone: zoneinfo.ZoneInfo) -> bool:
        local = moment.astimezone(zone)
        minutes = local.hour * 60 + local.minute
        return local.weekday() in _WEEKDAYS and self.start.hour * 60 + self.start.minute <= minutes < self.end_minutes

    def next_open(self, moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
        """When the window opens next (in the recipient's zone); `moment` itself when it is open."""
        if self.is_open(moment, zone):
            return moment
        local = moment.astimezone(zone)
        day = local.date()
        for _ in range(8):
            opening = datetime.combine(day, self.start, tzinfo=zone)
            if day.weekday() in _WEEKDAYS and opening > local:
                return opening
            day += timedelta(days=1)
        raise AssertionError("a weekday comes within eight days")


@lru_cache(maxsize=1)
def _zones_by_country() -> dict[str, tuple[str, ...]]:
    """Country code -> its tz database zones, from the system's `zone1970.tab` (or `zone.tab`)."""
    for directory in zoneinfo.TZPATH:
        for name in ("zone1970.tab", "zone.tab"):
            path = Path(directory) / name
            if not path.exists():
                continue
            zones: dict[str, list[str]] = {}
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                fields = line.split("\t")
                for country in fields[0].split(","):
                    zones.setdefault(country.strip().upper(), []).append(fields[2])
            return {country: tuple(names) for country, names in zones.items()}
    return {}


def recipient_zone(prospect: Prospect) -> zoneinfo.ZoneInfo | None:
    """The recipient's time zone when their location tells it (see the module docstring), else None."""
    place = normalize_location(prospect.location) if prospect.location else None
    country = (place.country if place else None) or prospect.country
    if not country:
        return None
    zones = _zones_by_country().get(country.upper(), ())
    name: str | None = zones[0] if len(zones) == 1 else None
    if name is None and place is not None and place.city:
        wanted = place.city.replace(" ", "_").lower()
        name = next((zone for zone in zones if zone.rsplit("/", 1)[-1].lower() == wanted), None)
    if name is None:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
