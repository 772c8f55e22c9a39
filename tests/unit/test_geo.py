"""Free-form GitHub profile locations -> country, region, city (tools.geo)."""

from __future__ import annotations

import time

import pytest

from foundation.regions import region_of
from tools.geo import Place, gazetteer, normalize_location

CASES = [
    ("Berlin, Germany", "DE", "Berlin"),
    ("München", "DE", "Munich"),
    ("Munich, Bavaria", "DE", "Munich"),
    ("San Francisco, CA", "US", "San Francisco"),
    ("SF Bay Area", "US", "San Francisco"),
    ("Bay Area", "US", "San Francisco"),
    ("NYC", "US", "New York"),
    ("New York, NY", "US", "New York"),
    ("Seattle, WA, USA", "US", "Seattle"),
    ("Toronto, ON", "CA", "Toronto"),
    ("Montreal, Canada", "CA", "Montreal"),
    ("London, UK", "GB", "London"),
    ("London", "GB", "London"),
    ("London, Ontario", "CA", "London"),
    ("Paris, France", "FR", "Paris"),
    ("Amsterdam", "NL", "Amsterdam"),
    ("Bengaluru, India", "IN", "Bengaluru"),
    ("Bangalore", "IN", "Bengaluru"),
    ("Warsaw, Poland", "PL", "Warsaw"),
    ("Stockholm", "SE", "Stockholm"),
    ("Madrid, Spain", "ES", "Madrid"),
    ("Tokyo, Japan", "JP", "Tokyo"),
    ("São Paulo, Brazil", "BR", "São Paulo"),
    ("Sao Paulo", "BR", "São Paulo"),
    ("Sydney, Australia", "AU", "Sydney"),
    ("Zürich, Switzerland", "CH", "Zurich"),
    ("Zurich", "CH", "Zurich"),
    ("Dublin, Ireland", "IE", "Dublin"),
    ("Austin, TX", "US", "Austin"),
    ("Portland, OR", "US", "Portland"),
    ("Berlin, DE", "DE", "Berlin"),
    ("Atlanta, Georgia", "US", "Atlanta"),
    ("Perth, WA", "AU", "Perth"),
    ("Cambridge, MA", "US", "Cambridge"),
    ("Washington, D.C.", "US", "Washington"),
    ("St. Louis, MO", "US", "St. Louis"),
    ("Tel Aviv-Yafo, Israel", "IL", "Tel Aviv"),
    ("Kraków", "PL", "Kraków"),
    ("Living in Berlin", "DE", "Berlin"),
    ("Berlin / Remote", "DE", "Berlin"),
    ("Germany", "DE", None),
    ("DE", "DE", None),
    ("India", "IN", None),
    ("USA", "US", None),
    ("U.S.", "US", None),
    ("United Kingdom", "GB", None),
    ("England", "GB", None),
    ("Deutschland", "DE", None),
    ("España", "ES", None),
    ("Georgia", "GE", None),
    ("Wilmington, DE", "US", None),
    ("🇩🇪", "DE", None),
    ("Earth 🇺🇸", "US", None),
    ("Istanbul, Turkey", "TR", "Istanbul"),
]


@pytest.mark.parametrize(("raw", "country", "city"), CASES, ids=[raw for raw, _, _ in CASES])
def test_locations(raw: str, country: str, city: str | None) -> None:
    assert normalize_location(raw) == Place(country=country, region=region_of(country), city=city)


@pytest.mark.parametrize("raw", ["Remote", "Earth", "localhost", "🌍", "", "   ", None, "in the cloud", "turkey"])
def test_unknown_locations(raw: str | None) -> None:
    assert normalize_location(raw) == Place()


def test_region_words_give_a_region_without_country() -> None:
    assert normalize_location("Europe") == Place(region="EUROPE")
    assert normalize_location("EU") == Place(region="EU")


def test_two_letter_words_are_not_codes_in_lowercase() -> None:
    assert normalize_location("in my home office") == Place()


def test_gazetteer_has_every_country_and_many_cities() -> None:
    refs = [ref for meanings in gazetteer().index.entries.values() for ref in meanings]
    assert len({ref.countries[0] for ref in refs if ref.kind == "country"}) >= 240
    assert len({ref.city for ref in refs if ref.kind == "city"}) >= 150


def test_fast_after_the_index_is_built() -> None:
    gazetteer()
    started = time.perf_counter()
    for i in range(2000):
        normalize_location.__wrapped__(f"Seattle, WA, USA {i}")
    assert time.perf_counter() - started < 2.0
