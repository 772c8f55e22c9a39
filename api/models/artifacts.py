"""Response bodies of the artifact routes (downloads answer the file itself)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, computed_field


class Artifact(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    job_id: str
    name: str
    content_type: str
    size: int
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def download_url(self) -> str:
        return f"/api/artifacts/{self.id}"


class ArtifactList(BaseModel):
    items: list[Artifact]
