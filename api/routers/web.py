"""The web app (`api/web`): `/` serves its page, `/assets/...` its scripts and styles, from this package.

No build step and no CDN: plain ES modules written for the browser, so `make setup` needs no Node
and the page works offline. Every response carries a strict Content-Security-Policy: scripts and
styles only from this origin (no inline code, no `eval`), requests only to this origin, no frames,
no plugins. The page signs in through `/api/session` (an httpOnly cookie; the key is never stored).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

WEB = Path(__file__).resolve().parents[1] / "web"
ASSETS_URL = "/assets"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",  # revalidated (ETag) on every load: a new release is seen at once
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    """The single page; its routes live after `#`, so a reload always lands here."""
    return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8", headers=_HEADERS)


class WebAssets(StaticFiles):
    """The app's files, with the page's security headers (a script is a document to a browser too)."""

    def __init__(self) -> None:
        super().__init__(directory=WEB, html=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in _HEADERS.items()),
                ]
            await send(message)

        await super().__call__(scope, receive, with_headers)
