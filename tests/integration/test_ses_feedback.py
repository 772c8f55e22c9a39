"""SES bounce and complaint notifications through SNS, over HTTP on both databases: the tenant's
endpoint URL, subscription confirmation, SNS signatures (versions 1 and 2; tampered, foreign-key,
foreign-host and foreign-topic messages refused), hard bounces and complaints suppressed (soft
bounces not), and a bounced address never sent to again by `cmo send --tenant`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.core.migrate import upgrade
from api.core.orm_privacy import Suppression
from api.services.sns import trusted_sns_url
from api.services.suppressions import is_suppressed
from api.services.tenants import issue_api_key
from cli.main import app as cli_app
from foundation.settings import Settings
from privacy.key_providers import LocalKeyFileProvider, default_kek_file
from sandbox import open_sandbox
from tests.support.outreach import POSTAL, SENDER_EMAIL, lead, sends, write_run
from tests.support.smtp import Mailbox, smtp_server
from tests.support.sns import TOPIC, SnsStub, ses_bounce, ses_complaint

PUBLIC_URL = "https://cmo.acme-devtools.io"
TEXT = {"Content-Type": "text/plain; charset=UTF-8"}


@pytest.fixture
def sns() -> Iterator[SnsStub]:
    with SnsStub() as stub:
        yield stub


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, sns: SnsStub) -> Settings:
    common: dict[str, Any] = {"cmo_home": tmp_path / "home", "cmo_public_url": PUBLIC_URL, "cmo_sns_endpoint_url": sns.url}
    if request.param == "sqlite":
        return Settings(**common)
    url = request.getfixturevalue("private_postgres_url")
    settings = Settings(database_url=url, cmo_unsubscribe_secret=SecretStr(uuid.uuid4().hex), **common)
    upgrade(settings)
    if not default_kek_file(settings).exists():
        LocalKeyFileProvider.create(default_kek_file(settings))
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        yield client


def admin_tenant(settings: Settings) -> tuple[str, str, dict[str, str]]:
    name = f"tenant-{uuid.uuid4().hex[:12]}"
    issued = run_with_database(settings, lambda db: issue_api_key(db, name, "admin"))
    return issued.tenant_id, name, {"Authorization": f"Bearer {issued.key}"}


def endpoint(client: TestClient, headers: dict[str, str], topic: str = TOPIC) -> str:
    answer = client.post("/api/inbound/ses/endpoint", json={"topic_arn": topic}, headers=headers)
    assert answer.status_code == 200, answer.text
    url = answer.json()["url"]
    assert url.startswith(f"{PUBLIC_URL}/api/inbound/ses/")
    return url.removeprefix(PUBLIC_URL)


def post(client: TestClient, path: str, message: dict[str, Any]) -> Any:
    return client.post(path, content=json.dumps(message), headers=TEXT)


def suppressions(settings: Settings, tenant_id: str) -> set[tuple[str, str, str]]:
    async def read(db: Database) -> set[tuple[str, str, str]]:
        async with db.sessions() as session:
            rows = select(Suppression.kind, Suppression.reason, Suppression.source).where(Suppression.tenant_id == tenant_id)
            return {tuple(row) for row in (await session.execute(rows)).all()}  # type: ignore[misc]

    return run_with_database(settings, read)


def suppressed(settings: Settings, tenant_id: str, email: str) -> bool:
    async def read(db: Database) -> bool:
        async with db.sessions() as session:
            return await is_suppressed(session, tenant_id, email=email)

    return run_with_database(settings, read)


def test_subscription_is_confirmed_and_hard_bounces_and_complaints_suppress(
    client: TestClient, settings: Settings, sns: SnsStub
) -> None:
    tenant_id, _, headers = admin_tenant(settings)
    path = endpoint(client, headers)

    confirmation = sns.confirmation(TOPIC, version="1")
    answer = post(client, path, confirmation)
    assert answer.status_code == 200 and answer.json() == {"status": "subscribed"}, answer.text
    assert sns.confirmed == [confirmation["Token"]]

    soft = post(client, path, sns.notification(TOPIC, ses_bounce("full@example-devs.org", permanent=False)))
    assert soft.status_code == 200 and soft.json()["feedback"]["kind"] == "soft_bounce"
    assert not suppressed(settings, tenant_id, "full@example-devs.org"), "a soft bounce suppresses nobody"

    hard = post(client, path, sns.notification(TOPIC, ses_bounce("gone@example-devs.org"), version="2", subject="bounce"))
    assert hard.status_code == 200, hard.text
    feedback = hard.json()["feedback"]
    assert feedback == {
        "kind": "hard_bounce",
        "provider_id": "0100018c-ses-id",
        "message_id": "<abc.1@acme-devtools.io>",
        "suppressed": 1,
        "detail": "Permanent/General",
    }
    assert "gone@" not in hard.text, "no address in the answer"
    assert suppressed(settings, tenant_id, "gone@example-devs.org")

    complaint = post(client, path, sns.notification(TOPIC, ses_complaint("angry@example-devs.org"), version="1"))
    assert complaint.status_code == 200 and complaint.json()["feedback"]["kind"] == "complaint"
    assert suppressions(settings, tenant_id) == {("email", "bounce", "ses"), ("email", "complaint", "ses")}
    listed = client.get("/api/suppressions", headers=headers).json()["items"]
    complaint_row = next(item for item in listed if item["reason"] == "complaint")
    bounce_row = next(item for item in listed if item["reason"] == "bounce")
    assert complaint_row["permanent"] and not bounce_row["permanent"]
    assert client.delete(f"/api/suppressions/{complaint_row['id']}", headers=headers).status_code == 409
    assert post(client, path, sns.notification(TOPIC, ses_bounce("gone@example-devs.org"))).status_code == 200
    assert len(suppressions(settings, tenant_id)) == 2, "a repeated notification changes nothing"


def test_messages_sns_did_not_sign_for_this_topic_are_refused(client: TestClient, settings: Settings, sns: SnsStub) -> None:
    tenant_id, _, headers = admin_tenant(settings)
    path = endpoint(client, headers)
    good = sns.notification(TOPIC, ses_bounce("x@example-devs.org"))

    tampered = {**good, "Message": json.dumps(ses_bounce("victim@example-devs.org"))}
    other_key = sns.sign(
        {k: v for k, v in good.items() if k not in ("Signature", "SignatureVersion")},
        "2",
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    evil_host = sns.sign({**good, "SigningCertURL": "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem"}, "2")
    other_topic = "arn:aws:sns:eu-west-1:999988887777:attacker"
    foreign_topic = sns.notification(other_topic, ses_bounce("victim@example-devs.org"))
    unknown_version = {**good, "SignatureVersion": "3"}
    for name, message in {
        "tampered": tampered,
        "signed with another key": other_key,
        "certificate on a foreign host": evil_host,
        "another topic": foreign_topic,
        "unknown signature version": unknown_version,
    }.items():
        answer = post(client, path, message)
        assert answer.status_code == 403, (name, answer.text)
    assert post(client, path, {"Type": "Notification"}).status_code == 403, "not an SNS message"
    assert suppressions(settings, tenant_id) == set()

    bad_confirmation = sns.sign({**sns.confirmation(TOPIC), "SubscribeURL": "https://evil.example/confirm?Token=x"}, "1")
    assert post(client, path, bad_confirmation).status_code == 403 and sns.confirmed == []

    forged = path[:-1] + ("A" if path[-1] != "A" else "B")
    assert post(client, forged, good).status_code == 404
    assert post(client, "/api/inbound/ses/not-a-token", good).status_code == 404
    other_path = endpoint(client, headers, other_topic)
    assert post(client, other_path, good).status_code == 403, "the token's topic must be the message's"
    assert client.post("/api/inbound/ses/endpoint", json={"topic_arn": "not an arn"}, headers=headers).status_code == 422


def test_only_sns_hosts_are_trusted() -> None:
    ok = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"
    assert trusted_sns_url(ok, None, pem=True)
    assert trusted_sns_url("https://sns.cn-north-1.amazonaws.com.cn/x.pem", None, pem=True)
    for bad in (
        "http://sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/x.pem",
        "https://s3.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com/x.txt",
        "https://user@sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/x.pem",
    ):
        assert not trusted_sns_url(bad, None, pem=True), bad
    assert trusted_sns_url("http://127.0.0.1:9/x.pem", "http://127.0.0.1:9", pem=True)
    assert not trusted_sns_url("http://127.0.0.1:9999/x.pem", "http://127.0.0.1:9", pem=True)


def test_a_bounced_address_is_never_sent_again(
    client: TestClient, settings: Settings, sns: SnsStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SES says the address bounced: the next `cmo send --tenant` skips it as suppressed."""
    if settings.uses_postgres:
        monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
        monkeypatch.setenv("CMO_UNSUBSCRIBE_SECRET", settings.cmo_unsubscribe_secret.get_secret_value())  # type: ignore[union-attr]
    _, name, headers = admin_tenant(settings)
    path = endpoint(client, headers)
    assert post(client, path, sns.notification(TOPIC, ses_bounce("grace@example-devs.org"))).status_code == 200
    for key, value in {
        "CMO_HOME": str(settings.cmo_home),
        "CMO_SENDER_EMAIL": SENDER_EMAIL,
        "CMO_SENDER_POSTAL_ADDRESS": POSTAL,
        "CMO_SEND_WARMUP_START": "0",
    }.items():
        monkeypatch.setenv(key, value)
    run_dir = write_run(tmp_path / "run", [lead("grace"), lead("linus")])
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        monkeypatch.setenv("CMO_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=false")
        result = CliRunner().invoke(cli_app, ["send", str(run_dir), "--tenant", name])
    assert result.exit_code == 0, result.output
    assert [(r["prospect_id"], r["status"], r.get("reason")) for r in sends(run_dir)] == [
        ("gh_grace", "skipped", "suppressed"),
        ("gh_linus", "sent", None),
    ]
    assert mailbox.to("grace@example-devs.org") == []


def test_event_publishing_shapes_and_events_we_do_not_act_on(client: TestClient, settings: Settings, sns: SnsStub) -> None:
    """A configuration set's event destination says `eventType` where identity notifications say
    `notificationType`; deliveries and other events are recorded as such or ignored, never suppress."""
    tenant_id, _, headers = admin_tenant(settings)
    path = endpoint(client, headers)
    published = ses_bounce("old@example-devs.org")
    published["eventType"] = published.pop("notificationType")
    answer = post(client, path, sns.notification(TOPIC, published))
    assert answer.status_code == 200 and answer.json()["feedback"]["kind"] == "hard_bounce"
    delivery = {"eventType": "Delivery", "mail": {"messageId": "0100018c-x"}, "delivery": {"recipients": ["a@example-devs.org"]}}
    assert post(client, path, sns.notification(TOPIC, delivery)).json()["feedback"]["kind"] == "delivery"
    assert post(client, path, sns.notification(TOPIC, {"eventType": "Open", "mail": {}})).json() == {"status": "ignored"}
    unsigned_json = sns.notification(TOPIC, {"eventType": "Bounce"})
    unsigned_json = sns.sign({**unsigned_json, "Message": "not json"}, "2")
    assert post(client, path, unsigned_json).status_code == 422, "a signed message that is no SES event"
    assert suppressions(settings, tenant_id) == {("email", "bounce", "ses")}
