"""The web app in a real browser (Playwright driving the system Chromium) against `create_app` on a
real port, in the embedded mode, over a GitHub sandbox whose people wrote HTML and script into their
profiles. Screenshots of every page land in the test's output folder (printed; kept by pytest).
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest

from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.services.tenants import issue_api_key, revoke_api_key
from foundation.settings import Settings
from sandbox import SandboxServer, build_world, open_sandbox
from tests.support.browser import chromium, cuttable, live_server

pytestmark = pytest.mark.slow

NAME = '<img src=x onerror="alert(1)">'
BIO = "<script>alert(1)</script> I maintain things"
COMPANY = "<b onmouseover=alert(1)>Acme</b>"
GOAL = "Find Python maintainers active in ML"
T = TypeVar("T")


@contextmanager
def xss_sandbox(seed: int, users: int, anchor: date, latency_ms: int = 0) -> Iterator[str]:
    """A sandbox (built for this run alone) where every person's name, bio and company attack an HTML page."""
    world = build_world(seed, users, anchor)
    for person in world.users.values():
        person.name, person.bio, person.company = NAME, BIO, COMPANY
    server = SandboxServer(world, latency_ms=latency_ms).start()
    try:
        yield server.url
    finally:
        server.stop()


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(_env_file=None, cmo_home=tmp_path / "home", **overrides)


def _db(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    """A database action from a test driving Playwright, whose sync API keeps an event loop running
    in this thread (so `asyncio.run` must happen in another)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run_with_database, settings, action).result()


def _key(settings: Settings, role: str = "member") -> tuple[str, str]:
    issued = _db(settings, lambda db: issue_api_key(db, f"web-{uuid.uuid4().hex[:8]}", role))
    return issued.key, issued.key_id


@contextmanager
def _shot_on_failure(page: Any, path: Path) -> Iterator[None]:
    """A failing step leaves a screenshot of what the browser showed (beside the others)."""
    try:
        yield
    except BaseException:
        page.screenshot(path=path, full_page=True)
        raise


def _sign_in(page: Any, url: str, key: str) -> None:
    page.goto(url)
    page.get_by_test_id("api-key-input").fill(key)
    page.get_by_test_id("sign-in").click()
    page.get_by_test_id("goal-input").wait_for()


def test_a_person_signs_in_runs_a_goal_watches_the_trace_reviews_and_downloads(tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    print(f"screenshots: {shots}")
    settings = _settings(tmp_path, sandbox_users=300)
    dialogs: list[str] = []
    with (
        live_server(settings, ApiConfig(github_sandbox=xss_sandbox, workers_inline=1)) as url,
        chromium() as browser,
    ):
        key, _ = _key(settings, "admin")  # the sender profile is an admin's setting
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        with _shot_on_failure(page, shots / "failure.png"):
            page.goto(url)
            page.get_by_test_id("api-key-input").wait_for()
            page.screenshot(path=shots / "1-sign-in.png")
            _sign_in(page, url, key)

            # The key became an httpOnly, SameSite cookie; the page keeps no key anywhere.
            (cookie,) = context.cookies()
            assert cookie["name"] == "cmo_session" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert key not in cookie["value"] and key not in page.url
            assert page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)") == "{}{}"

            # A goal: the plan's chips appear, the trace streams; a reload mid-job resumes it.
            page.get_by_test_id("goal-input").fill(GOAL)
            page.get_by_test_id("goal-submit").click()
            page.get_by_test_id("trace-event").first.wait_for()
            page.reload()
            page.get_by_test_id("trace-state").filter(has_text="The job ended").wait_for(timeout=120_000)
            plan = page.get_by_test_id("plan-summary")
            assert "Python" in plan.inner_text() and "machine learning" in plan.inner_text()
            stats = page.evaluate("window.cmoTrace")
            assert stats["ended"] and stats["received"] == stats["lastSeq"] > 20, stats  # every event, from the first, once
            assert page.get_by_test_id("trace-event").count() > 20
            dropped = page.locator(".ev-prospect-dropped").first  # who was left out, why, and the evidence
            assert re.match(r"\d\d:\d\d:\d\d dropped \S+: \S.+", dropped.inner_text()), dropped.inner_text()
            assert dropped.locator(".muted").last.inner_text().strip(), "the evidence is shown"
            # A question about the results is answered from their evidence, by the same rules as /api/chat.
            page.get_by_test_id("goal-input").fill("why is #1 first?")
            page.get_by_test_id("goal-submit").click()
            page.locator(".bubble.assistant .bubble-meta", has_text="explain").wait_for()
            page.screenshot(path=shots / "2-chat-and-trace.png", full_page=True)

            # Leads: the table fills, sorts and filters; a lead opens its evidence, inert hostile text included.
            page.get_by_test_id("tab-leads").click()
            rows = page.get_by_test_id("lead-row")
            rows.first.wait_for()
            total = rows.count()
            assert total > 3
            page.locator("th[data-key=score]").click()
            scores = [float(s) for s in page.locator("tr[data-testid=lead-row] td.num:nth-child(5)").all_inner_texts()]
            assert scores == sorted(scores, reverse=True)
            page.get_by_test_id("filter-verdict").select_option("needs_review")
            assert 0 < rows.count() <= total
            page.screenshot(path=shots / "3-leads.png", full_page=True)
            rows.first.click()
            evidence = page.get_by_test_id("lead-evidence")
            evidence.wait_for()
            text = evidence.inner_text()
            assert BIO in text and "Evidence" in text and "Score" in text
            assert evidence.locator("script, img, b").count() == 0  # profile strings rendered as text
            login = page.locator("tr.selected").get_attribute("data-prospect")
            assert login

            # Review: an edit re-runs the compliance review (a phone number is flagged), then approval.
            page.get_by_test_id("draft-subject").fill("A question about your ML work")
            body = page.get_by_test_id("draft-body").input_value()
            page.get_by_test_id("draft-body").fill(body + "\nCall me on +1 415 555 0100.")
            page.get_by_test_id("draft-save").click()
            page.get_by_test_id("review-status").filter(has_text="ran again").wait_for()
            assert "personal data" in page.get_by_test_id("flags").inner_text()
            page.get_by_test_id("draft-body").fill(body)
            page.get_by_test_id("draft-save").click()
            page.get_by_test_id("review-status").filter(has_text="ran again").wait_for()
            page.get_by_test_id("review-reason").fill("checked the evidence by hand")
            page.get_by_test_id("draft-approve").click()
            page.get_by_test_id("verdict").filter(has_text="approved").wait_for()
            assert "checked the evidence by hand" in page.get_by_test_id("decision").inner_text()
            page.screenshot(path=shots / "4-lead-review.png", full_page=True)

            # Rejecting needs a reason (the API's 422 is shown as words), then the verdict follows.
            page.locator("tr[data-testid=lead-row]").nth(1).locator("td").first.click()  # beside the open drawer
            page.get_by_test_id("draft-reject").click()
            page.get_by_test_id("review-status").locator(".notice.error").wait_for()
            page.get_by_test_id("review-reason").fill("not a fit for this campaign")
            page.get_by_test_id("draft-reject").click()
            page.get_by_test_id("verdict").filter(has_text="rejected").wait_for()

            # Downloads reflect the decision: the approved lead is in the contactable CSV.
            page.get_by_test_id("tab-files").click()
            with page.expect_download() as download:
                page.get_by_test_id("download-leads_contactable.csv").click()
            content = Path(download.value.path()).read_text(encoding="utf-8")
            approved = [row["id"] for row in csv.DictReader(io.StringIO(content))]
            assert login in approved
            assert "A question about your ML work" in content
            page.screenshot(path=shots / "5-files.png")

            # Job history and settings.
            page.goto(f"{url}/#/jobs")
            page.get_by_test_id("job-row").first.wait_for()
            assert GOAL in page.get_by_test_id("job-row").first.inner_text()
            page.screenshot(path=shots / "6-jobs.png")
            page.goto(f"{url}/#/settings")
            page.get_by_test_id("sender-name").fill("Ada from TechFlow")
            page.get_by_test_id("sender-postal_address").fill("TechFlow, 1 Main St, Springfield, USA")
            page.get_by_test_id("sender-unsubscribe_url").fill("https://example.invalid/unsubscribe")
            page.get_by_test_id("sender-save").click()
            assert page.locator(
                "form[data-testid=sender-form] .notice.error"
            ).inner_text()  # a placeholder link is refused, with why
            page.get_by_test_id("sender-unsubscribe_url").fill("https://techflow.dev/unsubscribe")
            page.get_by_test_id("sender-save").click()
            page.locator("form[data-testid=sender-form] .notice.info").wait_for()
            csv_file = tmp_path / "suppress.csv"
            csv_file.write_text("kind,value\nlogin,someone-else\ndomain,example.org\n", encoding="utf-8")
            page.get_by_test_id("suppression-file").set_input_files(csv_file)
            page.get_by_test_id("suppression-upload").click()
            page.get_by_text(re.compile(r"Imported 2 rows")).wait_for()
            page.screenshot(path=shots / "7-settings.png", full_page=True)
            page.reload()
            page.get_by_test_id("sender-name").wait_for()
            page.wait_for_function("() => document.querySelector('[data-testid=sender-name]').value !== ''")
            assert page.get_by_test_id("sender-name").input_value() == "Ada from TechFlow"
    assert dialogs == []  # no payload ever ran


@pytest.fixture(params=["embedded", "postgres+redis"])
def service_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The embedded mode (SQLite, in-process queue) and the production one (Postgres, Redis streams)."""
    if request.param == "embedded":
        return _settings(tmp_path)
    return _settings(
        tmp_path,
        database_url=request.getfixturevalue("migrated_postgres_url"),
        redis_url=request.getfixturevalue("redis_url"),
    )


def test_sessions_end_clearly_and_state_changes_need_the_csrf_token(service_settings: Settings) -> None:
    settings = service_settings
    config = ApiConfig(github_sandbox=open_sandbox, workers_inline=0, jobs_stream=f"cmo:test:web:{uuid.uuid4().hex}")
    with live_server(settings, config) as url, chromium() as browser:
        key, key_id = _key(settings)
        page = browser.new_page()
        response = page.goto(url)
        assert response is not None
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        page.get_by_test_id("api-key-input").wait_for()
        weight = page.evaluate(
            """performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
                .reduce((sum, e) => sum + (e.decodedBodySize || 0), 0)"""
        )
        assert 0 < weight < 300_000, weight  # the first load's assets, uncompressed
        page.get_by_test_id("api-key-input").fill("cmo_sk_not-a-key")
        page.get_by_test_id("sign-in").click()
        page.get_by_text("unknown or revoked API key").wait_for()
        _sign_in(page, url, key)

        # The cookie alone cannot change anything: a request without the page's CSRF token is refused.
        status = page.evaluate(
            """fetch('/api/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({goal: 'Find Rust developers'})}).then(r => r.status)"""
        )
        assert status == 403

        # Sign out, sign in again, then the key is revoked: the next request lands on sign-in, saying why.
        page.get_by_test_id("sign-out").click()
        page.get_by_text("You are signed out.").wait_for()
        _sign_in(page, url, key)
        _db(settings, lambda db: revoke_api_key(db, key_id))
        page.goto(f"{url}/#/jobs")  # the page's next API call is answered 401, with the reason
        page.get_by_test_id("api-key-input").wait_for()
        assert "revoked" in page.locator(".notice").inner_text()


def test_the_trace_keeps_up_with_a_1000_lead_job(tmp_path: Path) -> None:
    settings = _settings(tmp_path, sandbox_users=20_000)
    with (
        live_server(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=1)) as server_url,
        cuttable(server_url) as (url, network),
        chromium() as browser,
    ):
        key, _ = _key(settings)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        _sign_in(page, url, key)
        page.get_by_test_id("goal-input").fill("Top 1000 Python developers active in the last 180 days")
        page.get_by_test_id("goal-submit").click()
        page.wait_for_function("() => window.cmoTrace && window.cmoTrace.received > 500", timeout=240_000)
        network.cut()  # the stream drops mid-job; EventSource reconnects by itself with Last-Event-ID
        page.get_by_test_id("trace-state").filter(has_text="The job ended").wait_for(timeout=240_000)
        stats = page.evaluate("window.cmoTrace")
        print(f"trace: {stats}")
        assert stats["received"] == stats["lastSeq"] > 4000, stats  # no event lost or shown twice
        assert stats["opens"] >= 2, stats  # and the stream really was resumed
        assert stats["lastLagMs"] < 500, stats  # from the last SSE event to its row on screen
        page.get_by_test_id("tab-leads").click()
        page.get_by_test_id("lead-row").nth(999).wait_for()
        started = page.evaluate("performance.now()")
        page.locator("th[data-key=country]").click()  # the page still answers at once with 1,000 rows
        assert page.evaluate("performance.now()") - started < 2000
        page.get_by_test_id("bulk-approve").click()
        page.get_by_text(re.compile(r"Approved \d+; skipped")).wait_for(timeout=60_000)
        assert page.locator("tr[data-testid=lead-row] .v-needs_review").count() == 0
        page.screenshot(path=tmp_path / "1000-leads.png")


def test_the_trace_shows_every_model_request_as_text(tmp_path: Path) -> None:
    """A scripted model: one draft request gets a 503 and is retried, one draft names a repository the
    evidence lacks (its reason, model-written text, is shown inert); each request is a readable row."""
    from tests.support.openai_server import Reply, ScriptedOpenAIServer

    drafts: list[int] = []

    def model(body: dict[str, Any]) -> Reply:
        name = body["tools"][0]["function"]["name"]
        if name == "LLMPlan":
            audience = {"languages": ["Python"], "domains": ["machine_learning"], "role": "maintainer"}
            return Reply.tool(name, {"audience": audience, "max_prospects": 3})
        if name == "ToneOut":
            return Reply.tool(name, {"verdict": "ok", "reasons": []})
        if name == "FollowUpOut":
            brief = json.loads(body["messages"][1]["content"])["template_draft"]
            return Reply.tool(name, {"body": brief["body"], "facts_used": []})
        drafts.append(1)
        if len(drafts) == 1:
            return Reply.error(503, "overloaded")
        if len(drafts) == 2:
            return Reply.tool(name, {"subject": "Hi", "body": f"Loved bob/megaproject. {NAME}", "facts_used": []})
        brief = json.loads(body["messages"][1]["content"])["template_draft"]
        return Reply.tool(name, {"subject": brief["subject"], "body": brief["body"], "facts_used": []})

    dialogs: list[str] = []
    with ScriptedOpenAIServer(model) as llm:
        settings = _settings(
            tmp_path, sandbox_users=300, openai_api_key="test", openai_base_url=llm.base_url, cmo_model="scripted"
        )
        with live_server(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=1)) as url, chromium() as browser:
            key, _ = _key(settings)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            with _shot_on_failure(page, tmp_path / "failure.png"):
                _sign_in(page, url, key)
                page.get_by_test_id("goal-input").fill(GOAL)
                page.get_by_test_id("goal-submit").click()
                page.get_by_test_id("trace-state").filter(has_text="The job ended").wait_for(timeout=120_000)
                rows = page.get_by_test_id("trace-event")
                planner = rows.filter(has_text="model LLMPlan").first.inner_text()
                assert "scripted · prompt v1 · attempt 1" in planner and "answered in" in planner and "tokens in" in planner
                assert "retrying" in rows.filter(has_text="model error:").first.inner_text()
                rejected = rows.filter(has_text="answer rejected:").first.inner_text()
                assert "bob/megaproject" in rejected
                assert rows.filter(has_text="retry 1").count() >= 1
                assert "model calls" in page.locator("[data-group=Copywriter] .counts").inner_text()
                page.screenshot(path=tmp_path / "model-trace.png", full_page=True)
    assert dialogs == []
