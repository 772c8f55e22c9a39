"""`/docs`: Swagger UI served from this package (`api/static/swagger-ui`), never from a CDN.

FastAPI's default page loads its JavaScript and CSS from a CDN (and a favicon from fastapi's site),
so on a machine without internet access it is blank, and everywhere it tells a third party who reads
the docs. This is FastAPI's documented self-hosting pattern: the app is built with `docs_url=None`
and `redoc_url=None` (one documentation UI is enough), and this router serves the page and its
OAuth2 redirect; `create_app` mounts `STATIC` at `/static`. The validator badge is switched off too:
it would send the schema's URL to validator.swagger.io.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

STATIC = Path(__file__).resolve().parents[1] / "static"
STATIC_URL = "/static"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = f"{DOCS_URL}/oauth2-redirect"
_SWAGGER_UI = f"{STATIC_URL}/swagger-ui"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_URL)
async def swagger_ui(request: Request) -> HTMLResponse:
    """The Swagger UI page for this app's OpenAPI document; every URL in it is on this server."""
    root = request.scope.get("root_path", "").rstrip("/")  # behind a proxy that strips a prefix
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{_SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{_SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{root}{_SWAGGER_UI}/favicon-32x32.png",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
        init_oauth=request.app.swagger_ui_init_oauth,
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT_URL)
async def swagger_ui_redirect() -> HTMLResponse:
    """Where an OAuth2 login started from the page returns (an inline script, no external asset)."""
    return get_swagger_ui_oauth2_redirect_html()
