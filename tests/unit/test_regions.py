"""The audience's place rule (`foundation.regions.place_rejection`): targets and exclusions of regions and cities."""

from __future__ import annotations

import pytest

from foundation.regions import PlaceRejection, excluded_by, place_rejection
from foundation.schemas.campaign import TargetAudience

CASES: list[tuple[dict[str, list[str]], str | None, str | None, PlaceRejection | None]] = [
    ({}, None, None, None),
    ({"exclude_regions": ["CN"]}, "CN", "Beijing", "excluded_region"),
    ({"exclude_regions": ["CN"]}, "US", None, None),
    ({"exclude_regions": ["CN"]}, None, None, None),  # an unknown country is never excluded
    ({"exclude_regions": ["eu"]}, "DE", None, "excluded_region"),
    ({"exclude_regions": ["EU"]}, "GB", None, None),
    ({"exclude_regions": ["EUROPE"]}, "GB", None, "excluded_region"),
    ({"target_regions": ["EUROPE"], "exclude_regions": ["DE"]}, "FR", None, None),
    ({"target_regions": ["EUROPE"], "exclude_regions": ["DE"]}, "DE", "Berlin", "excluded_region"),
    ({"target_regions": ["EUROPE"], "exclude_regions": ["DE"]}, "US", None, "outside_target_regions"),
    ({"target_regions": ["EU"]}, None, None, "outside_target_regions"),  # a target needs a known country
    ({"target_regions": ["FR"], "target_cities": ["Paris"]}, "US", "Paris", "outside_target_regions"),  # Paris, TX
    ({"target_regions": ["FR"], "target_cities": ["Paris"]}, "FR", "paris", None),
    ({"target_regions": ["FR"], "target_cities": ["Paris"]}, "FR", "Lyon", "outside_target_cities"),
    ({"target_regions": ["DE"], "exclude_cities": ["Berlin"]}, "DE", "Munich", None),
    ({"target_regions": ["DE"], "exclude_cities": ["Berlin"]}, "DE", "Berlin", "excluded_city"),
    ({"target_regions": ["DE"], "exclude_cities": ["Berlin"]}, "DE", None, None),
    ({"exclude_cities": ["Paris"]}, "US", "Paris", "excluded_city"),  # every city of the name
]


@pytest.mark.parametrize(("audience", "country", "city", "expected"), CASES)
def test_place_rejection(
    audience: dict[str, list[str]], country: str | None, city: str | None, expected: PlaceRejection | None
) -> None:
    assert place_rejection(country, city, **audience) == expected
    assert TargetAudience.model_validate(audience).place_rejection(country, city) == expected


def test_exclusions_cover_region_members_and_region_codes_that_are_countries() -> None:
    assert excluded_by(["NA"], "CA") and excluded_by(["NA"], "NA")  # North America and Namibia, as for targets
    assert not excluded_by([], "CN")
