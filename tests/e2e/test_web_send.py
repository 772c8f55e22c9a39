"""The job view's "Send approved" button in a real browser (Playwright, the system Chromium) against
`create_app` on a real port and a real SMTP server (aiosmtpd): the click posts the send with the
session's CSRF token, the counts appear as text, a second click sends nothing new, and the trace
shows the `message.sent` events after the job's end."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.services.prospects import save_prospects
from api.services.tenants import issue_api_key
from foundation.settings import Settings
from sandbox import open_sandbox
from storage.keyring import get_keyring, tenant_scope
from tests.support.browser import chromium, live_server
from tests.support.outreach import POSTAL, SENDER_EMAIL, lead
from tests.support.smtp import Mailbox, smtp_server

pytestmark = pytest.mark.slow


def test_send_approved_from_the_job_view(tmp_path: Path) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        settings = Settings(
            _env_file=None,
            cmo_home=tmp_path / "home",
            cmo_smtp_url=f"smtp://127.0.0.1:{port}",  # type: ignore[arg-type]
            cmo_sender_email=SENDER_EMAIL,
            cmo_sender_postal_address=POSTAL,
            cmo_send_warmup_start=0,
        )
        with live_server(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0)) as url, chromium() as browser:
            issued, job_id = ThreadPoolExecutor(1).submit(_job, settings).result()
            page = browser.new_page()
            page.goto(url)
            page.get_by_test_id("api-key-input").fill(issued)
            page.get_by_test_id("sign-in").click()
            page.get_by_test_id("goal-input").wait_for()
            page.goto(f"{url}/#/jobs/{job_id}")
            page.get_by_test_id("send-approved").click()
            result = page.get_by_test_id("send-result")
            result.filter(has_text="2 sent").wait_for(timeout=30_000)
            assert "1 skipped" not in result.inner_text()
            page.get_by_test_id("send-approved").click()
            result.filter(has_text="0 sent, 0 bounced, 0 skipped, 2 already sent").wait_for(timeout=30_000)
            page.reload()
            page.locator(".ev-message-sent").nth(1).wait_for(timeout=30_000)
    assert sorted(r for m in mailbox.received for r in m.recipients) == ["ada@example-devs.org", "bob@example-devs.org"]


def _job(settings: Settings) -> tuple[str, str]:
    """A tenant's key, and a finished job of theirs with two approved drafts and one that needs review."""

    async def make(db: Database) -> tuple[str, str]:
        issued = await issue_api_key(db, f"web-{uuid.uuid4().hex[:8]}", "admin")
        # Sealed with the tenant's keys, made before the transaction as the worker does (`Keyring.prepare`):
        # made inside it, on the keyring's own connection, they would wait on this session's SQLite write lock.
        await asyncio.to_thread(get_keyring(settings).prepare, issued.tenant_id)
        with tenant_scope(issued.tenant_id):
            async with db.sessions() as session:
                job = orm.Job(id=f"cmo_{uuid.uuid4().hex[:20]}", tenant_id=issued.tenant_id, goal="send test", status="succeeded")
                session.add(job)
                await session.flush()
                leads = [lead("ada"), lead("bob"), lead("cy", verdict="needs_review")]
                await save_prospects(session, job, [p.model_copy(update={"score": 1 - i / 10}) for i, p in enumerate(leads)])
                await session.commit()
        return issued.key, job.id

    return run_with_database(settings, make)
