"""Region codes and the countries they contain (ISO 3166-1 alpha-2), and the audience's place rule.

One table shared by the goal parser (what "Europe" means), the enricher (country -> region) and
the sandbox's ground truth, so the three can never disagree about who is "in the EU"; and one
function (`place_rejection`) that both the enricher and the ground truth apply to targets and
exclusions, so "anywhere but China" means the same to the pipeline and to its judge.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

PlaceRejection = Literal["outside_target_regions", "outside_target_cities", "excluded_region", "excluded_city"]

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


def excluded_by(exclusions: Iterable[str], country: str | None) -> bool:
    """True when `country` is one of `exclusions` (country or region codes).

    An unknown country is never excluded: nothing says the person is in the place left out, and
    dropping everyone without a readable location would turn "anywhere but China" into "only
    people who say where they are".
    """
    return bool(country) and any(country == x or country in REGIONS.get(x, ()) for x in (e.upper() for e in exclusions))


def _names_city(cities: Iterable[str], city: str | None) -> bool:
    return city is not None and city.casefold() in {c.casefold() for c in cities}


def place_rejection(
    country: str | None,
    city: str | None,
    *,
    target_regions: Iterable[str] = (),
    target_cities: Iterable[str] = (),
    exclude_regions: Iterable[str] = (),
    exclude_cities: Iterable[str] = (),
) -> PlaceRejection | None:
    """Why a person in (`country`, `city`) is outside the audience's geography; None when inside.

    Targets must all hold (a country or region among `target_regions`, a city among `target_cities`
    when any is named); exclusions drop a person whose country or region is excluded or whose city
    has an excluded name. An excluded city name drops every city of that name, so "not in
    Cambridge" leaves out both Cambridges: for an exclusion, the broader reading is the safe one.
    """
    target_cities = list(target_cities)
    if not matches_targets(target_regions, country):
        return "outside_target_regions"
    if target_cities and not _names_city(target_cities, city):
        return "outside_target_cities"
    if excluded_by(exclude_regions, country):
        return "excluded_region"
    if _names_city(exclude_cities, city):
        return "excluded_city"
    return None
