"""Routes of `privacy_settings` (work in progress)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
