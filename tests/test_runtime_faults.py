"""The durable runtime when its database misbehaves, and cancels written by other processes.

A store that fails on purpose is the real Store with one method made to raise: everything
else (DBOS, SQLite, the engine) runs for real.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from conftest import StartRuntime
from fakes import ScriptedClient, plan_task
from sqlalchemy.exc import OperationalError

from orchestrator.config import Settings
from orchestrator.domain import IterationRecord, JobSpec, JobStatus, ProjectStatus, Role
from orchestrator.events import DoneEvent, LogEvent
from orchestrator.providers import ClientSet
from orchestrator.runtime.service import request_cancel
from orchestrator.store import Store, is_transient

TWO_TASKS = [plan_task("a"), plan_task("b", ["a"])]


def locked() -> OperationalError:
    """What SQLAlchemy raises when SQLite's write lock stayed taken past the busy timeout."""
    return OperationalError(
        "INSERT INTO task_iterations ...", {}, sqlite3.OperationalError("database is locked")
    )


class LockedOnceStore(Store):
    """Its first iteration write finds the database locked; later ones go through."""

    failures = 0

    async def save_iteration(
        self, job_id: str, task_id: str, record: IterationRecord, **kw: Any
    ) -> bool:
        if self.failures == 0:
            self.failures += 1
            raise locked()
        return await super().save_iteration(job_id, task_id, record, **kw)


class BrokenStore(Store):
    """Every iteration write fails with an error no retry can cure."""

    async def save_iteration(
        self, job_id: str, task_id: str, record: IterationRecord, **kw: Any
    ) -> bool:
        raise ValueError("iteration rows are unwritable")


async def run_job_on(
    start_runtime: StartRuntime, settings: Settings, store: type[Store]
) -> tuple[Store, str, ProjectStatus]:
    """Run a two-task job with the runtime on a store of class `store`: (store, id, outcome)."""
    opened = await store.open(settings.store_url)
    client = ScriptedClient(settings.catalog, TWO_TASKS)
    runtime = await start_runtime(ClientSet([client], settings.catalog), store=opened)
    job_id = await runtime.submit(JobSpec(project_description="x", concurrency=1))
    return opened, job_id, await runtime.wait(job_id)


def test_database_errors_that_may_pass_are_told_apart() -> None:
    assert is_transient(locked())
    assert not is_transient(ValueError("bad"))


async def test_a_step_that_finds_the_database_locked_runs_again_and_the_job_succeeds(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    store, job_id, outcome = await run_job_on(start_runtime, settings, LockedOnceStore)

    assert outcome is ProjectStatus.SUCCESS
    assert isinstance(store, LockedOnceStore) and store.failures == 1
    iterations = await store.list_iterations(job_id, "a")
    assert [i.iteration for i in iterations] == [1]  # stored once, after the retry
    events = await store.read_events(job_id)
    assert [e.id for e in events] == list(range(1, len(events) + 1))


async def test_a_step_that_keeps_failing_ends_the_job_visibly(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    store, job_id, outcome = await run_job_on(start_runtime, settings, BrokenStore)

    assert outcome is ProjectStatus.SYSTEM_FAILURE
    job = await store.get_job(job_id)
    assert job.status is JobStatus.FAILED and job.final_status is ProjectStatus.SYSTEM_FAILURE
    assert job.error == "internal error (ValueError): iteration rows are unwritable"
    events = [e.event for e in await store.read_events(job_id)]
    assert isinstance(events[-1], DoneEvent)
    assert events[-1].status is ProjectStatus.SYSTEM_FAILURE
    logged = [e.msg for e in events if isinstance(e, LogEvent) and e.level == "ERROR"]
    assert logged == ["job failed: internal error (ValueError): iteration rows are unwritable"]


async def test_one_watcher_stops_only_the_job_another_process_cancelled(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    started, release = asyncio.Semaphore(0), asyncio.Event()

    async def block(task_id: str) -> None:
        started.release()
        await release.wait()

    client = ScriptedClient(settings.catalog, TWO_TASKS, on_generate=block)
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    spec = JobSpec(project_description="x", concurrency=1)
    jobs = [await runtime.submit(spec) for _ in range(3)]
    for _ in jobs:  # every job is generating its first task
        await asyncio.wait_for(started.acquire(), timeout=30)

    async with await Store.open(settings.store_url) as other_process:
        await request_cancel(other_process, jobs[1])
    deadline = time.monotonic() + 30
    while not runtime.runs.is_cancelled(jobs[1]):  # the watcher's poll has seen it
        assert time.monotonic() < deadline, "the cancel was never noticed"
        await asyncio.sleep(0.05)
    release.set()

    finals = [await runtime.wait(job_id) for job_id in jobs]
    assert finals == [ProjectStatus.SUCCESS, ProjectStatus.CANCELLED, ProjectStatus.SUCCESS]
    b_generated = [s for s in client.seen if s.task_id == "b" and s.role is Role.GENERATE]
    assert len(b_generated) == 2  # the cancelled job started no new task


class TaskAUnwritableStore(Store):
    """The iterations of task "a" cannot be written; the other tasks' can."""

    async def save_iteration(
        self, job_id: str, task_id: str, record: IterationRecord, **kw: Any
    ) -> bool:
        if task_id == "a":
            raise ValueError("iteration rows of task a are unwritable")
        return await super().save_iteration(job_id, task_id, record, **kw)


async def test_a_task_that_fails_stops_its_siblings_and_the_job_ends_after_them(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    b_generating, release = asyncio.Event(), asyncio.Event()

    async def block(task_id: str) -> None:
        if task_id == "b":
            b_generating.set()
            await release.wait()

    client = ScriptedClient(settings.catalog, [plan_task("a"), plan_task("b")], on_generate=block)
    store = await TaskAUnwritableStore.open(settings.store_url)
    runtime = await start_runtime(ClientSet([client], settings.catalog), store=store)
    job_id = await runtime.submit(JobSpec(project_description="x", concurrency=2))
    await asyncio.wait_for(b_generating.wait(), timeout=30)
    deadline = time.monotonic() + 30
    while not runtime.runs.is_cancelled(job_id):  # task a failed: the job stops its tasks
        assert time.monotonic() < deadline, "the failure of task a did not stop task b"
        await asyncio.sleep(0.05)
    release.set()

    assert await runtime.wait(job_id) is ProjectStatus.SYSTEM_FAILURE
    assert [s.role for s in client.seen if s.task_id == "b"] == [Role.GENERATE]
    events = [e.event for e in await store.read_events(job_id)]
    assert isinstance(events[-1], DoneEvent)  # the job ended after task b, not before
    assert events[-1].status is ProjectStatus.SYSTEM_FAILURE
