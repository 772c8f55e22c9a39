"""What the mail providers tell us back: SES bounce and complaint notifications (through SNS), and
replies, applied to the tenant's suppression list and engagement events.

**Which tenant.** SNS posts to a URL we hand out, `{CMO_PUBLIC_URL}/api/inbound/ses/{token}`
(`POST /api/inbound/ses/endpoint` `{"topic_arn": …}` with an admin key). The token is an HMAC,
under the deployment's secret (`CMO_UNSUBSCRIBE_SECRET`, with a label of its own so neither kind of token
passes as the other), over the tenant id *and the SNS topic ARN* the tenant subscribes. So:
- nobody can guess a tenant's URL, and the tenant id in it cannot be changed without the secret;
- a message is taken only when SNS signed it (`api.services.sns`) and its `TopicArn` is the one in
  the token: anyone can create an SNS topic of their own and have AWS sign what it publishes, so
  without the binding a leaked URL would let a stranger's topic suppress a tenant's addresses;
- rotating the secret invalidates every URL (the subscriptions must be made again).

**What is applied** (SES notification contents,
https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html, and event publishing's,
https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html: a JSON
`Message` with `notificationType` or `eventType` `Bounce` / `Complaint` / `Delivery`, a `mail`
object with SES's `messageId` and the original `headers`, and `bounce.bounceType` `Permanent` /
`Transient` / `Undetermined` with `bouncedRecipients[].emailAddress`, or
`complaint.complainedRecipients[].emailAddress`):
- a `Permanent` bounce suppresses each bounced address (reason `bounce`, source `ses`);
- a complaint suppresses each complaining address (reason `complaint`, permanent: the person's own "stop");
- a `Transient` or `Undetermined` bounce (a full mailbox, a greylisting server) and a delivery
  suppress nothing.
Each notification becomes one `DeliveryFeedback` (no address in it): what the service's sends table
records once it exists; `apply_ses_notification` is the single function to wire to it.

**Replies** (`record_reply`): a reply to one of a job's messages is a `replied` engagement event
(analytics, and it stops a sequence); one that objects ("unsubscribe", "stop", ...) also suppresses
the person for good, as the one-click link does (GDPR Art. 21, reason `objection`, source `reply`).
`apply_inbox_feedback` applies what `cmo inbox import --tenant` read (DSNs, ARF reports, replies,
mailto: unsubscribes; `tools.mail.inbox.Feedback`). Replies received by SES itself (receipt rules)
are not read yet: they would come through the same SNS route as `Received` notifications.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from datetime import datetime
from typing import Literal

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.models.analytics import EngagementCreate
from api.services.audit import record_audit
from api.services.engagement import record_engagement
from api.services.errors import InvalidInput, NotFound
from api.services.sns import SnsRejected, confirm_subscription, parse_message, verify
from api.services.suppressions import add_suppression
from api.services.unsubscribe import forbid_contact
from foundation.settings import Settings
from privacy.optout import unsubscribe_key
from storage.keyring import tenant_scope
from tools.mail.inbox import Feedback

SES_SOURCE = "ses"
REPLY_SOURCE = "reply"
# Where `cmo inbox import --tenant` found it: a delivery status notification, a feedback report, a
# mailto: unsubscribe (what the suppression's `source` says).
INBOX_SOURCES: dict[str, str] = {"bounce": "dsn", "complaint": "arf", "reply": REPLY_SOURCE, "unsubscribe": "mailto"}
_TOKEN_CONTEXT = b"cmo-inbound-ses/v1\x00"
FeedbackKind = Literal["hard_bounce", "soft_bounce", "complaint", "delivery"]
log = structlog.get_logger("api.mail_feedback")


# --- the tenant's endpoint token ------------------------------------------------------------------


class InboundTarget(BaseModel):
    """What a token names: the tenant and the SNS topic allowed to post to it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    tenant_id: str = Field(alias="t", min_length=1, max_length=32)
    topic_arn: str = Field(alias="a", min_length=1, max_length=512)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(settings: Settings, payload: str) -> str:
    return _b64(hmac.new(unsubscribe_key(settings), _TOKEN_CONTEXT + payload.encode("ascii"), hashlib.sha256).digest())


def inbound_token(settings: Settings, target: InboundTarget) -> str:
    payload = _b64(json.dumps(target.model_dump(by_alias=True), separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(settings, payload)}"


def inbound_url(settings: Settings, tenant_id: str, topic_arn: str, *, request_base: str) -> str:
    """The URL to subscribe to `topic_arn` (HTTPS protocol), under `CMO_PUBLIC_URL`, else under the
    base URL the caller reached us at (`request_base`)."""
    token = inbound_token(settings, InboundTarget(tenant_id=tenant_id, topic_arn=topic_arn))
    return f"{(settings.cmo_public_url or request_base).rstrip('/')}/api/inbound/ses/{token}"


def read_inbound_token(settings: Settings, token: str) -> InboundTarget:
    """The target of a token we minted; `NotFound` (one indistinct answer) for anything else."""
    if len(token) > 1024 or not token.isascii() or token.count(".") != 1:
        raise NotFound("no such inbound endpoint")
    payload, mac = token.split(".")
    if not hmac.compare_digest(_mac(settings, payload).encode(), mac.encode()):
        raise NotFound("no such inbound endpoint")
    try:
        return InboundTarget.model_validate_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, ValidationError):
        raise NotFound("no such inbound endpoint") from None


# --- SES notifications ----------------------------------------------------------------------------


class _Recipient(BaseModel):
    model_config = ConfigDict(extra="ignore")
    emailAddress: str = Field(max_length=320)


class _Bounce(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bounceType: str = "Undetermined"
    bounceSubType: str | None = None
    bouncedRecipients: list[_Recipient] = Field(default_factory=list)


class _Complaint(BaseModel):
    model_config = ConfigDict(extra="ignore")
    complainedRecipients: list[_Recipient] = Field(default_factory=list)
    complaintFeedbackType: str | None = None


class _Header(BaseModel):
    name: str
    value: str


class _Mail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messageId: str | None = None
    timestamp: datetime | None = None
    headers: list[_Header] = Field(default_factory=list)


class SesEvent(BaseModel):
    """An SES notification (`notificationType`) or published event (`eventType`): the parts we use."""

    model_config = ConfigDict(extra="ignore")
    notificationType: str | None = None
    eventType: str | None = None
    mail: _Mail = Field(default_factory=_Mail)
    bounce: _Bounce | None = None
    complaint: _Complaint | None = None

    @property
    def kind(self) -> str:
        return self.notificationType or self.eventType or ""

    @property
    def message_id(self) -> str | None:
        """Our `Message-ID` header, as SES returned the original headers."""
        return next((h.value.strip() for h in self.mail.headers if h.name.lower() == "message-id"), None)


class DeliveryFeedback(BaseModel):
    """What one notification said about one message we sent; never an address."""

    kind: FeedbackKind
    provider_id: str | None = Field(description="SES's message id (what the SES sender returned).")
    message_id: str | None = Field(description="Our Message-ID header.")
    suppressed: int = Field(description="Addresses added to (or strengthened on) the tenant's suppression list.")
    detail: str | None = None


def parse_ses_event(text: str) -> SesEvent:
    try:
        return SesEvent.model_validate_json(text)
    except ValidationError as exc:
        raise InvalidInput(f"not an SES notification: {exc.errors()[0]['msg']}") from None


async def apply_ses_notification(session: AsyncSession, tenant_id: str, event: SesEvent) -> DeliveryFeedback | None:
    """Suppress what a hard bounce or a complaint names, in the caller's transaction (it commits);
    the feedback to record on the send, or None for an event type we do not act on (sends, opens ...).
    This is the function the service's `record_delivery_event` is to be called from (or with)."""
    ids = {"provider_id": event.mail.messageId, "message_id": event.message_id}
    kind = event.kind
    if kind == "Bounce" and event.bounce is not None:
        bounce = event.bounce
        detail = f"{bounce.bounceType}/{bounce.bounceSubType or '-'}"
        if bounce.bounceType != "Permanent":
            return DeliveryFeedback(kind="soft_bounce", suppressed=0, detail=detail, **ids)
        count = await _suppress(session, tenant_id, bounce.bouncedRecipients, "bounce")
        return DeliveryFeedback(kind="hard_bounce", suppressed=count, detail=detail, **ids)
    if kind == "Complaint" and event.complaint is not None:
        count = await _suppress(session, tenant_id, event.complaint.complainedRecipients, "complaint")
        return DeliveryFeedback(kind="complaint", suppressed=count, detail=event.complaint.complaintFeedbackType, **ids)
    if kind == "Delivery":
        return DeliveryFeedback(kind="delivery", suppressed=0, **ids)
    return None


async def _suppress(
    session: AsyncSession, tenant_id: str, recipients: list[_Recipient], reason: Literal["bounce", "complaint"]
) -> int:
    count = 0
    with tenant_scope(tenant_id):
        for recipient in recipients:
            try:
                await add_suppression(session, tenant_id, "email", recipient.emailAddress, reason=reason, source=SES_SOURCE)
            except ValueError:
                continue  # not an address (SES would not send one, but the JSON is input): nothing to suppress
            count += 1
        await record_audit(
            session,
            tenant_id=tenant_id,
            actor="system",
            action=f"suppression.{reason}",
            detail={"source": SES_SOURCE, "suppressed_identifiers": count},
        )
    return count


async def receive_sns(
    session: AsyncSession, settings: Settings, token: str, body: bytes, client: httpx.AsyncClient
) -> DeliveryFeedback | str:
    """One SNS POST to a tenant's endpoint: `NotFound` for a token we did not mint or a tenant that
    is gone, `SnsRejected` for anything SNS did not sign for the token's topic; a confirmed
    subscription ("subscribed"), an ignored message ("ignored"), or the feedback applied (committed)."""
    target = read_inbound_token(settings, token)
    if await session.get(orm.Tenant, target.tenant_id) is None:
        raise NotFound("no such inbound endpoint")
    message = parse_message(body)
    if message.topic_arn != target.topic_arn:
        raise SnsRejected("the message comes from another topic than this endpoint's")
    await verify(message, client, override=settings.cmo_sns_endpoint_url)
    if message.type == "SubscriptionConfirmation":
        await confirm_subscription(message, client, override=settings.cmo_sns_endpoint_url)
        log.info("sns subscription confirmed", tenant=target.tenant_id, topic=message.topic_arn)
        return "subscribed"
    if message.type == "UnsubscribeConfirmation":
        return "ignored"
    feedback = await apply_ses_notification(session, target.tenant_id, parse_ses_event(message.message))
    await session.commit()
    if feedback is None:
        return "ignored"
    log.info("ses feedback", tenant=target.tenant_id, kind=feedback.kind, suppressed=feedback.suppressed)
    return feedback


# --- replies --------------------------------------------------------------------------------------


async def record_reply(
    session: AsyncSession,
    tenant_id: str,
    job_id: str,
    prospect_id: str,
    *,
    objection: bool,
    occurred_at: datetime | None = None,
) -> orm.EngagementEvent:
    """A `replied` engagement event for the prospect of the job (commits); an objecting reply also
    suppresses the person for good (GDPR Art. 21) in the same commit."""
    if objection:
        with tenant_scope(tenant_id):
            await forbid_contact(session, tenant_id, prospect_id, None, reason="objection", source=REPLY_SOURCE)
            await record_audit(
                session,
                tenant_id=tenant_id,
                actor="system",
                action="prospect.objection",
                job_id=job_id,
                prospect_ids=[prospect_id],
                detail={"source": REPLY_SOURCE},
            )
    body = EngagementCreate(job_id=job_id, prospect_id=prospect_id, type="replied", occurred_at=occurred_at)
    return await record_engagement(session, tenant_id, body)


async def apply_inbox_feedback(session: AsyncSession, tenant_id: str, items: list[Feedback], *, actor: str) -> Counter[str]:
    """What `cmo inbox import --tenant` read, applied to the tenant: hard bounces and complaints
    suppress the address (sources `dsn`, `arf`); an objecting reply or a mailto: unsubscribe
    suppresses the address and the person (`objection` / `unsubscribe`, for good); a reply to a
    message of one of the tenant's jobs (the campaign is the job id) is a `replied` engagement event,
    once. Commits. The counts of what was done."""
    counts: Counter[str] = Counter()
    with tenant_scope(tenant_id):
        for item in items:
            source = INBOX_SOURCES[item.kind]
            if item.kind in ("bounce", "complaint") and item.address:
                reason: Literal["bounce", "complaint", "unsubscribe", "objection"] = item.kind
            elif item.objection:
                reason = "unsubscribe" if item.kind == "unsubscribe" else "objection"
                if item.prospect_id:
                    await forbid_contact(session, tenant_id, item.prospect_id, None, reason=reason, source=source)
            else:
                continue
            if item.address:
                try:
                    await add_suppression(session, tenant_id, "email", item.address, reason=reason, source=source)
                except ValueError:
                    pass  # a From address that is no address: the person's other identifiers still count
            counts[reason] += 1
        await record_audit(session, tenant_id=tenant_id, actor=actor, action="inbox.import", detail=dict(counts))
        await session.commit()
    for item in items:
        if item.kind != "reply" or not item.new or not item.campaign or not item.prospect_id:
            continue
        try:
            await record_reply(session, tenant_id, item.campaign, item.prospect_id, objection=False)
        except NotFound:
            counts["reply_not_of_a_job"] += 1
            await session.rollback()
            continue
        counts["replied"] += 1
    return counts
