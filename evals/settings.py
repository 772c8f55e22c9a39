"""The settings every eval run uses: explicit values only, never the developer's environment."""

from __future__ import annotations

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from foundation.settings import Settings


class EvalSettings(Settings):
    """Settings built from explicit values only: no environment, no `.env`.

    An eval run must not change because the developer exported GITHUB_TOKEN (the leads suite would
    leave the sandbox) or CMO_SENDER_POSTAL_ADDRESS (compliance verdicts would move).
    """

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)
