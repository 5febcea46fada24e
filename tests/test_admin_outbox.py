"""Creating and resuming a job store the status and the events telling of it together.

The fault is real: a SQLite trigger makes every insert into `events` fail, as a full disk or
a lost connection would at that moment. Whatever fails, the job's stored status and the
history its stream replays never disagree.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import StartRuntime
from fakes import ScriptedClient, plan_task
from sqlalchemy.exc import IntegrityError

from orchestrator.config import Settings
from orchestrator.domain import JobSpec, JobStatus, ProjectStatus
from orchestrator.errors import JobNotFound
from orchestrator.events import DoneEvent, StatusEvent
from orchestrator.providers import ClientSet
from orchestrator.store import Store


def _database(settings: Settings) -> Path:
    return Path(settings.store_url.split("///", 1)[1])


def _fail_event_writes(settings: Settings, on: bool) -> None:
    with sqlite3.connect(_database(settings)) as db:
        if on:
            db.execute(
                "create trigger no_events before insert on events "
                "begin select raise(abort, 'injected: the disk is full'); end"
            )
        else:
            db.execute("drop trigger no_events")


async def _last_status(store: Store, job_id: str) -> JobStatus | None:
    events = [e.event for e in await store.read_events(job_id)]
    said = [e.status for e in events if isinstance(e, StatusEvent)]
    return said[-1] if said else None


async def test_a_job_whose_first_events_cannot_be_stored_is_not_created(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    client = ScriptedClient(settings.catalog, [plan_task("a")])
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    _fail_event_writes(settings, on=True)
    with pytest.raises(IntegrityError):
        await runtime.submit(JobSpec(project_description="x"), job_id="atomic01")
    with pytest.raises(JobNotFound):  # not a job without a history, nor one that never runs
        await runtime.store.get_job("atomic01")
    assert client.seen == []


async def test_a_resume_whose_events_cannot_be_stored_leaves_the_job_as_it_was(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    client = ScriptedClient(settings.catalog, [plan_task("a")], fail_generate=frozenset({"a"}))
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    job_id = await runtime.submit(JobSpec(project_description="x"))
    ended = await runtime.wait(job_id)
    assert ended is not ProjectStatus.SUCCESS  # something left to resume
    before = await runtime.store.get_job(job_id)

    _fail_event_writes(settings, on=True)
    with pytest.raises(IntegrityError):
        await runtime.resume(job_id)
    job = await runtime.store.get_job(job_id)
    assert job.status is before.status  # not "pending" with a history that says it ended
    assert await _last_status(runtime.store, job_id) is job.status

    _fail_event_writes(settings, on=False)
    await runtime.resume(job_id)  # nothing was left half done: the next resume runs
    await runtime.wait(job_id)
    events = [e.event for e in await runtime.store.read_events(job_id)]
    assert isinstance(events[-1], DoneEvent)
    said = [e.status for e in events if isinstance(e, StatusEvent)]
    assert said.count(JobStatus.PENDING) == 2  # created, then the resume that ran
