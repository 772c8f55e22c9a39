"""Process settings, read once from the environment (and an optional `.env`).

Every variable documented in the README's table is a field here; nothing else reads `os.environ`
for configuration, so the table and this class cannot drift apart silently (tests/unit/test_docs.py
fails when a field has no row in the table).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ResearchMode = Literal["auto", "agent", "rules"]


class Settings(BaseSettings):
    """Runtime configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    cmo_home: Path = Field(default=Path("~/.cmo"), description="Local state: checkpoints, caches, runs.")
    database_url: str | None = Field(default=None, description="Postgres URL for checkpoints (else SQLite).")
    redis_url: str | None = Field(default=None, description="Redis URL for the ETag cache (else SQLite).")

    github_api_url: str | None = Field(default=None, description="GitHub REST base URL (GHES or compatible).")
    github_token: SecretStr | None = Field(default=None, description="GitHub token.")
    # A GitHub App instead of the token (tools/github_app.py): installation tokens, renewed before they expire.
    github_app_id: str | None = Field(default=None, description="GitHub App ID (or client ID).")
    github_app_private_key: SecretStr | None = Field(default=None, description="The App's private key (PEM text).")
    github_app_private_key_file: Path | None = Field(default=None, description="File with the App's private key (PEM).")
    github_app_installation_id: int | None = Field(default=None, ge=1, description="Installation to act as.")
    github_max_requests: int = Field(default=5000, ge=1, description="Per-job budget of REST core requests.")
    github_max_search_requests: int = Field(
        default=1000, ge=1, description="Per-job budget of search requests (GitHub allows 30 a minute)."
    )
    github_max_graphql_points: int = Field(default=5000, ge=1, description="Per-job budget of GraphQL points.")
    github_graphql: bool = Field(
        default=True, description="Enrich over GraphQL when GitHub offers it (false: REST only, as before v2)."
    )
    github_graphql_cache_seconds: float = Field(
        default=21600, ge=0, description="How long a GraphQL answer is reused (GraphQL has no ETags); 0: never."
    )
    github_max_wait_seconds: float = Field(default=60.0, ge=0, description="Longest wait for a rate-limit reset.")
    github_concurrency: int = Field(default=8, ge=1, le=100, description="Parallel GitHub requests.")
    github_timeout_seconds: float = Field(default=15.0, gt=0)

    openai_api_key: SecretStr | None = Field(default=None, description="Enables the LLM paths.")
    openai_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint.")
    cmo_model: str = Field(default="gpt-4o-mini", description="Chat model name.")
    cmo_prompt_version: str = Field(default="v1", description="Prompt version under prompts/<agent>/.")
    cmo_prompts_dir: Path | None = Field(default=None, description="Extra prompts folder searched first.")
    # Bounded model calls (agents/model_calls.py): every agent's call goes through one per-run gate.
    cmo_llm_timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of one model request.")
    cmo_llm_max_retries: int = Field(default=2, ge=0, le=10, description="Retries of a failed model request.")
    cmo_llm_breaker_failures: int = Field(
        default=3, ge=1, description="Consecutive failed model requests after which a run stops calling the model."
    )
    cmo_llm_requests_per_minute: int | None = Field(default=None, ge=1, description="Model requests a run may send a minute.")
    cmo_llm_tokens_per_minute: int | None = Field(default=None, ge=1, description="Model tokens a run may use a minute.")
    cmo_llm_concurrency: int = Field(
        default=8, ge=1, le=256, description="Model calls of one agent's batch in flight at once (drafts, tone reviews)."
    )
    cmo_llm_structured_output: Literal["function_calling", "json_schema"] = Field(
        default="function_calling", description="How agents ask for structured answers."
    )
    # The researcher agent (agents/researcher_agent.py): the model searches GitHub with typed tools.
    cmo_research: ResearchMode = Field(
        default="auto",
        description="auto: the agent researches open-ended goals when a model is configured; agent: always "
        "(with a model); rules: never.",
    )
    cmo_research_max_steps: int = Field(default=12, ge=1, le=50, description="Model turns the researcher agent may take.")
    cmo_research_budget: int = Field(
        default=60, ge=1, description="GitHub units (core + search requests) the researcher agent may spend."
    )

    # Embeddings and vector stores (tools/vectors): research relevance, lookalikes.
    cmo_embeddings: Literal["auto", "offline", "endpoint"] = Field(
        default="auto",
        description="auto: the OpenAI-compatible endpoint when OPENAI_API_KEY is set, else the offline model; "
        "offline: always the shipped model; endpoint: always the endpoint.",
    )
    cmo_embedding_model: str = Field(default="text-embedding-3-small", description="Embeddings model of the endpoint.")
    cmo_embedding_dimensions: int | None = Field(
        default=None, ge=1, description="Ask the endpoint for this many dimensions (text-embedding-3 models shorten)."
    )
    cmo_vector_store: Literal["embedded", "pinecone", "pgvector"] = Field(
        default="embedded", description="Where vectors live: embedded (SQLite in CMO_HOME), pinecone, pgvector."
    )
    pinecone_api_key: SecretStr | None = Field(default=None, description="Pinecone API key (CMO_VECTOR_STORE=pinecone).")
    cmo_pinecone_index: str = Field(
        default="cmo-agent", pattern=r"^[a-z0-9][a-z0-9-]{0,44}$", description="Pinecone index name (one per embedding model)."
    )
    cmo_pinecone_host: str | None = Field(default=None, description="The index's data-plane host (skips the describe call).")
    cmo_pinecone_api_url: str | None = Field(default=None, description="Pinecone control-plane URL override.")
    cmo_pinecone_cloud: str = Field(default="aws", description="Cloud of a serverless index created on first use.")
    cmo_pinecone_region: str = Field(default="us-east-1", description="Region of a serverless index created on first use.")
    cmo_vector_timeout_seconds: float = Field(default=20.0, gt=0, description="Timeout of one vector-store request.")

    cmo_sender_name: str = Field(default="The cmo-agent team")
    cmo_sender_company: str = Field(default="cmo-agent")
    cmo_sender_postal_address: str | None = Field(default=None, description="CAN-SPAM postal address.")
    cmo_unsubscribe_url: str = Field(default="https://example.invalid/unsubscribe", description="Opt-out link base.")
    cmo_suppression_file: Path | None = Field(default=None, description="CSV of suppressed logins/ids/emails.")
    cmo_retention_days: int = Field(default=365, ge=1, description="Default data_retention_days.")
    # Retention (api/services/retention.py): finished jobs' LangGraph checkpoints are deleted after this.
    cmo_checkpoint_retention_days: int = Field(default=7, ge=0, description="Days checkpoints of finished jobs are kept.")

    # PII in drafts (agents/compliance_rules.py): the sender's own published contact details, which a
    # draft may contain without being flagged as third-party personal data (the postal address is above).
    cmo_sender_email: str | None = Field(default=None, description="Sender's published contact email.")
    cmo_sender_phone: str | None = Field(default=None, description="Sender's published phone number.")

    cmo_debug: bool = Field(default=False, description="Show tracebacks of internal errors.")

    cmo_webhook_allow_private: bool = Field(default=False, description="Let webhooks reach private addresses.")
    cmo_webhook_max_attempts: int = Field(default=8, ge=1, le=20, description="Attempts per webhook event.")
    cmo_webhook_backoff_seconds: float = Field(default=2.0, ge=0, description="First retry delay; doubles per retry.")
    cmo_webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Per-attempt webhook timeout.")
    cmo_webhook_lease_seconds: float = Field(
        default=60.0, gt=0, description="A retrying process counts as dead this long after its next attempt was due."
    )
    cmo_webhook_sweep_seconds: float = Field(default=30.0, gt=0, description="How often a process looks for dead ones' retries.")

    # One-click unsubscribe (api/services/unsubscribe.py): the service's public base URL puts a signed
    # per-recipient opt-out link in every draft; the secret signs it (generated under CMO_HOME in the
    # embedded mode; required with Postgres, where every API process and worker must share it).
    cmo_public_url: str | None = Field(
        default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$", description="Public base URL of the API."
    )
    cmo_unsubscribe_secret: SecretStr | None = Field(default=None, min_length=16, description="HMAC key of opt-out links.")

    # Sending (tools/mail, `cmo send`): the SMTP relay, DKIM, the RFC 8058 headers, caps and checks.
    cmo_smtp_url: SecretStr | None = Field(
        default=None, description="smtp://user:pass@host:port[?starttls=true] or smtps://... (implicit TLS)."
    )
    cmo_smtp_ca_file: Path | None = Field(default=None, description="CA bundle to verify the SMTP server with.")
    cmo_smtp_timeout_seconds: float = Field(default=30.0, gt=0, description="Per-command SMTP timeout.")
    cmo_dkim_selector: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="DKIM selector.")
    cmo_dkim_domain: str | None = Field(default=None, description="DKIM signing domain (d=), aligned with the From domain.")
    cmo_dkim_private_key_file: Path | None = Field(default=None, description="PEM RSA private key of the selector.")
    cmo_unsubscribe_mailto: str | None = Field(default=None, description="Address for mailto: opt-outs in List-Unsubscribe.")
    cmo_unsubscribe_one_click: bool = Field(
        default=False, description="CMO_UNSUBSCRIBE_URL honours RFC 8058 one-click POSTs (our signed links always do)."
    )
    cmo_send_daily_cap: int = Field(default=200, ge=0, description="Messages per mailbox in any 24 hours; 0: no cap.")
    cmo_send_per_hour: int = Field(default=50, ge=0, description="Messages per mailbox in any hour; 0: no cap.")
    cmo_send_per_domain_per_hour: int = Field(
        default=10, ge=0, description="Messages per mailbox to one recipient domain in any hour; 0: no cap."
    )
    cmo_send_warmup_start: int = Field(
        default=20, ge=0, description="A new mailbox's first-day allowance, doubling daily up to the cap; 0: no warm-up."
    )
    cmo_send_max_bounce_rate: float = Field(default=0.03, gt=0, le=1, description="Bounce rate that pauses a campaign.")
    cmo_send_max_complaint_rate: float = Field(default=0.001, gt=0, le=1, description="Complaint rate that pauses a campaign.")
    cmo_send_rate_min_sends: int = Field(default=20, ge=1, description="Sends before the bounce or complaint rate can pause.")
    cmo_follow_up_days: str = Field(
        default="3,7",
        pattern=r"^\s*(\d+\s*(,\s*\d+\s*)*)?$",
        description="Follow-up steps, days after the first message, for campaigns that set none; empty: no follow-ups.",
    )
    cmo_send_check_mx: bool = Field(default=False, description="Look up the recipient domain's MX before sending.")
    cmo_send_window: str | None = Field(
        default=None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$",
        description="HH:MM-HH:MM: send only inside this window of the recipient's local weekdays, when their time zone is known.",
    )
    cmo_send_connections: int = Field(
        default=4, ge=1, le=64, description="Parallel SMTP connections (or SES requests) of one run."
    )
    # Amazon SES v2 (tools/mail/ses.py) instead of SMTP, and its bounce/complaint notifications through SNS.
    cmo_mail_transport: Literal["smtp", "ses"] = Field(default="smtp", description="smtp (CMO_SMTP_URL) or ses (Amazon SES v2).")
    cmo_ses_region: str | None = Field(default=None, description="Amazon SES region (else AWS_REGION).")
    cmo_ses_endpoint_url: str | None = Field(default=None, description="Amazon SES endpoint override (VPC endpoint, tests).")
    cmo_ses_configuration_set: str | None = Field(
        default=None, description="SES configuration set (its event destination publishes bounces and complaints to SNS)."
    )
    cmo_ses_max_attempts: int = Field(
        default=4, ge=1, le=10, description="Attempts of a throttled SES send before it is deferred."
    )
    cmo_ses_backoff_seconds: float = Field(default=1.0, ge=0, description="Wait before the 2nd attempt, doubling after.")
    cmo_sns_endpoint_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="Trust SNS certificates and subscribe URLs under this base URL too (tests, private SNS endpoints).",
    )

    # Encryption at rest (storage/keyring.py, privacy/key_providers.py): where the key-encryption key (KEK) wrapping the data keys lives
    cmo_key_provider: str = Field(default="local", pattern="^(local|aws-kms)$", description="local | aws-kms.")
    cmo_kek_file: Path | None = Field(default=None, description="Local KEK file (default $CMO_HOME/keys/kek.json).")
    cmo_kms_key_id: str | None = Field(default=None, description="AWS KMS key id, ARN or alias (aws-kms).")
    cmo_kms_endpoint_url: str | None = Field(default=None, description="AWS KMS endpoint override (VPC, tests).")
    cmo_kms_region: str | None = Field(default=None, description="AWS KMS region (else AWS_REGION).")
    aws_region: str | None = Field(default=None, description="AWS region, when CMO_KMS_REGION is unset.")

    sandbox_seed: int = Field(default=7, description="Seed of the in-process GitHub sandbox world.")
    sandbox_users: int = Field(default=1500, ge=50, description="Size of the sandbox world.")
    sandbox_anchor: date | None = Field(default=None, description="Day the sandbox world is anchored to (default today).")
    sandbox_latency_ms: int = Field(default=0, ge=0, description="Added latency per sandbox request.")

    @property
    def home(self) -> Path:
        """`CMO_HOME`, expanded and created on first use."""
        path = self.cmo_home.expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def uses_postgres(self) -> bool:
        """`DATABASE_URL` names Postgres (`postgresql://`, `postgres://`, `postgresql+psycopg://`); else SQLite."""
        url = self.database_url or ""
        return url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")

    @property
    def uses_github_app(self) -> bool:
        """Some GitHub App setting is set (graph/runner.py refuses a half-configured App, and an App
        together with GITHUB_TOKEN; neither ever falls back to the sandbox)."""
        app = (self.github_app_id, self.github_app_private_key, self.github_app_private_key_file, self.github_app_installation_id)
        return any(value is not None for value in app)

    @property
    def uses_sandbox(self) -> bool:
        """The sandbox runs only when the user configured no GitHub at all."""
        return self.github_api_url is None and self.github_token is None and not self.uses_github_app

    @field_validator("cmo_follow_up_days")
    @classmethod
    def _follow_up_days(cls, value: str) -> str:
        """The same rule as a campaign's `follow_up_days`: increasing days, 1 to 90."""
        days = [int(day) for day in value.split(",") if day.strip()]
        if any(not 1 <= day <= 90 for day in days) or any(b <= a for a, b in pairwise(days)):
            raise ValueError(f"CMO_FOLLOW_UP_DAYS {value!r}: increasing days after the first message, each 1 to 90")
        return value

    @property
    def follow_up_days(self) -> list[int]:
        """`CMO_FOLLOW_UP_DAYS` as numbers ("3,7" -> [3, 7]; "" -> [])."""
        return [int(day) for day in self.cmo_follow_up_days.split(",") if day.strip()]

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings(...)` instead)."""
    return Settings()
