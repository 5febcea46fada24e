"""Database errors at every point of every durable step (orchestrator/crashpoints.py),
raised in the running process: the transaction in progress rolls back, as with a real
error of the database.

Transient (SQLite's "database is locked"): the step runs again and the job ends as it
would have without the error. Permanent (an error no retry cures, once): the job ends
visibly as a system failure with its `done`. Either way `check_job` (fault_scenario.py)
finds no gap or repeat in the history, every iteration counted once, and no call the
provider billed and we recorded paid twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from crash_child import KEY, SPEC, crash_settings
from fake_llm_servers import FakeLLMServer
from fault_scenario import (
    FAULT_IDS,
    FAULTS,
    IN_FLIGHT,
    REVIEW_FAULTS,
    Expect,
    answer,
    check_job,
)
from sqlalchemy.exc import DatabaseError, OperationalError

from orchestrator import crashpoints
from orchestrator.domain import JobStatus, ProjectStatus
from orchestrator.events import DoneEvent, PlanEvent, StatusEvent
from orchestrator.runtime import Runtime


def locked() -> OperationalError:
    return OperationalError("UPDATE jobs ...", {}, sqlite3.OperationalError("database is locked"))


def corrupt() -> DatabaseError:
    return DatabaseError(
        "UPDATE jobs ...", {}, sqlite3.DatabaseError("database disk image is malformed")
    )


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(answer, api_key=KEY) as fake:
        yield fake


@pytest.fixture
def strike() -> Iterator[Callable[[str, int, Callable[[], Exception]], list[str]]]:
    """`strike(point, n, error)`: raise `error()` the n-th time `point` is reached; the
    returned list names the points struck."""

    def install(point: str, occurrence: int, error: Callable[[], Exception]) -> list[str]:
        hits, struck = [0], []

        def hook(name: str) -> None:
            if name == point:
                hits[0] += 1
                if hits[0] == occurrence:
                    struck.append(name)
                    raise error()

        crashpoints.install(hook)
        return struck

    yield install
    crashpoints.install(None)


async def run_job(tmp_path: Path, server: FakeLLMServer, expect: Expect) -> None:
    runtime = await Runtime.start(crash_settings(tmp_path, server.url))
    try:
        await runtime.submit(SPEC, job_id="job1")
        await asyncio.wait_for(runtime.wait("job1"), timeout=120)
        crashpoints.install(None)
        await check_job(runtime, "job1", server, expect)
    finally:
        await runtime.stop()


def expected(point: str, transient: bool) -> Expect:
    if transient:  # the step runs again and the job ends as without the error
        # A paid answer whose recording failed is kept and stored by the retry: none is lost.
        return Expect(in_flight_left=int(point == "llm_call.reserved"))
    return Expect(
        # After its end was stored, an error cannot end the job a second time.
        final=None if point == "finish_job.end" else ProjectStatus.SYSTEM_FAILURE,
        started=point not in ("begin_job.start", "begin_job.in_transaction"),
        in_flight_left=int(point in IN_FLIGHT),
        answers_lost=int(point == "llm_call.answered"),
    )


@pytest.mark.parametrize("transient", [True, False], ids=["transient", "permanent"])
@pytest.mark.parametrize(("point", "occurrence"), FAULTS, ids=FAULT_IDS)
async def test_a_database_error_at_the_point_is_retried_or_ends_the_job_visibly(
    point: str,
    occurrence: int,
    transient: bool,
    server: FakeLLMServer,
    tmp_path: Path,
    strike: Callable[..., list[str]],
) -> None:
    server.bill.clear()
    struck = strike(point, occurrence, locked if transient else corrupt)
    await run_job(tmp_path, server, expected(point, transient))
    assert struck == [point]


@pytest.mark.parametrize("transient", [True, False], ids=["transient", "permanent"])
@pytest.mark.parametrize(("point", "occurrence"), REVIEW_FAULTS)
async def test_a_database_error_while_stopping_for_review_is_retried_or_ends_visibly(
    point: str,
    occurrence: int,
    transient: bool,
    server: FakeLLMServer,
    tmp_path: Path,
    strike: Callable[..., list[str]],
) -> None:
    server.bill.clear()
    struck = strike(point, occurrence, locked if transient else corrupt)
    runtime = await Runtime.start(crash_settings(tmp_path, server.url))
    try:
        await runtime.submit(SPEC.model_copy(update={"review": True}), job_id="job1")
        await asyncio.wait_for(runtime.wait("job1"), timeout=120)
        crashpoints.install(None)
        job = await runtime.store.get_job("job1")
        stored = await runtime.store.read_events("job1")
    finally:
        await runtime.stop()
    assert struck == [point]
    assert [e.id for e in stored] == list(range(1, len(stored) + 1))
    events = [e.event for e in stored]
    statuses = [e.status for e in events if isinstance(e, StatusEvent)]
    plans = [type(e) for e in events].count(PlanEvent)
    if transient:  # the step ran again: the job awaits review, told once
        assert job.status is JobStatus.AWAITING_REVIEW and statuses[-1] is job.status
        assert statuses.count(JobStatus.AWAITING_REVIEW) == 1 and plans == 1
        assert DoneEvent not in [type(e) for e in events]
    else:  # it ended visibly, never "awaiting review" with a history that does not say so
        assert job.final_status is ProjectStatus.SYSTEM_FAILURE
        assert JobStatus.AWAITING_REVIEW not in statuses and plans == 0
        assert isinstance(events[-1], DoneEvent)
    assert len(server.bill) == 1  # the plan's call, paid once
