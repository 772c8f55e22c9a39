"""`/docs` works offline: the Swagger UI page and every asset it loads come from this server.

FastAPI's default page loads Swagger UI from a CDN and is blank without internet; `api.routers.docs`
serves the copy vendored in `api/static/swagger-ui` instead. Runs on the embedded SQLite.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from api.routers.docs import STATIC
from api.routers.web import WEB
from foundation.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ABSOLUTE_URL = re.compile(r"(?:https?:)?//[\w.-]+", re.IGNORECASE)
REFERENCED = re.compile(r"""(?:src|href)="([^"]+)"|url: '([^']+)'""")
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


@pytest.fixture
def client(tmp_path: Path, block_internet: None) -> Iterator[TestClient]:
    app = create_app(Settings(cmo_home=tmp_path / "home"), ApiConfig())
    with TestClient(app) as client:
        yield client


def referenced_urls(html: str) -> list[str]:
    return [src or url for src, url in REFERENCED.findall(html)]


def test_docs_page_references_only_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not ABSOLUTE_URL.search(page.text.replace("window.location.origin +", "")), "the page names another host"
    urls = referenced_urls(page.text)
    assert {"/openapi.json", "/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"} <= set(urls)
    assert '"validatorUrl": null' in page.text  # no badge fetched from validator.swagger.io
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert CONTENT_TYPES[Path(url).suffix] in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert asset.content, url


def test_the_assets_are_the_real_swagger_ui(client: TestClient) -> None:
    js = client.get("/static/swagger-ui/swagger-ui-bundle.js").text
    css = client.get("/static/swagger-ui/swagger-ui.css").text
    assert "SwaggerUIBundle" in js and ".swagger-ui" in css
    assert client.get("/static/swagger-ui/LICENSE").status_code == 200  # the Apache-2.0 licence ships with it


def test_oauth2_redirect_is_served_and_redoc_is_off(client: TestClient) -> None:
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "swaggerUIRedirectOauth2" in redirect.text
    assert not ABSOLUTE_URL.search(redirect.text)
    assert client.get("/redoc").status_code == 404
    assert client.get("/static/swagger-ui/missing.js").status_code == 404
    assert not any(path.startswith(("/docs", "/static")) for path in client.get("/openapi.json").json()["paths"])


def test_behind_a_prefix_the_page_points_under_it(tmp_path: Path) -> None:
    app = create_app(Settings(cmo_home=tmp_path / "home"), ApiConfig())
    with TestClient(app, root_path="/cmo") as client:
        urls = referenced_urls(client.get("/docs").text)
    assert urls and all(url.startswith("/cmo/") for url in urls), urls


def test_a_wheel_carries_the_assets() -> None:
    """A non-editable install has the files only if package data names them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["api"]
    packaged = {path for pattern in patterns for path in (ROOT / "api").glob(pattern)}
    web = {path for path in WEB.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert {path for path in STATIC.rglob("*") if path.is_file()} | web <= packaged


def test_the_openapi_document_reads_well_in_generated_clients(client: TestClient) -> None:
    """Issue 14: operation ids were `create_job_api_jobs_post`, two models were named `Engagement`,
    and error answers were filed under `application/json` (422 as FastAPI's `HTTPValidationError`),
    while the service answers every error as `application/problem+json`."""
    doc = client.get("/openapi.json").json()
    operations = [op for path in doc["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) and "create_job" in ids and all(re.fullmatch(r"[a-z][a-z_]*", i) for i in ids)
    assert not [name for name in doc["components"]["schemas"] if "__" in name or name == "HTTPValidationError"]
    for op in operations:
        for status, response in op["responses"].items():
            if status[0] in "45" and "content" in response:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
                }
