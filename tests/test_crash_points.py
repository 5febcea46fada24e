"""A crash at every step boundary: the process is killed there (SIGKILL), and the job is
recovered by another process on the same databases.

Each durable step, and each write inside it, is a named point (orchestrator/crashpoints.py);
`FAULTS` (fault_scenario.py) lists every one by name, and the first test checks that list
against the code, so a new step or a new point without a crash case fails. For each case a
child process (crash_child.py) runs the scenario's job against a fake wire server that
keeps the provider's bill, and kills itself the n-th time it reaches the point. This
process then starts the runtime on the same files, DBOS recovers the job, and
`check_job` judges it: it ended, its history ends with `status` and `done` with no gap
or repeat, every iteration counted once, and nothing the provider billed and we recorded
was paid twice.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import crash_child
import pytest
from dbos import DBOS
from fake_llm_servers import FakeLLMServer
from fault_scenario import (
    APPROVE_FAULTS,
    ENDED_WELL,
    FAULT_IDS,
    FAULTS,
    IN_FLIGHT,
    REVIEW_FAULTS,
    WARNING_FAULTS,
    Expect,
    answer,
    check_approved_run,
    check_bill,
    check_job,
)
from fix_scenario import FIX_FAULTS, check_fixed_job, child_main, fix_settings
from webhook_receiver import receiver

from orchestrator import crashpoints
from orchestrator.domain import JobStatus, ProjectStatus, Role
from orchestrator.events import DoneEvent, LogEvent, PlanEvent, StatusEvent
from orchestrator.runtime import Runtime
from orchestrator.runtime.rejects import Rejecter, RejectSteps
from orchestrator.runtime.review import Reviews
from orchestrator.runtime.steps import JobSteps
from orchestrator.runtime.tree_steps import TreeSteps
from orchestrator.runtime.workflows import JobRunner

# Children are forked from a server process that imported crash_child (and so the app) once.
CHILDREN = multiprocessing.get_context("forkserver")
CHILDREN.set_forkserver_preload(["crash_child"])


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(answer, api_key=crash_child.KEY) as fake:
        yield fake


# Reached only by the reject of a job awaiting review (its workflow: leave review, end, and
# start job.finished); its end is `finish_job`'s, crashed at too.
REJECT_FAULTS = [
    ("reject_plan.start", 1),
    ("reject_plan.in_transaction", 1),
    ("reject_plan.end", 1),
    ("finish_job.start", 1),
    ("finish_job.in_transaction", 1),
    ("finish_job.end", 1),
    ("announce_rejected.start", 1),
    ("announce_rejected.end", 1),
]


def test_the_points_listed_are_every_point_in_the_code() -> None:
    listed = FAULTS + REVIEW_FAULTS + WARNING_FAULTS + APPROVE_FAULTS + REJECT_FAULTS
    listed += FIX_FAULTS
    assert {point for point, _ in listed} == crashpoints.POINTS
    # Every durable step of the job workflows is marked, so it has points; the recorded
    # wait for a task workflow's end writes nothing of ours.
    dbos_steps = {
        name
        for runner in (JobRunner, Rejecter)
        for name, member in vars(runner).items()
        if hasattr(member, "dbos_function_name") and not name.endswith("_workflow")
    }
    marked = (
        crashpoints.step_names(JobSteps)
        | crashpoints.step_names(Reviews)
        | crashpoints.step_names(RejectSteps)
        | crashpoints.step_names(TreeSteps)
    )
    assert dbos_steps - {"first_finished"} == marked - {"approve"}  # an API call, not a step
    assert {point.split(".")[0] for point in crashpoints.POINTS} == marked


def run_child(
    tmp_path: Path,
    server: FakeLLMServer,
    point: str,
    n: int,
    review: bool = False,
    approve: bool = False,
) -> None:
    """Run the job in a child process that dies at the n-th `point`."""
    die_in_child(
        tmp_path, crash_child.main, tmp_path, server.url, "job1", point, n, review, approve
    )


def die_in_child(tmp_path: Path, target: Callable[..., None], *args: object) -> None:
    """Run `target(*args)` in a child process, which must die at its crash point (its log,
    which it writes to tmp_path/child.log, tells why not)."""
    child = CHILDREN.Process(target=target, args=args)
    child.start()
    child.join(timeout=120)
    if child.exitcode is None:
        child.kill()
    log = (tmp_path / "child.log").read_text(errors="replace")
    assert child.exitcode == -9, f"the point was never reached:\n{log[-3000:]}"


@pytest.mark.slow
@pytest.mark.parametrize(("point", "occurrence"), FAULTS, ids=FAULT_IDS)
def test_a_crash_at_the_point_loses_nothing_and_pays_nothing_twice(
    point: str, occurrence: int, server: FakeLLMServer, tmp_path: Path
) -> None:
    server.bill.clear()
    run_child(tmp_path, server, point, occurrence)
    expect = Expect(
        in_flight_left=int(point in IN_FLIGHT), answers_lost=int(point == "llm_call.answered")
    )

    async def recover() -> None:
        runtime = await Runtime.start(crash_child.crash_settings(tmp_path, server.url))
        try:
            await asyncio.wait_for(runtime.wait("job1"), timeout=120)
            await check_job(runtime, "job1", server, expect)
        finally:
            await runtime.stop()

    asyncio.run(recover())


@pytest.mark.slow
@pytest.mark.parametrize(("point", "occurrence"), REVIEW_FAULTS)
def test_a_crash_while_stopping_for_review_leaves_the_job_awaiting_it_once(
    point: str, occurrence: int, server: FakeLLMServer, tmp_path: Path
) -> None:
    server.bill.clear()
    run_child(tmp_path, server, point, occurrence, review=True)

    async def recover() -> None:
        runtime = await Runtime.start(crash_child.crash_settings(tmp_path, server.url))
        try:
            assert await asyncio.wait_for(runtime.wait("job1"), timeout=120) is None
            job = await runtime.store.get_job("job1")
            stored = await runtime.store.read_events("job1")
        finally:
            await runtime.stop()
        assert job.status is JobStatus.AWAITING_REVIEW
        assert [e.id for e in stored] == list(range(1, len(stored) + 1))
        events = [e.event for e in stored]
        statuses = [e.status for e in events if isinstance(e, StatusEvent)]
        assert statuses.count(JobStatus.AWAITING_REVIEW) == 1
        assert statuses[-1] is JobStatus.AWAITING_REVIEW
        assert [type(e) for e in events].count(PlanEvent) == 1
        assert DoneEvent not in [type(e) for e in events]
        assert len(server.bill) == 1  # the plan's call, paid once

    asyncio.run(recover())


@pytest.mark.slow
@pytest.mark.parametrize(("point", "occurrence"), APPROVE_FAULTS)
def test_a_crash_while_approving_leaves_the_job_awaiting_review_or_runs_it(
    point: str, occurrence: int, server: FakeLLMServer, tmp_path: Path
) -> None:
    """Killed before the approval is stored, the job still awaits review; killed once it is
    stored but before its run started, the next runtime starts the run (nobody resumes it)."""
    server.bill.clear()
    run_child(tmp_path, server, point, occurrence, approve=True)

    async def recover() -> None:
        runtime = await Runtime.start(crash_child.crash_settings(tmp_path, server.url))
        try:
            job = await runtime.store.get_job("job1")
            if point == "approve.end":
                assert job.status is not JobStatus.AWAITING_REVIEW
            else:
                assert job.status is JobStatus.AWAITING_REVIEW
                await runtime.approve("job1")
            deadline = time.monotonic() + 120
            while not (await runtime.store.get_job("job1")).status.is_terminal():
                assert time.monotonic() < deadline, "the approved job never ran"
                await asyncio.sleep(0.1)
            assert (await runtime.store.job_forecast("job1")) is not None  # the one approved
            tasks = {t.task_id: t.status for t in await runtime.store.list_tasks("job1")}
            stored = await runtime.store.read_events("job1")
            await check_bill(runtime, ["job1"], server, Expect())
        finally:
            await runtime.stop()
        assert tasks == ENDED_WELL
        check_approved_run(stored)

    asyncio.run(recover())


@pytest.mark.slow
@pytest.mark.parametrize(("point", "occurrence"), REJECT_FAULTS)
def test_a_crash_while_rejecting_ends_the_job_cancelled_once(
    point: str, occurrence: int, server: FakeLLMServer, tmp_path: Path
) -> None:
    """Killed anywhere in a reject, the next runtime finishes it: CANCELLED once, one final
    `status` and one `done`, `job.finished` sent once, the planning the only spend."""
    server.bill.clear()
    with receiver() as hook:
        die_in_child(
            tmp_path, crash_child.reject_main, tmp_path, server.url, hook.url, point, occurrence
        )

        async def recover() -> None:
            settings = crash_child.hooked_settings(tmp_path, server.url, hook.url)
            runtime = await Runtime.start(settings)
            try:
                deadline = time.monotonic() + 120
                while (await runtime.store.get_job("job1")).final_status is None or (
                    await DBOS.list_workflows_async(
                        workflow_id_prefix="job1", status=["PENDING", "ENQUEUED"]
                    )
                ):
                    assert time.monotonic() < deadline, "the reject was never finished"
                    await asyncio.sleep(0.05)
                job = await runtime.store.get_job("job1")
                stored = await runtime.store.read_events("job1")
                await check_bill(runtime, ["job1"], server, Expect())
            finally:
                await runtime.stop()
            assert (job.status, job.final_status) == (JobStatus.CANCELLED, ProjectStatus.CANCELLED)
            assert [e.id for e in stored] == list(range(1, len(stored) + 1))
            events = [e.event for e in stored]
            statuses = [e.status for e in events if isinstance(e, StatusEvent)]
            assert statuses == [
                JobStatus.PENDING,
                JobStatus.RUNNING,
                JobStatus.AWAITING_REVIEW,
                JobStatus.CANCELLED,
            ]
            assert isinstance(events[-1], DoneEvent)
            assert events[-1].status is ProjectStatus.CANCELLED
            assert [type(e) for e in events].count(DoneEvent) == 1
            said = [e.msg for e in events if isinstance(e, LogEvent)]
            assert said.count("plan rejected: no task runs") == 1

        asyncio.run(recover())
        sent: dict[str, set[str]] = {}
        for request in hook.requests:  # a repeat of an attempt keeps its webhook-id
            kind = json.loads(request.body)["type"]
            sent.setdefault(kind, set()).add(request.headers["webhook-id"])
    assert {kind: len(ids) for kind, ids in sent.items()} == {
        "job.awaiting_review": 1,
        "job.finished": 1,
    }
    assert len(server.bill) == 1  # the plan's call, paid once: nothing ran


@pytest.mark.slow
@pytest.mark.parametrize(("point", "occurrence"), FIX_FAULTS)
def test_a_crash_in_acceptance_or_a_fix_round_commits_once_and_pays_once(
    point: str, occurrence: int, tmp_path: Path
) -> None:
    """The simulator's hello job with a bug its tests catch, killed at each point of the
    tree's acceptance and of its fix round: recovered, it ends SUCCESS with one fix commit,
    each round told once, and no simulated call made twice."""
    child = CHILDREN.Process(target=child_main, args=(tmp_path, "job1", point, occurrence))
    child.start()
    child.join(timeout=120)
    if child.exitcode is None:
        child.kill()
    log = (tmp_path / "child.log").read_text(errors="replace")
    assert child.exitcode == -9, f"the point was never reached:\n{log[-3000:]}"

    async def recover() -> None:
        runtime = await Runtime.start(fix_settings(tmp_path))
        try:
            await asyncio.wait_for(runtime.wait("job1"), timeout=120)
            lost = [("fix_1", Role.GENERATE)] if point == "llm_call.answered" else []
            await check_fixed_job(runtime, "job1", tmp_path, lost)
        finally:
            await runtime.stop()

    asyncio.run(recover())
