"""schemathesis against the running server's own /openapi.json: generated requests, valid and
invalid, to every operation; none may get a 5xx, and every answer must match the status
codes, content types, headers and body schemas the document declares.

The server is real (`orchestrator serve` under uvicorn, the simulator) and has a token, sent
with every request; job creation is rate-limited low so generated jobs stay few (their 429s
are documented answers too). Examples per operation are bounded to keep the run near a
minute on a loaded 2-core machine.

Each operation runs through its hypothesis strategy (`APIOperation.as_strategy`) rather than
schemathesis's pytest plugin: the plugin's lazy fixture loader sets `_nodeid`, which pytest 9
no longer has.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from api_fixtures import ApiServer, start_server
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

TOKEN = "schema-test-token"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(
        tmp_path_factory.mktemp("schema") / "data",
        ORCH_API_TOKEN=TOKEN,
        ORCH_CREATE_RATE_PER_MIN="5",
    )
    yield started
    started.stop()


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
def test_every_operation_answers_as_documented(server: ApiServer, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=server.url,
                headers={"Authorization": f"Bearer {TOKEN}"},
                checks=CHECKS,
                timeout=30,
            )

        try:
            answers_as_documented()
        except Unsatisfiable:
            # Negative mode on an operation that takes nothing (GET /healthz): no invalid
            # request exists.
            assert mode is GenerationMode.NEGATIVE, operation.path
        except Exception as e:  # every operation's failure, not only the first
            failures.append(f"{operation.method.upper()} {operation.path}: {e}")
    assert failures == [], "\n\n".join(failures)
