"""Structured JSON logs, with personal data masked by the pipeline itself.

Every record (ours through structlog, and third-party ones through the stdlib root logger, such as
uvicorn's) goes through one formatter whose chain ends in `mask_pii` and a JSON renderer, so no call
site has to remember to mask. Request id, tenant and job id come from structlog's contextvars,
bound by the request middleware and the auth/job dependencies.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from privacy.masking import mask_text

NAME_FIELDS = frozenset({"name", "full_name"})
SECRET_FIELDS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "password", "token", "api_key", "secret"}
)
_HANDLER_MARK = "_cmo_json_handler"


def _mask_name(value: Any) -> Any:
    return f"{value[0]}***" if isinstance(value, str) and value else value


def _mask(value: Any, key: str | None = None) -> Any:
    if key in NAME_FIELDS:
        return _mask_name(value)
    if key is not None and key.lower() in SECRET_FIELDS and value:
        return "[secret]"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _mask(v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask(v) for v in value]
    return value


def mask_pii(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Structlog processor: what the PII detector finds in any string is masked (emails keep their
    first character and domain, `o***@github.com`; phones, addresses, IPs and secrets become
    `[phone]`, `[address]`, `[ip]`, `[secret]`); values of fields named `name` / `full_name` keep
    their first letter and those of credential fields (`authorization`, `password`, …) are `[secret]`,
    at any nesting depth."""
    return {key: _mask(value, key) for key, value in event_dict.items()}


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time of the record (test capture, reloaders)
    instead of the stream that happened to be current when logging was configured."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


def configure_logging(level: int = logging.INFO) -> None:
    """Route structlog and the stdlib root logger through the masking JSON formatter (idempotent)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _StderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                mask_pii,
                structlog.processors.JSONRenderer(default=str),
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
