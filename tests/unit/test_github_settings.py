"""Which GitHub a run uses: any GitHub App setting turns the sandbox off (a half-configured App is
an error in graph/runner.py, never generated data)."""

from __future__ import annotations

import pytest

from foundation.settings import Settings


@pytest.mark.parametrize(
    "app_setting",
    [
        {"github_app_id": "4242"},
        {"github_app_private_key": "-----BEGIN PRIVATE KEY-----"},
        {"github_app_private_key_file": "app.pem"},
        {"github_app_installation_id": 7},
    ],
)
def test_any_github_app_setting_turns_the_sandbox_off(app_setting: dict[str, object]) -> None:
    settings = Settings.model_validate(app_setting)
    assert settings.uses_github_app and not settings.uses_sandbox


def test_without_any_github_setting_the_sandbox_runs() -> None:
    settings = Settings()
    assert settings.uses_sandbox and not settings.uses_github_app
