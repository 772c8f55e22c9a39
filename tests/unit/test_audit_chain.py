"""The audit trail's hash chain without a database: what a record's hash covers, and how a broken
link is named (the database side, triggers and `cmo audit verify`, is in test_api_audit.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.core.orm_audit import GENESIS_HASH, AuditRecord
from api.routers.auditing import audited
from api.services.audit import HASHED_FIELDS, broken_link, canonical_json, record_hash


def chain(length: int) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev_hash = GENESIS_HASH
    for seq in range(1, length + 1):
        record = AuditRecord(
            seq=seq, id=f"aud_{seq}", at=datetime(2026, 11, 26, 12, 0, seq, 123456, tzinfo=UTC), tenant_id="ten_1",
            actor="key:key_1", action="artifact.download", job_id="cmo_1", prospect_ids=["gh_ada"], artifact_id="art_1",
            detail={"thread_id": "thr_1"}, ip="10.0.0.1", user_agent="curl/8", outcome=200, prev_hash=prev_hash,
        )  # fmt: skip
        record.hash = prev_hash = record_hash(prev_hash, record)
        records.append(record)
    return records


def test_canonical_json_is_one_spelling_per_value() -> None:
    assert canonical_json({"b": [1, "é"], "a": None}) == canonical_json({"a": None, "b": [1, "é"]}) == '{"a":null,"b":[1,"é"]}'


def test_every_recorded_field_is_covered_by_the_hash() -> None:
    record = chain(1)[0]
    changed = {"seq": 2, "at": datetime(2030, 1, 1, tzinfo=UTC), "prospect_ids": ["gh_bob"], "detail": {}, "outcome": 500}
    for name in HASHED_FIELDS:
        original = getattr(record, name)
        setattr(record, name, changed.get(name, f"{original}x"))
        assert record_hash(record.prev_hash, record) != record.hash, f"{name} is not covered"
        setattr(record, name, original)
    assert record_hash(record.prev_hash, record) == record.hash
    assert record_hash("f" * 64, record) != record.hash, "the previous hash is covered too"


def test_broken_link_names_what_is_wrong() -> None:
    first, second, third = chain(3)
    assert [broken_link(None, first), broken_link(first, second), broken_link(second, third)] == [None, None, None]
    assert broken_link(first, third) == "record 2 is missing"
    assert broken_link(None, second) == "record 1 is missing"
    third.prev_hash = first.hash
    assert broken_link(second, third) == "does not link to record 2 (prev_hash differs)"
    second.action = "job.read"
    assert broken_link(first, second) == "its content was altered (hash mismatch)"


def test_audited_refuses_an_action_that_is_not_a_dotted_verb() -> None:
    for action in ("read", "Job.Read", "job.read "):
        with pytest.raises(ValueError, match="dotted verb"):
            audited(action)
