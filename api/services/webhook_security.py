"""Webhook signatures (both sides) and the guard that keeps webhook URLs off internal networks.

Signatures: Standard Webhooks (https://www.standardwebhooks.com): `webhook-id` (the delivery id, the
same on every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,<base64
HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the `whsec_` secret as the spec decodes it), made
by the maintained `standardwebhooks` package, whose verifiers exist for most languages. The older
`X-CMO-Signature` is still sent for one release (deprecated):

Legacy signature: `X-CMO-Signature: sha256=<hex HMAC-SHA256(secret, "<X-CMO-Timestamp>.<raw body>")>`, the
timestamp being Unix seconds at the attempt. Signing the timestamp with the body lets a receiver
refuse a replayed request (`tolerance_seconds`) without keeping state. `verify_signature` uses only
the standard library, so a receiver can copy it as is.

SSRF: a tenant chooses the URL, and the service POSTs from inside the deployment, so a URL could aim
at the cloud metadata endpoint or an internal admin port. Every address the host resolves to must be
public (unless `CMO_WEBHOOK_ALLOW_PRIVATE`), and the request then goes to the address that was
checked, with the original Host header and TLS server name: a DNS answer that changes between the
check and the connection (rebinding) cannot redirect it. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def standard_headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (`Webhook(secret).verify(body, headers)` accepts them)."""
    signature = Webhook(secret).sign(delivery_id, datetime.fromtimestamp(timestamp, UTC), body)
    return {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-CMO-Signature` value of one request."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    tolerance_s: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """For receivers: True when `header` (X-CMO-Signature) signs this exact raw `body` at `timestamp`
    (X-CMO-Timestamp) with the tenant's secret, and the timestamp is within `tolerance_s` of now.

    Pass the body bytes as received: re-serialising parsed JSON changes them and fails the check.
    """
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header.strip())


class RefusedUrl(ValueError):
    """A webhook URL the service will not call (permanent: retrying cannot help)."""


@dataclass(frozen=True)
class PinnedRequest:
    """Where to send: the checked address in the URL, and what keeps HTTP and TLS on the real host."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))  # RFC 6052, RFC 8215


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and a gateway would reach: mapped (::ffff:a.b.c.d),
    compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::) and Teredo (client and
    server). `ipaddress` calls several of these global although they lead to a private IPv4 host."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += list(address.teredo)
    if int(address) >> 32 == 0 and int(address) > 1:  # IPv4-compatible (deprecated), not :: or ::1
        found.append(low32)
    if any(address in network for network in _NAT64):
        found.append(low32)
    return found


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded:
            return all(_public(inner) for inner in embedded)
    return address.is_global and not address.is_multicast


async def resolve_target(url: str, *, allow_private: bool) -> PinnedRequest:
    """Check `url` and pin it to an address; raises `RefusedUrl`, or `OSError` when DNS fails."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise RefusedUrl(f"{url!r} is not an http(s) URL")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    name = parsed.host.rstrip(".").lower()
    if not allow_private and (name == "localhost" or name.endswith(".localhost")):
        # RFC 6761 reserves these for loopback; resolvers differ in whether they answer for them
        raise RefusedUrl(f"{parsed.host} is a loopback name; set CMO_WEBHOOK_ALLOW_PRIVATE=true to allow private networks")
    try:
        addresses = [ipaddress.ip_address(parsed.host)]
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise OSError(f"{parsed.host} has no address")
    blocked = sorted({str(a) for a in addresses if not _public(a)})
    if blocked and not allow_private:
        raise RefusedUrl(
            f"{parsed.host} resolves to non-public address {', '.join(blocked)}; "
            "set CMO_WEBHOOK_ALLOW_PRIVATE=true to allow private networks"
        )
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return PinnedRequest(
        url=parsed.copy_with(host=str(addresses[0])),
        headers={"Host": parsed.netloc.decode("ascii")},
        extensions=extensions,
    )
