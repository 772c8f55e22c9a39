"""What a run is: the facts it starts with (`RunInfo`), kept in its checkpoint for `cmo resume`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RunInfo(BaseModel):
    """Facts about this run that the artifacts and `cmo resume` need."""

    run_id: str
    out_dir: str | None = Field(default=None, description="Where the CLI writes the artifacts; None for a service job")
    started_at: datetime
    sandbox: bool
    llm: str = Field(description="'none' or the model name")
    prompt_version: str
    api_base: str = Field(description="GitHub API base URL, or sandbox:<seed>:<users>")
    tenant_id: str | None = Field(default=None, description="The service tenant of a job; None for a CLI run")
