"""schemathesis against the app's own OpenAPI document, with a real tenant's admin key (issue 5 §6):
every documented operation gets generated requests, and every answer must be no 5xx, a documented
status, the documented content type and a body matching its schema.

Requests go through schemathesis's in-process ASGI client. Path parameters are either generated or
one of tenant A's real ids (a finished job, so the SSE stream ends after its history), so the
success paths are exercised too. Generated webhook URLs are replaced by a local closed port (the
deployment allows private targets here): a fuzzer must not make the service resolve or call
arbitrary hosts. Deterministic (derandomized, no example database) and bounded: a few examples per
operation, no shrinking.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.core.config import ApiConfig
from sandbox import open_sandbox
from tests.support.security import CLOSED_PORT_HOOK, World, tenant_world, world_settings

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def world(tmp_path: Path, private_postgres_url: str) -> Iterator[World]:
    with tenant_world(world_settings(tmp_path / "home", private_postgres_url)) as world:
        yield world


def test_the_api_conforms_to_its_openapi_document(world: World, block_internet: None) -> None:
    # A second app on the same database, without a worker: generated jobs stay queued.
    app = create_app(world.settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))
    schema = schemathesis.openapi.from_dict(app.openapi())
    real_ids = world.ids

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy[Any]:
        """Each id parameter: the generated value or tenant A's real one."""
        if not path_parameters:
            return st.just(path_parameters)
        choices = {
            name: st.sampled_from([value, real_ids[name]]) if name in real_ids else st.just(value)
            for name, value in path_parameters.items()
        }
        return st.fixed_dictionaries(choices)

    @schema.hook
    def map_body(context: Any, body: Any) -> Any:
        if isinstance(body, dict):
            for field in ("webhook_url", "url"):
                if body.get(field):
                    body[field] = CLOSED_PORT_HOOK
        return body

    failures: list[str] = []
    with asgi.get_client(app) as client:
        try:
            for result in schema.get_all_operations():
                operation = result.ok()

                @hypothesis.settings(
                    max_examples=EXAMPLES_PER_OPERATION,
                    derandomize=True,
                    database=None,
                    deadline=None,
                    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                    suppress_health_check=list(hypothesis.HealthCheck),
                )
                @hypothesis.given(case=operation.as_strategy())
                def run(case: schemathesis.Case) -> None:
                    case.call_and_validate(session=client, headers=world.admin_a, checks=CHECKS)

                try:
                    run()
                except Exception as exc:  # one report for every failing operation, not just the first
                    failures.append(f"{operation.label}: {type(exc).__name__}: {exc}")
        finally:
            asgi.shutdown_lifespans()
    assert not failures, "\n\n".join(failures)
