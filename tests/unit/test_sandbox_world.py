"""The sandbox world and its ground truth: deterministic, full of realistic traps, sized for the goals."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from evals.metrics import lead_set_scores as score_leads
from foundation.companies import canonical_company, company_directory, company_matches, in_family
from foundation.regions import matches_targets
from foundation.schemas.campaign import TargetAudience
from foundation.vocabulary import load_vocabulary
from sandbox import BUILTIN_GOALS, World, build_world, generate_world, identity_groups, truth
from sandbox.search import SearchError, date_range, int_range, parse_query
from sandbox.tables import BIG_COMPANIES, DNC_PHRASES, NEAR_MISSES
from sandbox.truth import matched_repos
from sandbox.world import NOREPLY_DOMAIN

ANCHOR = date(2025, 11, 25)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, users=1500)


def _active(world: World, login: str, days: int) -> bool:
    last = world.last_activity(login)
    return last is not None and last >= world.now - timedelta(days=days)


def test_same_seed_builds_the_same_world_and_another_seed_does_not() -> None:
    one, two = build_world(3, 300, ANCHOR), build_world(3, 300, ANCHOR)
    assert one.accounts == two.accounts and one.repos == two.repos and one.aliases == two.aliases
    repo = max(one.repos.values(), key=lambda r: len(r.contributors))
    assert one.commits(repo) == two.commits(two.repos[repo.full_name])
    login = next(iter(one.users))
    assert one.events(login) == two.events(login)
    other = build_world(4, 300, ANCHOR)
    assert set(other.accounts) != set(one.accounts)


def test_dates_hang_off_the_anchor_and_generation_is_fast() -> None:
    started = time.perf_counter()
    world = build_world(7, 1500, ANCHOR)
    assert time.perf_counter() - started < 2.0
    assert world.now == datetime(2025, 11, 25, tzinfo=UTC)
    assert all(r.created_at <= r.pushed_at <= world.now for r in world.repos.values())
    assert len({a.id for a in world.accounts.values()}) == len(world.accounts)
    assert len({r.id for r in world.repos.values()}) == len(world.repos)
    assert generate_world(7, 1500) is generate_world(7, 1500)


def test_pushed_at_is_the_latest_commit(world: World) -> None:
    repo = next(r for r in world.repos.values() if len(r.contributors) > 3 and not r.fork)
    commits = world.commits(repo)
    assert commits[0].date == repo.pushed_at
    assert sum(c.count for c in repo.contributors) == len(commits)
    assert [c.date for c in commits] == sorted((c.date for c in commits), reverse=True)


def test_bots_orgs_and_anonymous_authors_appear_among_contributors(world: World) -> None:
    kinds = {world.accounts[c.login].type if c.login else "Anonymous" for r in world.repos.values() for c in r.contributors}
    assert kinds == {"User", "Bot", "Organization", "Anonymous"}
    assert {"dependabot[bot]", "renovate[bot]", "github-actions[bot]"} <= set(world.accounts)
    assert any(a.type == "Organization" and a.members for a in world.accounts.values())
    assert any(not r.contributors for r in world.repos.values())
    assert any(r.stars > 5000 for r in world.repos.values())


def test_forks_and_archived_repos_match_domains_but_never_count(world: World) -> None:
    """Over the built-in goals (which of them a draw of the world gives archived traps varies with it)."""
    vocab = load_vocabulary()
    all_traps, all_lured = [], set()
    for goal in BUILTIN_GOALS.values():
        audience = goal.audience
        expected = truth(world, audience, world.now)
        counted = {login for r in matched_repos(world, audience) for login in _maintainers(world, r)}
        traps = [
            r
            for r in world.repos.values()
            if (r.fork or r.archived)
            and r.language in audience.languages
            and any(vocab.domain_matches(d, r.topics, r.description) for d in audience.domains)
        ]
        only_in_traps = {login for r in traps for login in _maintainers(world, r)} - counted
        lured = {login for login in only_in_traps if world.accounts[login].type == "User" and _active(world, login, 90)}
        assert not lured & expected, goal.name
        all_traps += traps
        all_lured |= lured
    assert any(r.fork for r in all_traps) and any(r.archived for r in all_traps)
    assert all_lured, "expected active people who maintain only forks/archived repos"


def _maintainers(world: World, repo) -> set[str]:
    listed = [c for c in repo.contributors if c.login]
    total = sum(c.count for c in listed) or 1
    top = {c.login for rank, c in enumerate(listed, 1) if rank <= 3 or c.count / total >= 0.10}
    return top | ({repo.owner} if world.accounts[repo.owner].type == "User" else set())


def test_inactive_maintainers_exist(world: World) -> None:
    audience = BUILTIN_GOALS["python-ml"].audience
    maintainers = {login for r in matched_repos(world, audience) for login in _maintainers(world, r)}
    assert any(world.accounts[m].type == "User" and not _active(world, m, 180) for m in maintainers)


def test_email_realism(world: World) -> None:
    users = list(world.users.values())
    share = sum(bool(u.email) for u in users) / len(users)
    assert 0.3 < share < 0.5
    assert all(not u.email or u.email.split("@")[1] not in ("gmail.com", "yahoo.com", "outlook.com") for u in users)
    committers = [u for u in users if world.contributions_by_login.get(u.login)]
    noreply_only = [u for u in committers if not u.email and all(e.endswith(NOREPLY_DOMAIN) for e in u.commit_emails)]
    commit_only = [u for u in committers if any(e != u.email and not e.endswith(NOREPLY_DOMAIN) for e in u.commit_emails)]
    assert noreply_only and commit_only
    forms = {"+" in e.split("@")[0] for u in noreply_only for e in u.commit_emails}
    assert forms == {True, False}, "both noreply forms: ID+login and login"


def test_one_person_has_two_accounts(world: World) -> None:
    [group] = identity_groups(world)
    secondary, primary = next(iter(world.aliases.items()))
    assert group == {primary, secondary}
    first, second = world.accounts[primary], world.accounts[secondary]
    assert first.email and first.email == second.email
    assert second.commit_emails == [first.noreply_email]
    assert re.fullmatch(rf"{first.id}\+{re.escape(primary)}@{NOREPLY_DOMAIN}", first.noreply_email)
    assert world.contributions_by_login[secondary]


def test_big_companies_locations_and_do_not_contact_bios(world: World) -> None:
    users = list(world.users.values())
    keys = {u.company_key for u in users}
    assert set(BIG_COMPANIES) <= keys
    assert len({u.company for u in users if u.company_key == "google"}) >= 3, "varied spellings"
    assert any(u.company_key == "metalworks" for u in users), "substring trap for 'meta'"
    assert {
        u.company for u in users if u.company_key is None and company_matches(u.company, ["Google", "Microsoft", "Amazon"])
    } == set()
    assert {text for text, _ in NEAR_MISSES} <= {u.company for u in users}, "former staff and community titles"
    assert any(u.bio and any(p in u.bio for p in DNC_PHRASES) for u in users)
    assert any(u.location and u.country is None for u in users) and any(u.location is None for u in users)
    assert {u.country for u in users if u.location == "München"} == {"DE"}


def test_some_people_are_active_only_through_push_events(world: World) -> None:
    assert any(
        u.pushes and all(c.last_commit < world.now - timedelta(days=90) for _, c in world.contributions_by_login[u.login])
        for u in world.users.values()
    )


def test_events_are_recent_capped_and_pushes_carry_no_commits(world: World) -> None:
    login = max(world.users, key=lambda x: len(world.events(x)))
    events = world.events(login)
    assert 0 < len(events) <= 300
    assert all(e.created_at >= world.now - timedelta(days=30) for e in events)
    pushes = [e for e in events if e.type == "PushEvent"]
    assert pushes and all(set(e.payload) == {"repository_id", "push_id", "ref", "head", "before"} for e in pushes)


@pytest.mark.parametrize("name", sorted(BUILTIN_GOALS))
def test_each_builtin_goal_has_15_to_60_true_people(world: World, name: str) -> None:
    assert 15 <= len(truth(world, BUILTIN_GOALS[name].audience, world.now)) <= 60


@pytest.mark.parametrize("name", sorted(BUILTIN_GOALS))
def test_truth_holds_only_active_people_in_region_and_not_excluded(world: World, name: str) -> None:
    audience = BUILTIN_GOALS[name].audience
    for login in truth(world, audience, world.now):
        person = world.accounts[login]
        assert person.type == "User"
        assert _active(world, login, audience.activity_days)
        assert matches_targets(audience.target_regions, person.country)
        assert not in_family(person.company_key, audience.exclude_companies)
        assert not company_matches(person.company, audience.exclude_companies), "what the profile says agrees"


@pytest.mark.parametrize("name", ["ts-react-no-faang", "rust-db-europe"])
def test_excluding_a_parent_excludes_its_divisions_but_keeps_former_staff(world: World, name: str) -> None:
    """Division staff ("Google DeepMind", "GitHub") are among the goal's people and truth drops them;
    former staff and community titles ("ex-Google", "Microsoft MVP") it keeps."""
    audience = BUILTIN_GOALS[name].audience
    loose = truth(world, audience.model_copy(update={"exclude_companies": []}), world.now)
    strict = truth(world, audience, world.now)
    directory = company_directory()
    divisions = {d for parent in audience.exclude_companies for d in directory.divisions(canonical_company(parent) or "")}
    assert divisions & {world.accounts[login].company_key for login in loose - strict}
    near_misses = {text for text, _ in NEAR_MISSES}
    assert all(login in strict for login in loose if world.accounts[login].company in near_misses)


@pytest.mark.parametrize(
    ("name", "relaxed"),
    [
        ("rust-db-europe", {"exclude_companies": []}),
        ("ts-react-no-faang", {"exclude_companies": []}),
        ("rust-db-europe", {"target_regions": []}),
        ("go-k8s-na", {"target_regions": []}),
        ("go-k8s-na", {"stars_range": None}),
        ("python-ml", {"activity_days": 3650}),
    ],
)
def test_each_filter_removes_someone(world: World, name: str, relaxed: dict) -> None:
    audience = BUILTIN_GOALS[name].audience
    strict = truth(world, audience, world.now)
    loose = truth(world, audience.model_copy(update=relaxed), world.now)
    assert strict < loose


def test_excluded_places_leave_out_exactly_their_people(world: World) -> None:
    """ "anywhere but North America" is the complement of "in North America" among people with a known country."""
    base = TargetAudience(languages=["Go"], domains=["kubernetes"], activity_days=365)
    everyone = truth(world, base, world.now)
    inside = truth(world, base.model_copy(update={"target_regions": ["NA"]}), world.now)
    outside = truth(world, base.model_copy(update={"exclude_regions": ["NA"]}), world.now)
    assert inside and outside and not inside & outside
    assert inside | outside <= everyone
    assert all(world.accounts[login].country is None for login in everyone - inside - outside)
    no_paris = truth(world, base.model_copy(update={"exclude_cities": ["Paris"]}), world.now)
    assert everyone - no_paris == {login for login in everyone if world.accounts[login].city == "Paris"} != set()


def test_truth_by_role_and_topics_without_domains(world: World) -> None:
    base = TargetAudience(languages=["Go"], domains=["kubernetes"], activity_days=365)
    maintainers = truth(world, base.model_copy(update={"role": "maintainer"}), world.now)
    contributors = truth(world, base.model_copy(update={"role": "contributor"}), world.now)
    anyone = truth(world, base, world.now)
    assert anyone == maintainers | contributors and maintainers and contributors
    assert truth(world, TargetAudience(topics=["kubernetes"], activity_days=365), world.now)


def test_score_leads_counts_people_not_logins(world: World) -> None:
    secondary, primary = next(iter(world.aliases.items()))
    groups = identity_groups(world)
    expected = {primary, "someone", "other"}
    scores = score_leads([secondary.upper(), primary, "someone", "stranger"], expected, groups)
    assert scores["true_positives"] == 2 and scores["false_positives"] == 1 and scores["false_negatives"] == 1
    assert scores["precision"] == pytest.approx(2 / 3, abs=1e-3) and scores["recall"] == pytest.approx(2 / 3, abs=1e-3)
    assert score_leads([], set(), groups)["recall"] == 1.0


def test_github_range_syntax() -> None:
    assert [int_range(s)(100) for s in ("100", ">99", ">=100", "<101", "<=100", "50..100", "100..*", "*..100")] == [True] * 8
    assert [int_range(s)(100) for s in (">100", "<100", "101..200")] == [False] * 3
    day = datetime(2024, 5, 1, 23, 59, tzinfo=UTC)
    assert date_range("2024-05-01")(day) and date_range("<=2024-05-01")(day) and not date_range(">2024-05-01")(day)
    assert date_range("2024-04-01..2024-05-01")(day) and date_range(">=2024-05-01T12:00:00Z")(day)
    with pytest.raises(SearchError):
        int_range("lots")


def test_query_parsing_rejects_unknown_qualifiers() -> None:
    qualifiers = frozenset({"language", "stars"})
    groups = parse_query('"machine learning" language:Python -stars:<10 OR NOT language:Go', qualifiers)
    assert [[(c.key, c.value, c.negated) for c in g] for g in groups] == [
        [("", "machine learning", False), ("language", "Python", False), ("stars", "<10", True)],
        [("language", "Go", True)],
    ]
    with pytest.raises(SearchError):
        parse_query("colour:blue", qualifiers)
    with pytest.raises(SearchError):
        parse_query("x" * 257, qualifiers)
