"""The store's records of what jobs did (events, LLM calls, artifacts) and job deletion,
against real databases: a SQLite file, and PostgreSQL (marked `postgres`)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from store_fixtures import T0, call, new_job, pg_database, plan, store, store_url

from orchestrator.domain import (
    CallOutcome,
    CallRecord,
    IterationRecord,
    ProjectStatus,
    Role,
    TaskStatus,
)
from orchestrator.errors import InvalidInput, JobNotFound
from orchestrator.events import DoneEvent, LogEvent, TaskEvent
from orchestrator.store import Store, WebhookAttempt, metadata

__all__ = ["pg_database", "store", "store_url"]  # fixtures, used by name

# --- events --------------------------------------------------------------------------------


async def test_events_ids_and_replay(store: Store) -> None:
    job = await new_job(store)
    other = await new_job(store, "job00002")
    assert await store.last_event_id(job) == 0
    assert await store.append_events(job, []) == []
    log = LogEvent(msg="hello", ts=T0)
    task = TaskEvent(task_id="t1", status=TaskStatus.COMPLETED, score=0.9, cost=0.01)
    stored = await store.append_events(job, [log, task])
    assert [(e.id, e.event) for e in stored] == [(1, log), (2, task)]
    await store.append_events(other, [LogEvent(msg="elsewhere", ts=T0)])
    done = DoneEvent(status=ProjectStatus.SUCCESS, total_cost=0.01)
    assert [e.id for e in await store.append_events(job, [done])] == [3]
    assert await store.read_events(job) == [*stored, *(await store.read_events(job, after=2))]
    assert [e.event for e in await store.read_events(job, after=1)] == [task, done]
    assert [e.id for e in await store.read_events(job, after=0, limit=2)] == [1, 2]
    assert await store.read_events(job, after=3) == []
    assert await store.last_event_id(job) == 3
    assert [e.id for e in await store.read_events(other)] == [1]


async def test_events_of_a_step_are_told_once_however_often_it_runs(store_url: str) -> None:
    # Two stores (two pools) at once, then a third time: the step ran again after a crash.
    stores = [await Store.open(store_url) for _ in range(2)]
    try:
        job = await new_job(stores[0])
        told = [LogEvent(msg="answered", ts=T0), LogEvent(msg="cost", ts=T0)]
        firsts = await asyncio.gather(*(s.append_events_once(job, "wf#3", told) for s in stores))
        assert sorted(len(f) for f in firsts) == [0, 2]
        assert await stores[0].append_events_once(job, "wf#3", told) == []
        assert await stores[0].last_event_id(job) == 2  # the refused append took no ids
        other = await stores[1].append_events_once(job, "wf#4", told[:1])
        assert [(e.id, e.event) for e in other] == [(3, told[0])]
        assert [e.event for e in await stores[0].read_events(job)] == [*told, told[0]]
        with pytest.raises(JobNotFound):
            await stores[0].append_events_once("job0nope", "wf#3", told)
    finally:
        for s in stores:
            await s.close()


async def test_concurrent_appenders_get_gap_free_ids(store_url: str) -> None:
    # Several stores (several pools) so that writers really overlap on PostgreSQL.
    stores = [await Store.open(store_url) for _ in range(4)]
    try:
        job = await new_job(stores[0])
        batches = [
            [LogEvent(msg=f"{writer}:{i}", ts=T0) for i in range(1 + writer % 4)]
            for writer in range(20)
        ]
        results = await asyncio.gather(
            *(stores[w % 4].append_events(job, batch) for w, batch in enumerate(batches))
        )
        for batch, stored in zip(batches, results, strict=True):
            ids = [e.id for e in stored]
            assert ids == list(range(ids[0], ids[0] + len(batch)))  # each batch consecutive
        expected = sum(len(b) for b in batches)
        everything = await stores[1].read_events(job)
        assert [e.id for e in everything] == list(range(1, expected + 1))
        by_id = {e.id: e.event for stored in results for e in stored}
        assert all(by_id[e.id] == e.event for e in everything)
        assert await stores[2].last_event_id(job) == expected
    finally:
        for s in stores:
            await s.close()


# --- llm calls -----------------------------------------------------------------------------


async def test_record_call_keeps_the_first(store: Store) -> None:
    job = await new_job(store)
    first = call(job)
    await store.record_call(first)
    await store.record_call(call(job, response_text="second", cost_usd=9.0))
    assert await store.list_calls(job_id=job) == [first]
    retry = call(job, attempt=1, model="claude-haiku-4-5", provider="anthropic")
    await store.record_call(retry)
    assert await store.list_calls(job_id=job) == [first, retry]
    assert await store.list_calls(model="claude-haiku-4-5") == [retry]
    assert await store.list_calls(job_id="nope0000") == []


async def test_call_attempts_are_those_of_one_logical_call(store: Store) -> None:
    job = await new_job(store)

    async def attempts(iteration: int = 1, slot: int = 0) -> list[CallRecord]:
        return await store.call_attempts(
            job_id=job, task_id="t1", iteration=iteration, role=Role.GENERATE, slot=slot
        )

    assert await attempts() == []
    ok = call(job, attempt=1)
    await store.record_call(ok)  # recorded out of order: read back by attempt
    failed = call(job, outcome=CallOutcome.RATE_LIMITED, error="429", response_text="")
    await store.record_call(failed)
    other_slot = call(job, slot=1)
    await store.record_call(other_slot)
    assert await attempts() == [failed, ok]
    assert await attempts(slot=1) == [other_slot]
    assert await attempts(iteration=2) == []


async def test_job_spend_is_exact(store: Store) -> None:
    job = await new_job(store)
    other = await new_job(store, "job00002")
    assert await store.job_spend(job) == Decimal(0)
    # 0.1 + 0.2 is not 0.3 in floating point, and many tiny costs drift further.
    costs = [0.1, 0.2] + [0.0000001234] * 300
    for attempt, cost in enumerate(costs):
        await store.record_call(call(job, attempt=attempt, cost_usd=cost))
    await store.record_call(call(other, cost_usd=5.0))
    exact = Decimal("0.3") + 300 * Decimal("0.0000001234")
    assert Decimal(repr(sum(costs))) != exact  # what adding floats would have given
    assert await store.job_spend(job) == exact


# --- artifacts and delete ------------------------------------------------------------------


async def test_artifacts_round_trip(store: Store) -> None:
    job = await new_job(store)
    await store.save_artifact(job, "src/main.py", b"print('hi')\n", now=T0)
    await store.save_artifact(job, "README.md", b"\x00\xffbinary", now=T0)
    await store.save_artifact(job, "src/main.py", b"print('hello')\n", now=T0 + 1)
    assert await store.list_artifacts(job) == [("README.md", 8), ("src/main.py", 15)]
    assert await store.read_artifact(job, "src/main.py") == b"print('hello')\n"
    assert await store.read_artifact(job, "README.md") == b"\x00\xffbinary"
    with pytest.raises(InvalidInput):
        await store.read_artifact(job, "missing.txt")
    for bad in ["", "/etc/passwd", "../up.txt", "a/../b", "a//b", "./a", "C:\\x", "a\\b"]:
        with pytest.raises(InvalidInput):
            await store.save_artifact(job, bad, b"x", now=T0)
        with pytest.raises(InvalidInput):
            await store.read_artifact(job, bad)


async def _row_counts(store_url: str, job_id: str) -> dict[str, int]:
    engine = create_async_engine(store_url)
    try:
        async with engine.connect() as conn:
            return {
                name: (
                    await conn.execute(
                        select(func.count()).select_from(table).where(table.c.job_id == job_id)
                    )
                ).scalar_one()
                for name, table in metadata.tables.items()
                if "job_id" in table.c  # every table of job data
            }
    finally:
        await engine.dispose()


async def test_delete_job_removes_every_child_row(store: Store, store_url: str) -> None:
    async def fill(job: str) -> None:
        await store.save_plan(job, plan(job))
        await store.save_iteration(job, "t1", IterationRecord(iteration=1, model="m", output="o"))
        await store.append_events(job, [LogEvent(msg="x", ts=T0)])
        await store.record_call(call(job))
        await store.save_artifact(job, "a.txt", b"a", now=T0)
        await store.record_webhook_attempt(
            WebhookAttempt(
                job_id=job,
                webhook_id="msg_1",
                event="job.finished",
                url="https://hooks.example.com/in",
                attempt=1,
                status_code=204,
                outcome="delivered",
                error="",
                at=T0,
                next_at=None,
            )
        )

    job, kept = await new_job(store), await new_job(store, "job00002")
    await fill(job)
    await fill(kept)
    assert all((await _row_counts(store_url, job)).values())
    await store.delete_job(job)
    assert set((await _row_counts(store_url, job)).values()) == {0}
    assert all((await _row_counts(store_url, kept)).values())
    with pytest.raises(JobNotFound):
        await store.get_job(job)
    with pytest.raises(JobNotFound):
        await store.delete_job(job)
