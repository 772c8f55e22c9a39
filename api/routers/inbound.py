"""Mail providers' notifications coming in: `POST /api/inbound/ses/{token}` is the HTTPS endpoint an
Amazon SNS topic of SES bounce and complaint notifications is subscribed to.

No API key: SNS cannot send one. The token in the path names the tenant and the one SNS topic allowed
to post there, and SNS's signature is checked before anything is done (see
`api.services.mail_feedback` and `api.services.sns`). `POST /api/inbound/ses/endpoint` with
`{"topic_arn": …}` (admin key) hands out the URL to subscribe. SNS posts its JSON as `text/plain`, which the body guard
lets through for this path only.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request

from api.core.auth import AdminPrincipal, authenticate
from api.core.deps import SessionDep
from api.core.errors import Problem
from api.models.inbound import InboundEndpoint, InboundEndpointRequest
from api.models.problem import problems
from api.services.mail_feedback import inbound_url, read_inbound_token, receive_sns
from api.services.sends import DeliveryKind, record_delivery_event
from api.services.sns import SnsRejected

router = APIRouter(prefix="/api/inbound", tags=["inbound"])
_DELIVERY_KINDS: dict[str, DeliveryKind] = {"hard_bounce": "bounced", "complaint": "complained"}
log = structlog.get_logger("api.inbound")


@router.post("/ses/endpoint", dependencies=[Depends(authenticate)], responses=problems(400, 401, 403, 415, 422))
async def ses_endpoint(body: InboundEndpointRequest, principal: AdminPrincipal, request: Request) -> InboundEndpoint:
    """The URL to subscribe the topic to (protocol HTTPS): only that topic's signed messages are taken there."""
    url = inbound_url(request.app.state.settings, principal.tenant_id, body.topic_arn, request_base=str(request.base_url))
    return InboundEndpoint(url=url, topic_arn=body.topic_arn)


@router.post("/ses/{token}", responses=problems(403, 404, 413, 415, 422))
async def ses_notification(token: str, request: Request, session: SessionDep) -> dict[str, Any]:
    """An SNS message: a subscription confirmation (confirmed) or an SES notification (applied)."""
    settings = request.app.state.settings
    body = await request.body()
    try:
        outcome = await receive_sns(session, settings, token, body, request.app.state.http)
    except SnsRejected as exc:
        log.warning("sns message refused", reason=str(exc))
        raise Problem(403, "this message is not a signed SNS message of this endpoint's topic") from None
    if isinstance(outcome, str):
        return {"status": outcome}
    delivery = _DELIVERY_KINDS.get(outcome.kind)
    if delivery is not None and outcome.message_id:  # the suppression is done: the send, its event, the kill switch
        tenant_id = read_inbound_token(settings, token).tenant_id  # checked by receive_sns already
        await record_delivery_event(request.app.state.database, tenant_id, outcome.message_id, delivery)
    return {"status": "applied", "feedback": outcome.model_dump()}
