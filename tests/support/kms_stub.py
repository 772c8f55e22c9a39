"""A local stand-in for AWS KMS speaking its wire protocol, so the real boto3 client is tested offline.

KMS is a JSON 1.1 API: `POST /` with `X-Amz-Target: TrentService.<Operation>` and a JSON body whose
binary fields are base64. This server answers Encrypt, Decrypt, GenerateDataKey and DescribeKey for
symmetric keys it made with `create_key()` (addressable by key id, ARN or `alias/<name>`), checks
the encryption context the way KMS does (Decrypt must repeat Encrypt's), and answers errors in
KMS's shape (`__type`, `message`, HTTP 400). It does not check request signatures (any dummy
credentials work) and records each operation name in `calls`.

    with KmsStub() as kms:
        arn = kms.create_key(alias="cmo")
        client = boto3.client("kms", endpoint_url=kms.url, region_name="us-east-1")
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.support.served import ServedStub

REGION, ACCOUNT = "us-east-1", "111122223333"


class KmsError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


class KmsStub(ServedStub):
    """The server; start it with `with KmsStub() as kms:` (or `start()` / `stop()`)."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}  # ARN -> AES key
        self.aliases: dict[str, str] = {}  # alias/name -> ARN
        self.disabled: set[str] = set()
        self.calls: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
                operation = self.headers.get("X-Amz-Target", "").removeprefix("TrentService.")
                try:
                    answer, status = stub.handle(operation, json.loads(body or b"{}")), 200
                except KmsError as exc:
                    answer, status = {"__type": exc.kind, "message": exc.message}, 400
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `calls` instead."""

        self._listen(Handler)

    def create_key(self, alias: str | None = None) -> str:
        """A new enabled symmetric key; returns its ARN."""
        arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{uuid.uuid4()}"
        self.keys[arn] = AESGCM.generate_key(bit_length=256)
        if alias:
            self.aliases[f"alias/{alias}"] = arn
        return arn

    def handle(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(operation)
        if operation == "DescribeKey":
            arn = self._resolve(body.get("KeyId"))
            return {"KeyMetadata": self._metadata(arn)}
        if operation == "Encrypt":
            arn = self._usable(body.get("KeyId"))
            return self._encrypt(arn, base64.b64decode(body["Plaintext"]), body.get("EncryptionContext"))
        if operation == "GenerateDataKey":
            arn = self._usable(body.get("KeyId"))
            size = body.get("NumberOfBytes") or {"AES_256": 32, "AES_128": 16}.get(body.get("KeySpec", ""), 0)
            if not size:
                raise KmsError("ValidationException", "KeySpec or NumberOfBytes is required")
            plaintext = os.urandom(size)
            answer = self._encrypt(arn, plaintext, body.get("EncryptionContext"))
            return answer | {"Plaintext": base64.b64encode(plaintext).decode()}
        if operation == "Decrypt":
            return self._decrypt(base64.b64decode(body["CiphertextBlob"]), body.get("EncryptionContext"), body.get("KeyId"))
        raise KmsError("UnknownOperationException", f"operation {operation!r} is not supported by the stub")

    def _resolve(self, key_id: str | None) -> str:
        if not key_id:
            raise KmsError("ValidationException", "KeyId is required")
        arn = self.aliases.get(key_id) or next((a for a in self.keys if key_id in (a, a.rsplit("/", 1)[1])), None)
        if arn is None:
            raise KmsError("NotFoundException", f"Key '{key_id}' does not exist")
        return arn

    def _usable(self, key_id: str | None) -> str:
        arn = self._resolve(key_id)
        if arn in self.disabled:
            raise KmsError("DisabledException", f"{arn} is disabled.")
        return arn

    def _metadata(self, arn: str) -> dict[str, Any]:
        enabled = arn not in self.disabled
        return {
            "KeyId": arn.rsplit("/", 1)[1],
            "Arn": arn,
            "AWSAccountId": ACCOUNT,
            "Enabled": enabled,
            "KeyState": "Enabled" if enabled else "Disabled",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyManager": "CUSTOMER",
            "Origin": "AWS_KMS",
        }

    @staticmethod
    def _context(context: dict[str, str] | None) -> bytes:
        return json.dumps(context or {}, sort_keys=True).encode()

    def _encrypt(self, arn: str, plaintext: bytes, context: dict[str, str] | None) -> dict[str, Any]:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[arn]).encrypt(nonce, plaintext, self._context(context))
        blob = len(arn).to_bytes(2, "big") + arn.encode() + nonce + sealed  # the blob names its key, like KMS's
        return {"CiphertextBlob": base64.b64encode(blob).decode(), "KeyId": arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}

    def _decrypt(self, blob: bytes, context: dict[str, str] | None, key_id: str | None) -> dict[str, Any]:
        size = int.from_bytes(blob[:2], "big")
        arn = blob[2 : 2 + size].decode(errors="replace")
        if arn not in self.keys or (key_id and self._resolve(key_id) != arn):
            raise KmsError("InvalidCiphertextException", "")
        if arn in self.disabled:
            raise KmsError("DisabledException", f"{arn} is disabled.")
        nonce, sealed = blob[2 + size : 14 + size], blob[14 + size :]
        try:
            plaintext = AESGCM(self.keys[arn]).decrypt(nonce, sealed, self._context(context))
        except InvalidTag as exc:
            raise KmsError("InvalidCiphertextException", "") from exc
        return {"Plaintext": base64.b64encode(plaintext).decode(), "KeyId": arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
