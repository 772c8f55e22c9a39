"""Lead review over HTTP on both databases, on real sandbox jobs: the ranked list, a lead's evidence,
editing a draft (the compliance rules run again on the new text), approving and rejecting (never
past a rule's rejection), bulk approval, the downloads that follow every change, the audit trail,
masking, and tenants that never see each other's leads.

Jobs run here (`run_here`) rather than on an inline worker, which on the shared Postgres schema
would also take the jobs other tests leave queued.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from typing import Any

from starlette.testclient import TestClient

from api.core import orm
from api.core.database import Database, run_with_database
from api.services.artifacts import save_artifact
from api.services.prospects import save_prospects
from api.services.tenants import IssuedKey, issue_api_key
from foundation.artifacts import LEADS_CONTACTABLE, LEADS_FULL, render_artifacts
from foundation.schemas import ComplianceReview, Message, Prospect
from foundation.settings import Settings
from tests.support.jobs import download_artifacts, run_here, wait_succeeded
from tests.support.tenants import auth

GOAL = "Find Python maintainers active in ML"


def admin_key(settings: Settings) -> tuple[IssuedKey, dict[str, str]]:
    """An admin key of a fresh tenant (admins also read the audit trail and set masking), with its headers."""
    issued = run_with_database(settings, lambda db: issue_api_key(db, f"tenant-{uuid.uuid4().hex[:12]}", "admin"))
    return issued, {"Authorization": f"Bearer {issued.key}"}


def finished_job(client: TestClient, settings: Settings, headers: dict[str, str], **body: Any) -> str:
    response = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 10, **body}, headers=headers)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    run_here(settings, job_id)
    wait_succeeded(client, headers, job_id)
    return job_id


def leads_of(client: TestClient, headers: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/jobs/{job_id}/leads", headers=headers)
    assert response.status_code == 200, response.text
    listed = response.json()
    assert listed["total"] == len(listed["items"])
    return listed["items"]


def contactable_ids(client: TestClient, headers: dict[str, str], job_id: str) -> set[str]:
    """The ids in leads_contactable.csv as downloaded."""
    text = download_artifacts(client, headers, job_id)[LEADS_CONTACTABLE].decode()
    return {row["id"] for row in csv.DictReader(io.StringIO(text))}


def codes(reasons: list[str]) -> set[str]:
    return {reason.split(":", 1)[0] for reason in reasons}


def test_list_edit_approve_and_reject_one_job_s_leads(client: TestClient, settings: Settings) -> None:
    key, headers = admin_key(settings)
    job_id = finished_job(client, settings, headers)
    base = f"/api/jobs/{job_id}/leads"

    leads = leads_of(client, headers, job_id)
    assert len(leads) >= 5
    assert [(-lead["score"], lead["username"]) for lead in leads] == sorted((-lead["score"], lead["username"]) for lead in leads)
    pending = next(lead for lead in leads if lead["verdict"] == "needs_review")
    refused = next(lead for lead in leads if lead["verdict"] == "rejected")
    assert pending["subject"] and pending["email"] and pending["decision"] is None and pending["signals"]
    assert "missing_postal_address" in codes(pending["flags"]), "no sender postal address is configured"
    assert codes(refused["flags"]) & {"no_email", "no_published_email", "noreply_email"}

    detail = client.get(f"{base}/{pending['prospect_id']}", headers=headers).json()
    prospect, original = detail["prospect"], detail["prospect"]["message"]
    assert detail["review"] is None and prospect["id"] == pending["prospect_id"]
    assert prospect["signals"][0]["evidence"] and prospect["score_explanation"] and prospect["provenance"]
    assert prospect["developer_profile"]["languages"] and prospect["compliance"]["reasons"] == pending["flags"]
    # the sequence's follow-ups (CMO_FOLLOW_UP_DAYS: 3,7), each with its own draft and review
    assert pending["follow_ups"] == len(prospect["follow_ups"]) == 2
    assert [(step["step"], step["day"]) for step in prospect["follow_ups"]] == [(2, 3), (3, 7)]
    assert all("missing_postal_address" in codes(step["compliance"]["reasons"]) for step in prospect["follow_ups"])

    # An edit that drops the opt-out line and adds a phone number: the rules flag both.
    opt_out = next(line for line in original["body"].splitlines() if line.startswith("To opt out"))
    body = original["body"].replace(opt_out, "Or just call me on +1 415 555 0134.")
    edited = client.put(
        f"{base}/{pending['prospect_id']}/draft", json={"subject": "About your ML work", "body": body}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    message = edited.json()["prospect"]["message"]
    assert (message["subject"], message["body"], message["written_by"]) == ("About your ML work", body, "person")
    assert {k: message[k] for k in ("variant", "template", "headers", "facts_used")} == {
        k: original[k] for k in ("variant", "template", "headers", "facts_used")
    }
    flags = codes(edited.json()["prospect"]["compliance"]["reasons"])
    assert {"missing_unsubscribe", "third_party_personal_data", "missing_postal_address"} <= flags
    listed = next(lead for lead in leads_of(client, headers, job_id) if lead["prospect_id"] == pending["prospect_id"])
    assert listed["subject"] == "About your ML work" and codes(listed["flags"]) == flags and listed["verdict"] == "needs_review"
    for bad in (
        {"subject": "Hi\r\nBcc: all@corp.example", "body": body},
        {"subject": "x" * 201, "body": body},
        {"subject": "Hi", "body": ""},
    ):
        assert client.put(f"{base}/{pending['prospect_id']}/draft", json=bad, headers=headers).status_code == 422

    # A person approves the lead that needs review: its verdict, the audit trail and the CSV follow.
    assert pending["prospect_id"] not in contactable_ids(client, headers, job_id)
    approved = client.post(f"{base}/{pending['prospect_id']}/review", json={"decision": "approved"}, headers=headers)
    assert approved.status_code == 200, approved.text
    review = approved.json()["review"]
    assert (review["decision"], review["decided_by"], review["edited"], review["reason"]) == ("approved", key.key_id, True, None)
    listed = next(lead for lead in leads_of(client, headers, job_id) if lead["prospect_id"] == pending["prospect_id"])
    assert (listed["verdict"], listed["decision"]) == ("approved", "approved") and listed["decided_at"]
    assert pending["prospect_id"] in contactable_ids(client, headers, job_id)
    full = json.loads(download_artifacts(client, headers, job_id)[LEADS_FULL])
    in_file = next(lead for lead in full if lead["id"] == pending["prospect_id"])
    assert in_file["compliance"]["verdict"] == "approved" and "person_review" in codes(in_file["compliance"]["reasons"])
    assert in_file["message"]["subject"] == "About your ML work"
    assert [lead["id"] for lead in full] == [lead["prospect_id"] for lead in leads], "the files keep the run's ranking"
    records = client.get("/api/audit", params={"action": "lead.review"}, headers=headers).json()["items"]
    assert [(r["prospect_ids"], r["detail"], r["outcome"], r["job_id"]) for r in records] == [
        ([pending["prospect_id"]], {"decision": "approved"}, 200, job_id)
    ]
    edits = client.get("/api/audit", params={"action": "lead.edit"}, headers=headers).json()["items"]
    assert [(r["prospect_ids"], r["outcome"]) for r in edits] == [
        ([pending["prospect_id"]], status) for status in (422, 422, 422, 200)
    ]

    # A rule's rejection is never approved; a person's rejection needs a reason.
    conflict = client.post(f"{base}/{refused['prospect_id']}/review", json={"decision": "approved"}, headers=headers)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["type"] == "urn:cmo:problem:lead-rejected" and conflict.json()["reasons"] == refused["flags"]
    for reason in (None, "  "):
        no_reason = client.post(
            f"{base}/{pending['prospect_id']}/review", json={"decision": "rejected", "reason": reason}, headers=headers
        )
        assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    rejected = client.post(
        f"{base}/{pending['prospect_id']}/review", json={"decision": "rejected", "reason": "not our audience"}, headers=headers
    )
    assert rejected.json()["review"]["reason"] == "not our audience"
    assert pending["prospect_id"] not in contactable_ids(client, headers, job_id)
    decisions = client.get("/api/audit", params={"action": "lead.review"}, headers=headers).json()["items"]
    assert [(r["detail"], r["outcome"]) for r in decisions] == [  # newest first; a body refused as invalid names no decision
        ({"decision": "rejected"}, 200),
        (None, 422),
        (None, 422),
        ({"decision": "approved"}, 409),
        ({"decision": "approved"}, 200),
    ]


def test_another_tenant_sees_none_of_it(client: TestClient, settings: Settings) -> None:
    _, headers = admin_key(settings)
    job_id = finished_job(client, settings, headers, max_prospects=3)
    lead = leads_of(client, headers, job_id)[0]["prospect_id"]
    other = auth(settings)
    base = f"/api/jobs/{job_id}/leads"
    answers = [
        client.get(base, headers=other),
        client.get(f"{base}/{lead}", headers=other),
        client.put(f"{base}/{lead}/draft", json={"subject": "Hi", "body": "Hello"}, headers=other),
        client.post(f"{base}/{lead}/review", json={"decision": "approved"}, headers=other),
        client.post(f"{base}/approve", json={"prospect_ids": None}, headers=other),
    ]
    assert [answer.status_code for answer in answers] == [404] * 5
    assert client.get(f"{base}/gh_nobody", headers=headers).status_code == 404
    assert leads_of(client, headers, job_id)[0]["decision"] is None, "nothing changed"


def test_bulk_approval_skips_rule_rejections_and_an_edit_clears_a_decision(client: TestClient, settings: Settings) -> None:
    _, headers = admin_key(settings)
    job_id = finished_job(client, settings, headers)
    base = f"/api/jobs/{job_id}/leads"
    leads = leads_of(client, headers, job_id)
    pending = [lead["prospect_id"] for lead in leads if lead["verdict"] == "needs_review"]
    refused = next(lead for lead in leads if lead["verdict"] == "rejected")
    assert len(pending) >= 3

    chosen = client.post(
        f"{base}/approve",
        json={"prospect_ids": [pending[0], refused["prospect_id"], "gh_nobody"], "reason": "fits"},
        headers=headers,
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["approved"] == [pending[0]]
    skipped = {item["prospect_id"]: item["reason"] for item in chosen.json()["skipped"]}
    assert skipped.keys() == {refused["prospect_id"], "gh_nobody"}
    assert skipped[refused["prospect_id"]] == "; ".join(refused["flags"]) and "no lead" in skipped["gh_nobody"]

    # Someone suppressed after the run is never approved, although their stored review allowed it.
    objector = pending[-1]
    suppressed = client.post("/api/suppressions", json={"kind": "login", "value": objector.removeprefix("gh_")}, headers=headers)
    assert suppressed.status_code == 201, suppressed.text
    rest = client.post(f"{base}/approve", json={"prospect_ids": None}, headers=headers).json()
    assert sorted(rest["approved"]) == sorted(pending[1:-1])
    assert [item["prospect_id"] for item in rest["skipped"]] == [objector] and rest["skipped"][0]["reason"].startswith(
        "suppressed:"
    )
    after = leads_of(client, headers, job_id)
    assert {lead["prospect_id"] for lead in after if lead["verdict"] == "approved"} == set(pending[:-1])
    assert contactable_ids(client, headers, job_id) == set(pending[:-1])
    record = client.get("/api/audit", params={"action": "lead.bulk_review"}, headers=headers).json()["items"][0]
    assert sorted(record["prospect_ids"]) == sorted(pending[1:-1]) and record["detail"] == {"decision": "approved", "skipped": 1}
    single = client.post(f"{base}/{objector}/review", json={"decision": "approved"}, headers=headers)
    assert single.status_code == 409 and codes(single.json()["reasons"]) == {"suppressed"}

    detail = client.get(f"{base}/{pending[0]}", headers=headers).json()
    assert detail["review"]["reason"] == "fits" and detail["review"]["edited"] is False
    message = detail["prospect"]["message"]
    edited = client.put(
        f"{base}/{pending[0]}/draft", json={"subject": message["subject"], "body": message["body"]}, headers=headers
    ).json()
    assert edited["review"] is None and edited["prospect"]["compliance"]["verdict"] == "needs_review"
    assert pending[0] not in contactable_ids(client, headers, job_id), "an edit withdraws the approval"


def test_a_job_without_leads_yet_refuses_changes(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]  # stays queued: no worker
    base = f"/api/jobs/{job_id}/leads"
    assert client.get(base, headers=headers).json() == {"items": [], "total": 0}
    answers = [
        client.put(f"{base}/gh_ada/draft", json={"subject": "Hi", "body": "Hello"}, headers=headers),
        client.post(f"{base}/gh_ada/review", json={"decision": "approved"}, headers=headers),
        client.post(f"{base}/approve", json={}, headers=headers),
    ]
    assert [(a.status_code, a.json()["type"]) for a in answers] == [(409, "urn:cmo:problem:job-not-finished")] * 3


def test_leads_are_masked_like_the_downloads(client: TestClient, settings: Settings) -> None:
    _, headers = admin_key(settings)
    job_id = finished_job(client, settings, headers, max_prospects=5)
    lead = next(lead for lead in leads_of(client, headers, job_id) if lead["email"])
    rules = {"masking": {"email": "partial", "name": "full"}}
    assert client.put("/api/privacy/settings", json=rules, headers=headers).status_code == 200
    masked = next(item for item in leads_of(client, headers, job_id) if item["prospect_id"] == lead["prospect_id"])
    assert masked["email"] == lead["email"][0] + "***@" + lead["email"].rpartition("@")[2]
    assert masked["name"] in (None, "[redacted]")
    detail = client.get(f"/api/jobs/{job_id}/leads/{lead['prospect_id']}", headers=headers).json()["prospect"]
    downloaded = next(
        item for item in json.loads(download_artifacts(client, headers, job_id)[LEADS_FULL]) if item["id"] == lead["prospect_id"]
    )
    assert detail == downloaded


def test_bulk_approval_of_1000_leads_is_one_request(client: TestClient, settings: Settings) -> None:
    """A thousand stored leads that need review (written as the worker writes them), approved at once."""
    headers = auth(settings)
    job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
    leads = [
        Prospect(
            id=f"gh_dev{i:04d}",
            username=f"dev{i:04d}",
            email=f"dev{i:04d}@corp.dev",
            email_source="profile",
            score=round(1 - i / 1000, 3),
            message=Message(subject="Your work", body="Hello\n" * 200),
            compliance=ComplianceReview(verdict="needs_review", reasons=["missing_postal_address: no sender postal address"]),
        )
        for i in range(1000)
    ]

    async def store(db: Database) -> None:
        async with db.sessions() as session:
            job = await session.get_one(orm.Job, job_id)
            await save_prospects(session, job, leads)
            for name, text in render_artifacts(leads, None).items():
                await save_artifact(
                    session, job, name, "text/csv" if name == LEADS_CONTACTABLE else "application/json", text.encode()
                )
            job.status = "succeeded"
            await session.commit()

    run_with_database(settings, store)
    started = time.monotonic()
    response = client.post(f"/api/jobs/{job_id}/leads/approve", json={"prospect_ids": None}, headers=headers)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert len(response.json()["approved"]) == 1000 and response.json()["skipped"] == []
    assert elapsed < 30, f"bulk approval of 1,000 leads took {elapsed:.1f} s"
    assert len(contactable_ids(client, headers, job_id)) == 1000
    print(f"bulk approval of 1,000 leads: {elapsed:.2f} s")
