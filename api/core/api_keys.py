"""API keys as tokens: minted for `cmo apikey`, hashed for storage and for every lookup.

Keys are 256-bit random tokens, so a plain SHA-256 is a sufficient one-way hash (no slow KDF is
needed against guessing) and lets the lookup be a single indexed equality query. The same holds for
the browser session tokens of `api.services.web_sessions`, hashed by `hash_token` too.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "cmo_sk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a 256-bit random token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_api_key(key: str) -> str:
    return hash_token(key)
