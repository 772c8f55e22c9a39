"""A local stand-in for the SNS side of an HTTPS subscription: it signs messages as SNS does, serves
its signing certificate, and answers the `SubscribeURL` GET, over real HTTP on 127.0.0.1.

Signing follows https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
(`Name\\nValue\\n` over the documented fields, RSA PKCS#1 v1.5 with SHA-1 for SignatureVersion 1 and
SHA-256 for 2); message shapes follow https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html
and .../http-subscription-confirmation-json.html. The certificate is self-signed, made per stub.

    with SnsStub() as sns:     # the service trusts sns.url through CMO_SNS_ENDPOINT_URL
        body = sns.notification(TOPIC, {"notificationType": "Bounce", ...})
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.served import ServedStub
from tests.support.smtp import self_signed_certificate

TOPIC = "arn:aws:sns:eu-west-1:111122223333:ses-feedback"
_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


class SnsStub(ServedStub):
    """Serves `/SimpleNotificationService-test.pem` and `/confirm?Token=...`; records confirmations."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self_signed_certificate(self.key, "sns.amazonaws.com").public_bytes(serialization.Encoding.PEM)
        self.confirmed: list[str] = []
        self.certificate_requests = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.endswith(".pem"):
                    stub.certificate_requests += 1
                    self._answer(200, stub.pem, "application/x-pem-file")
                elif self.path.startswith("/confirm?"):
                    stub.confirmed.append(self.path.split("Token=", 1)[-1])
                    self._answer(200, b"<ConfirmSubscriptionResponse/>", "text/xml")
                else:
                    self._answer(404, b"", "text/plain")

            def _answer(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._listen(Handler)

    @property
    def cert_url(self) -> str:
        return f"{self.url}/SimpleNotificationService-test.pem"

    def sign(self, message: dict[str, Any], version: str = "1", key: rsa.RSAPrivateKey | None = None) -> dict[str, Any]:
        """The message signed anew: `SignatureVersion`, `Signature`, and `SigningCertURL` unless it names one."""
        text = "".join(f"{name}\n{message[name]}\n" for name in _FIELDS[message["Type"]] if message.get(name) is not None)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(text.encode(), padding.PKCS1v15(), algorithm)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": message.get("SigningCertURL", self.cert_url),
        }

    def notification(
        self, topic: str, event: dict[str, Any], *, version: str = "2", subject: str | None = None
    ) -> dict[str, Any]:
        message = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": json.dumps(event),
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "UnsubscribeURL": f"{self.url}/unsubscribe",
        }
        if subject is not None:
            message["Subject"] = subject
        return self.sign(message, version)

    def confirmation(self, topic: str, *, version: str = "1") -> dict[str, Any]:
        token = uuid.uuid4().hex
        return self.sign(
            {
                "Type": "SubscriptionConfirmation",
                "MessageId": str(uuid.uuid4()),
                "Token": token,
                "TopicArn": topic,
                "Message": f"You have chosen to subscribe to the topic {topic}.",
                "SubscribeURL": f"{self.url}/confirm?Action=ConfirmSubscription&Token={token}",
                "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            },
            version,
        )


def ses_bounce(address: str, *, permanent: bool = True, message_id: str = "<abc.1@acme-devtools.io>") -> dict[str, Any]:
    """An SES bounce notification (https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html)."""
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent" if permanent else "Transient",
            "bounceSubType": "General" if permanent else "MailboxFull",
            "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1"}],
            "timestamp": "2026-12-08T00:00:00.000Z",
            "feedbackId": "0102018c-feedback",
        },
        "mail": {
            "timestamp": "2026-12-07T23:59:00.000Z",
            "messageId": "0100018c-ses-id",
            "source": "ada@acme-devtools.io",
            "destination": [address],
            "headers": [{"name": "Message-ID", "value": message_id}, {"name": "Subject", "value": "hi"}],
        },
    }


def ses_complaint(address: str) -> dict[str, Any]:
    """An SES complaint notification (same reference)."""
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": "2026-12-08T00:00:00.000Z",
            "feedbackId": "0102018c-complaint",
            "complaintFeedbackType": "abuse",
        },
        "mail": {"messageId": "0100018c-ses-id2", "source": "ada@acme-devtools.io", "destination": [address]},
    }
