"""Region codes and the countries they contain (ISO 3166-1 alpha-2).

One table shared by the goal parser (what "Europe" means), the enricher (country -> region) and
the sandbox's ground truth, so the three can never disagree about who is "in the EU".
"""

from __future__ import annotations

from collections.abc import Iterable

EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
EUROPE = EU | frozenset(["GB", "CH", "NO", "IS", "UA", "RS", "BA", "AL", "MK", "ME", "MD", "BY", "LI"])
REGIONS: dict[str, frozenset[str]] = {
    "EU": EU,
    "EUROPE": EUROPE,
    "NA": frozenset({"US", "CA", "MX"}),
    "LATAM": frozenset(["MX", "BR", "AR", "CL", "CO", "PE", "UY", "VE", "EC", "BO", "PY", "CR", "GT", "CU", "DO"]),
    "APAC": frozenset(["IN", "CN", "JP", "KR", "SG", "AU", "NZ", "ID", "MY", "TH", "VN", "PH", "TW", "HK", "PK", "BD"]),
    "MEA": frozenset(["IL", "AE", "SA", "EG", "ZA", "NG", "KE", "MA", "TR", "TN", "GH", "ET", "QA"]),
}

# GDPR/ePrivacy: states where marketing email needs prior consent even to business addresses
# (Germany's UWG §7 is the standard example). Used by compliance under `strict`.
CONSENT_REQUIRED_COUNTRIES = frozenset({"DE", "AT", "DK", "IT", "PL"})


def region_of(country: str | None) -> str | None:
    """The most specific region code for a country: EU before EUROPE; None when unknown."""
    if not country:
        return None
    for code in ("EU", "EUROPE", "NA", "LATAM", "APAC", "MEA"):
        if country in REGIONS[code]:
            return code
    return None


def matches_targets(targets: Iterable[str], country: str | None) -> bool:
    """True when `country` is one of `targets` (country codes or region codes) or no targets are set."""
    wanted = [t.upper() for t in targets]
    if not wanted:
        return True
    if not country:
        return False
    return any(country == t or country in REGIONS.get(t, ()) for t in wanted)
