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

import asyncio
from collections.abc import Iterator

import pytest
import schemathesis
from api_fixtures import QUICK, ApiServer, Sse, read_all, start_server
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.stateful.state_machine import APIStateMachine
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
STATEFUL_SCENARIOS = 15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(
        tmp_path_factory.mktemp("schema") / "data",
        ORCH_API_TOKEN=TOKEN,
        ORCH_CREATE_RATE_PER_MIN="5",
    )
    yield started
    started.stop()


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """Job creation at its default rate: chained scenarios create jobs by the dozen."""
    started = start_server(tmp_path_factory.mktemp("chained") / "data", ORCH_API_TOKEN=TOKEN)
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


def test_chained_operations_answer_as_documented(busy_server: ApiServer) -> None:
    """The stateful phase: operations chained by the links schemathesis infers from the
    document (a created job's id into every route that takes one), so a job's detail, tasks,
    stream, result files, cancel, resume and delete are reached with a real job and checked
    as documented, the events of its stream each against the stream's event schema."""
    schema = schemathesis.openapi.from_url(f"{busy_server.url}/openapi.json")
    machine: type[APIStateMachine] = schema.as_state_machine()
    chained = [name for name in dir(machine) if name.startswith("POST_api_jobs___201_")]
    assert any(name.endswith("GET_api_jobs_job_id_stream") for name in chained), chained
    assert any(name.endswith("DELETE_api_jobs_job_id_") for name in chained), chained

    class Chained(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {
                "base_url": busy_server.url,
                "headers": {"Authorization": f"Bearer {TOKEN}"},
                "timeout": 30,
            }

        def validate_response(
            self, response: object, case: schemathesis.Case, **kwargs: object
        ) -> None:
            case.validate_response(response, checks=CHECKS)  # type: ignore[arg-type]

    Chained.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_a_jobs_stream_matches_its_description(busy_server: ApiServer) -> None:
    """A finished job's stream, its first events and its last (to the `done`), checked
    against the stream's documented event (each `data` against StreamEvent): tools read the
    description as the schema of one event."""
    schema = schemathesis.openapi.from_url(f"{busy_server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    create = schema["/api/jobs"]["POST"].Case(body={"project_description": QUICK})
    created = create.call(base_url=busy_server.url, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]
    everything = asyncio.run(follow_to_the_end(busy_server, job_id))
    stream = schema["/api/jobs/{job_id}/stream"]["GET"]
    for after in (0, len(everything) - 5):  # schemathesis reads a stream's first events only
        case = stream.Case(path_parameters={"job_id": job_id}, query={"after": str(after)})
        response = case.call(base_url=busy_server.url, headers=headers, timeout=60)
        assert response.status_code == 200 and b"data: " in response.content
        case.validate_response(response, checks=CHECKS)
    assert b'"type":"done"' in response.content


async def follow_to_the_end(server: ApiServer, job_id: str) -> list[Sse]:
    async with server.client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        return await read_all(client, f"/api/jobs/{job_id}/stream")
