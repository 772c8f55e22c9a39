"""The public opt-out routes behind every draft's link (no API key: the signed token is the credential).

`GET` only shows a page with a button, because mail scanners and link previewers fetch every URL in
a message and must not opt anyone out. `POST` opts out: RFC 8058's one-click request
(`List-Unsubscribe=One-Click`, sent by the mail client as urlencoded or multipart form data) and the
page's button alike. The body is not read: only a person or their mail client POSTs, and an opt-out
must never fail on how a client encoded it. The answer is a 200 page, never a redirect (RFC 8058).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.deps import SessionDep
from api.core.errors import Problem
from api.models.problem import problems
from api.routers.auditing import origin_of
from api.services.unsubscribe import recipient_of, record_objection
from privacy.optout import InvalidToken, Recipient, UnsubscribeNotConfigured

router = APIRouter(tags=["unsubscribe"])
log = structlog.get_logger("api.unsubscribe")

# The token is in the URL: keep it out of Referer headers, caches and search indexes.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}
button{{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}}</style></head>
<body><h1>{title}</h1>{content}</body></html>
"""
_CONFIRM = _PAGE.format(
    title="Unsubscribe",
    content="<p>Stop all further messages to you from this sender, and object to the use of your data for "
    "direct marketing?</p>"
    '<form method="post" action=""><input type="hidden" name="List-Unsubscribe" value="One-Click">'
    '<button type="submit">Unsubscribe</button></form>',
)
_DONE = _PAGE.format(
    title="You are unsubscribed",
    content="<p>You will not receive further messages from this sender, and your data will no longer be used "
    "to contact you. Nothing else is needed from you.</p>",
)
_ONE_CLICK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            media: {"schema": {"type": "object", "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}}}}
            for media in ("application/x-www-form-urlencoded", "multipart/form-data")
        },
    }
}


async def _recipient(request: Request, session: AsyncSession, token: str) -> Recipient:
    """The token's recipient, or one 404 that does not say what was wrong with the link."""
    try:
        return await recipient_of(session, request.app.state.settings, token)
    except InvalidToken:
        raise Problem(404, "this unsubscribe link is not valid", slug="unknown-unsubscribe-link") from None
    except UnsubscribeNotConfigured as exc:
        log.error("opt-out links cannot be checked", error=str(exc))
        raise Problem(503, "unsubscribe links are not configured on this server") from None


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers=_HEADERS)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, responses=problems(404, 503))
async def confirm(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """A confirmation page with one button; changes nothing."""
    await _recipient(request, session, token)
    return _page(_CONFIRM)


@router.post(
    "/unsubscribe/{token}", response_class=HTMLResponse, responses=problems(404, 413, 503), openapi_extra=_ONE_CLICK_BODY
)
async def unsubscribe(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Opt out for good (GDPR Art. 21 objection), effective before this answer; repeating it is harmless."""
    recipient = await _recipient(request, session, token)
    structlog.contextvars.bind_contextvars(tenant=recipient.tenant_id)
    await record_objection(session, recipient, origin_of(request))
    return _page(_DONE)
