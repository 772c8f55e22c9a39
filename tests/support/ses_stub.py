"""A local stand-in for Amazon SES v2's SendEmail, so the real boto3 `sesv2` client is tested offline.

Shapes from the SES API v2 reference, SendEmail
(https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html) and its common errors
(https://docs.aws.amazon.com/ses/latest/APIReference-V2/CommonErrors.html): a REST-JSON API,
`POST /v2/email/outbound-emails` with `FromEmailAddress`, `Destination.ToAddresses`,
`Content.Raw.Data` (the MIME message, base64) and optional `ConfigurationSetName`; success is 200
`{"MessageId": "..."}`; errors carry their type in the `x-amzn-ErrorType` header and a JSON body
`{"message": "..."}`: `TooManyRequestsException` 429 (throttled), `MessageRejected` 400 (content
refused, or an unverified recipient in the SES sandbox), `SendingPausedException` 400,
`NotFoundException` 404 (an unknown configuration set). Request signatures are not checked (any
dummy credentials work).

    with SesStub() as ses:
        ses.throttle(2)                      # the next two requests answer 429
        ses.reject("bad@example.org")        # MessageRejected for this recipient
        client = boto3.client("sesv2", endpoint_url=ses.url, region_name="eu-west-1")
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.served import ServedStub


@dataclass(frozen=True)
class SentEmail:
    """One accepted request: its fields and the raw message as SES received it."""

    message_id: str
    sender: str
    recipients: list[str]
    configuration_set: str | None
    raw: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.raw, policy=policy.default)


class SesStub(ServedStub):
    """The server; start it with `with SesStub() as ses:`."""

    def __init__(self, *, configuration_sets: frozenset[str] = frozenset({"cmo"})) -> None:
        self.sent: list[SentEmail] = []
        self.requests = 0
        self.configuration_sets = configuration_sets
        self.paused = False
        self.fail_next: tuple[int, str] | None = None  # (HTTP status, error type) for the next request
        self._throttled = 0
        self._rejected: set[str] = set()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
                if self.path != "/v2/email/outbound-emails":
                    self._answer(404, {"message": f"no route {self.path}"}, "NotFoundException")
                    return
                status, answer, kind = stub.handle(json.loads(body or b"{}"))
                self._answer(status, answer, kind)

            def _answer(self, status: int, answer: dict[str, Any], kind: str | None) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                if kind:
                    self.send_header("x-amzn-ErrorType", kind)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `sent` instead."""

        self._listen(Handler)

    def throttle(self, requests: int) -> None:
        """Answer the next `requests` requests with 429 TooManyRequestsException."""
        with self._lock:
            self._throttled = requests

    def reject(self, recipient: str) -> None:
        self._rejected.add(recipient.lower())

    def handle(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        with self._lock:
            self.requests += 1
            if self._throttled > 0:
                self._throttled -= 1
                return 429, {"message": "Maximum sending rate exceeded."}, "TooManyRequestsException"
        if self.fail_next is not None:
            (status, kind), self.fail_next = self.fail_next, None
            return status, {"message": f"{kind} (stub)"}, kind
        if self.paused:
            return 400, {"message": "Sending is paused for this account."}, "SendingPausedException"
        config_set = body.get("ConfigurationSetName")
        if config_set is not None and config_set not in self.configuration_sets:
            return 404, {"message": f"Configuration set <{config_set}> does not exist."}, "NotFoundException"
        recipients = list(body.get("Destination", {}).get("ToAddresses", []))
        raw = body.get("Content", {}).get("Raw", {}).get("Data")
        if not raw or not body.get("FromEmailAddress") or not recipients:
            return 400, {"message": "FromEmailAddress, Destination and Content.Raw.Data are required"}, "BadRequestException"
        refused = [r for r in recipients if r.lower() in self._rejected]
        if refused:
            return (
                400,
                {"message": f"Email address is not verified. The following identities failed the check: {refused[0]}"},
                ("MessageRejected"),
            )
        message_id = f"0100018c{uuid.uuid4().hex}-000000"
        sent = SentEmail(message_id, body["FromEmailAddress"], recipients, config_set, base64.b64decode(raw))
        with self._lock:
            self.sent.append(sent)
        return 200, {"MessageId": message_id}, None
