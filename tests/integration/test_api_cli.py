"""`cmo apikey`, `cmo db upgrade` and `cmo serve --help` through the real CLI (Typer's CliRunner)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app
from foundation.settings import Settings

runner = CliRunner()


def test_apikey_create_prints_a_working_key_last_and_revoke_disables_it() -> None:
    created = runner.invoke(app, ["apikey", "create", "--tenant", "acme"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]  # stdout: logs of earlier apps in this process go to stderr
    key_id = next(line.split()[2] for line in created.output.splitlines() if line.startswith("key id:"))
    again = runner.invoke(app, ["apikey", "create", "--tenant", "acme"])
    assert "new" not in again.output.splitlines()[0], "the second key joins the existing tenant"

    with TestClient(create_app(Settings())) as client:
        headers = {"Authorization": f"Bearer {key}"}
        job = client.post("/api/jobs", json={"goal": "Find Python maintainers active in ML"}, headers=headers)
        assert job.status_code == 201
        other = {"Authorization": f"Bearer {again.stdout.strip().splitlines()[-1]}"}
        assert client.get(f"/api/jobs/{job.json()['id']}", headers=other).status_code == 200, "same tenant, same jobs"

        revoked = runner.invoke(app, ["apikey", "revoke", key_id])
        assert revoked.exit_code == 0, revoked.output
        assert client.get("/api/jobs", headers=headers).status_code == 401
    assert runner.invoke(app, ["apikey", "revoke", key_id]).exit_code == 2


def test_apikey_create_rejects_an_empty_tenant() -> None:
    result = runner.invoke(app, ["apikey", "create", "--tenant", "  "])
    assert result.exit_code == 2 and "--tenant" in result.output


@pytest.mark.postgres
def test_db_upgrade_on_postgres_then_apikey(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0 and "Postgres at" in result.output, result.output
    created = runner.invoke(app, ["apikey", "create", "--tenant", "cli-postgres"])
    assert created.exit_code == 0 and created.stdout.strip().splitlines()[-1].startswith("cmo_sk_")


def test_unreachable_database_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://127.0.0.1:1/none?connect_timeout=1")
    result = runner.invoke(app, ["apikey", "create", "--tenant", "acme"])
    assert result.exit_code == 2 and "Traceback" not in result.output and "127.0.0.1:1" in result.output


def test_serve_help_is_honest_about_workers() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "workers" in result.output
