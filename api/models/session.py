"""Bodies of `/api/session`: a browser signs in with an API key and gets a session cookie."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SessionCreate(BaseModel):
    """The sign-in: the key is checked once and never stored by the browser (the cookie stands for it)."""

    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(min_length=1, max_length=256, description="An API key from `cmo apikey create --tenant NAME`.")


class SessionState(BaseModel):
    """Who the session signs in, and the CSRF token every unsafe request must send in `X-CSRF-Token`."""

    tenant: str = Field(description="The tenant's name.")
    role: str = Field(description="`admin` or `member`, the role of the key the session was opened with.")
    csrf_token: str = Field(description="Send it as `X-CSRF-Token` on POST, PUT, PATCH and DELETE; keep it in memory only.")
    expires_at: datetime = Field(description="When the session ends; sign in again then.")
