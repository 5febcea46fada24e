"""The store against real databases: a SQLite file, and PostgreSQL (marked `postgres`)."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import create_async_engine
from store_fixtures import T0, call, new_job, pg_database, plan, spec, store, store_url

import orchestrator.store
from orchestrator.domain import (
    IterationRecord,
    JobStatus,
    ProjectStatus,
    TaskStatus,
    ValidatorResult,
)
from orchestrator.errors import (
    BudgetExceeded,
    InvalidInput,
    JobConflict,
    JobNotFound,
    TaskNotFound,
)
from orchestrator.events import LogEvent
from orchestrator.store import Store, metadata
from orchestrator.store._engine import alembic_config, async_url
from orchestrator.store._jobs import list_query

__all__ = ["pg_database", "store", "store_url"]  # fixtures, used by name

# --- open, URLs, migrations ----------------------------------------------------------------


def test_async_url_pins_async_drivers() -> None:
    assert async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(InvalidInput):
        async_url("mysql://u@h/db")
    with pytest.raises(InvalidInput):
        async_url("not a url")


def test_exports_are_sorted() -> None:
    assert orchestrator.store.__all__ == sorted(orchestrator.store.__all__)


async def test_open_sqlite_makes_dir_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "orch.db"
    store = await Store.open(f"sqlite:///{path}")
    await new_job(store)
    await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("SELECT job_id FROM jobs").fetchall() == [("job00001",)]


async def test_concurrent_opens_migrate_once(store_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(store_url) for _ in range(4)))
    try:
        await new_job(stores[0])
        assert (await stores[3].get_job("job00001")).job_id == "job00001"
    finally:
        for s in stores:
            await s.close()


def _schema_diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_match_tables(store_url: str) -> None:
    engine = create_async_engine(store_url)
    try:
        # Without migrations the comparison sees every table missing: it can fail.
        await (await Store.open(store_url, migrate=False)).close()
        async with engine.connect() as conn:
            assert len(await conn.run_sync(_schema_diff)) >= len(metadata.tables)
        await (await Store.open(store_url)).close()
        async with engine.connect() as conn:
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_migration_0012_counts_the_money_of_existing_jobs_in_units(store_url: str) -> None:
    store = await Store.open(store_url)
    try:
        job = await new_job(store, budget_usd=1.0)
        await store.reserve_call(call(job, attempt=0), Decimal("0.3"))
    finally:
        await store.close()
    # Back to the schema before the units, with a spend of 10 places written in dollars.
    engine = create_async_engine(store_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0011"))
            await conn.execute(sql("UPDATE jobs SET total_cost = 0.1234567891"))
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
    finally:
        await engine.dispose()
    store = await Store.open(store_url)
    try:
        money = await store.job_budget(job)
        assert (money.spent_usd, money.reserved_usd) == (Decimal("0.1234567891"), Decimal("0.3"))
        rest = Decimal("0.5765432109")  # exactly what is left: it fits, a unit more does not
        with pytest.raises(BudgetExceeded):
            await store.reserve_call(call(job, attempt=1), rest + Decimal("1e-10"))
        assert (await store.reserve_call(call(job, attempt=1), rest)).available_usd == 0
    finally:
        await store.close()


async def test_list_query_uses_created_at_index(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/q.db"
    await (await Store.open(url)).close()
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            for status in (None, JobStatus.DONE):
                sql = str(
                    list_query(status)
                    .limit(50)
                    .compile(engine, compile_kwargs={"literal_binds": True})
                )
                steps = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()
                detail = " ".join(str(row[-1]) for row in steps)
                assert "USING INDEX ix_jobs_" in detail, detail
                assert "TEMP B-TREE" not in detail, detail  # no sort of the whole table
    finally:
        await engine.dispose()


# --- jobs ----------------------------------------------------------------------------------


async def test_job_round_trip(store: Store) -> None:
    s = spec("Write a parser", success_criteria="parses", budget_usd=2.5, concurrency=4)
    created = await store.create_job(job_id="abcd1234", spec=s, simulated=True, now=T0)
    got = await store.get_job("abcd1234")
    assert got == created
    assert (got.spec, got.status, got.final_status, got.simulated) == (
        s,
        JobStatus.PENDING,
        None,
        True,
    )
    assert (got.created_at, got.updated_at, got.attempt, got.task_count) == (T0, T0, 0, 0)
    with pytest.raises(JobConflict):
        await store.create_job(job_id="abcd1234", spec=s, simulated=False, now=T0)
    with pytest.raises(InvalidInput):
        await store.create_job(job_id="toolong123", spec=s, simulated=False, now=T0)


async def test_unknown_job_raises_everywhere(store: Store) -> None:
    missing = "nope0000"
    attempts = [
        store.get_job(missing),
        store.set_job_status(missing, status=JobStatus.RUNNING, now=T0),
        store.set_job_fields(missing, total_cost=1.0, now=T0),
        store.set_job_fields(missing, budget_usd=1.0, now=T0),
        store.delete_job(missing),
        store.save_plan(missing, plan(missing)),
        store.append_events(missing, [LogEvent(msg="x", ts=T0)]),
        store.last_event_id(missing),
        store.record_call(call(missing)),
        store.save_artifact(missing, "a.txt", b"x", now=T0),
        store.read_artifact(missing, "a.txt"),
    ]
    for attempt in attempts:
        with pytest.raises(JobNotFound):
            await attempt


async def test_list_jobs_filters_pages_and_counts(store: Store) -> None:
    descriptions = ["Build a CLI", "build a WEB app", "Write docs", "100% coverage", "A_B"]
    for i, text in enumerate(descriptions):
        await store.create_job(job_id=f"j{i}", spec=spec(text), simulated=False, now=T0 + i)
    await store.set_job_status("j1", status=JobStatus.DONE, now=T0 + 9)
    await store.set_job_status("j3", status=JobStatus.DONE, now=T0 + 9)

    page, total = await store.list_jobs()
    assert [j.job_id for j in page] == ["j4", "j3", "j2", "j1", "j0"] and total == 5
    page, total = await store.list_jobs(limit=2, offset=1)
    assert [j.job_id for j in page] == ["j3", "j2"] and total == 5
    page, total = await store.list_jobs(status=JobStatus.DONE)
    assert [j.job_id for j in page] == ["j3", "j1"] and total == 2
    page, total = await store.list_jobs(q="BUILD")
    assert [j.job_id for j in page] == ["j1", "j0"] and total == 2
    page, total = await store.list_jobs(q="build", status=JobStatus.PENDING)
    assert [j.job_id for j in page] == ["j0"] and total == 1
    # LIKE wildcards in the search text are literal characters.
    assert [j.job_id for j in (await store.list_jobs(q="0%"))[0]] == ["j3"]
    assert [j.job_id for j in (await store.list_jobs(q="a_b"))[0]] == ["j4"]
    assert await store.list_jobs(q="zzz") == ([], 0)
    assert await store.list_jobs(limit=0) == ([], 5)
    with pytest.raises(InvalidInput):
        await store.list_jobs(offset=-1)


async def test_list_jobs_same_created_at_pages_stably(store: Store) -> None:
    for i in range(6):
        await store.create_job(job_id=f"s{i}", spec=spec(), simulated=False, now=T0)
    pages = [(await store.list_jobs(limit=2, offset=o))[0] for o in (0, 2, 4)]
    assert [j.job_id for p in pages for j in p] == [f"s{i}" for i in range(5, -1, -1)]


async def test_set_job_status_reports_changes(store: Store) -> None:
    job = await new_job(store)
    assert await store.set_job_status(job, status=JobStatus.RUNNING, now=T0 + 1)
    assert not await store.set_job_status(job, status=JobStatus.RUNNING, now=T0 + 2)
    assert (await store.get_job(job)).updated_at == T0 + 1  # an unchanged row keeps its time
    failed, budget = JobStatus.FAILED, ProjectStatus.BUDGET_EXHAUSTED
    assert await store.set_job_status(
        job, status=failed, final_status=budget, error="no money", now=T0 + 3
    )
    assert not await store.set_job_status(
        job, status=failed, final_status=budget, error="no money", now=T0 + 4
    )
    # Setting a status sets all three: here the error is cleared.
    assert await store.set_job_status(job, status=failed, final_status=budget, now=T0 + 5)
    got = await store.get_job(job)
    assert (got.status, got.final_status, got.error) == (
        JobStatus.FAILED,
        ProjectStatus.BUDGET_EXHAUSTED,
        "",
    )
    assert await store.set_job_status(job, status=JobStatus.RUNNING, now=T0 + 6)
    assert (await store.get_job(job)).final_status is None


async def test_stopped_among_finds_cancelled_and_deleted_jobs(store: Store) -> None:
    going, cancelled, deleted = [await new_job(store, f"job0000{n}") for n in range(3)]
    await store.set_job_status(cancelled, status=JobStatus.CANCELLED, now=T0 + 1)
    await store.delete_job(deleted)
    assert await store.stopped_among([going, cancelled, deleted]) == {cancelled, deleted}
    assert await store.stopped_among([going]) == set()
    assert await store.stopped_among([]) == set()


async def test_set_job_fields(store: Store) -> None:
    job = await new_job(store, budget_usd=1.0)
    await store.set_job_fields(job, total_cost=0.123456789, task_count=4, now=T0 + 1)
    await store.set_job_fields(job, budget_usd=3.0, time_limit_s=60, now=T0 + 2)
    got = await store.get_job(job)
    assert (got.total_cost, got.task_count, got.spec.budget_usd, got.spec.time_limit_s) == (
        0.123456789,
        4,
        3.0,
        60,
    )
    assert got.updated_at == T0 + 2
    with pytest.raises(InvalidInput):
        await store.set_job_fields(job, budget_usd=0, now=T0)
    with pytest.raises(InvalidInput):
        await store.set_job_fields(job, time_limit_s=-1, now=T0)
    assert (await store.get_job(job)).spec.budget_usd == 3.0


# --- tasks and iterations ------------------------------------------------------------------


async def test_save_plan_once_in_plan_order(store: Store) -> None:
    job = await new_job(store)
    tasks = plan(job, 4)
    assert await store.save_plan(job, tasks)
    assert not await store.save_plan(job, plan(job, 2))
    assert await store.list_tasks(job) == tasks
    assert (await store.get_job(job)).task_count == 4
    assert await store.get_task(job, "t2") == tasks[2]
    with pytest.raises(TaskNotFound):
        await store.get_task(job, "t9")
    with pytest.raises(InvalidInput):
        await store.save_plan(job, [])
    with pytest.raises(InvalidInput):
        await store.save_plan(job, plan("other"))


async def test_concurrent_save_plan_stores_one_plan(store: Store) -> None:
    job = await new_job(store)
    results = await asyncio.gather(*(store.save_plan(job, plan(job, n)) for n in range(1, 6)))
    assert sorted(results) == [False] * 4 + [True]
    winner = results.index(True) + 1
    assert len(await store.list_tasks(job)) == winner == (await store.get_job(job)).task_count


async def test_update_task_reports_only_real_changes(store: Store) -> None:
    job = await new_job(store)
    await store.save_plan(job, plan(job))
    running = await store.update_task(job, "t1", status=TaskStatus.RUNNING, now=T0)
    assert running is not None and running.status is TaskStatus.RUNNING
    assert await store.update_task(job, "t1", status=TaskStatus.RUNNING, now=T0) is None
    done = await store.update_task(
        job,
        "t1",
        status=TaskStatus.COMPLETED,
        score=0.91,
        model="gpt-4o",
        cost_usd=0.0123,
        iterations=2,
        output="print(1)",
        reason="ok",
        now=T0,
    )
    assert done is not None
    assert (done.score, done.model, done.cost_usd, done.iterations, done.output) == (
        0.91,
        "gpt-4o",
        0.0123,
        2,
        "print(1)",
    )
    same = await store.update_task(
        job, "t1", status=TaskStatus.COMPLETED, score=0.91, cost_usd=0.0123, iterations=2, now=T0
    )
    assert same is None
    costlier = await store.update_task(
        job, "t1", status=TaskStatus.COMPLETED, cost_usd=0.02, now=T0
    )
    assert costlier is not None and costlier.cost_usd == 0.02
    changed = await store.update_task(job, "t1", status=TaskStatus.COMPLETED, score=0.92, now=T0)
    assert changed is not None and changed.score == 0.92 and changed.output == "print(1)"
    assert await store.get_task(job, "t1") == changed
    with pytest.raises(TaskNotFound):
        await store.update_task(job, "t9", status=TaskStatus.RUNNING, now=T0)


async def test_reset_unfinished_tasks(store: Store) -> None:
    job = await new_job(store)
    await store.save_plan(job, plan(job, 5))  # plan order: t5 t4 t3 t2 t1
    statuses = {
        "t5": TaskStatus.COMPLETED,
        "t4": TaskStatus.FAILED,
        "t3": TaskStatus.DEGRADED,
        "t2": TaskStatus.RUNNING,
    }
    for task_id, status in statuses.items():
        await store.update_task(job, task_id, status=status, reason="why", now=T0)
    assert await store.reset_unfinished_tasks(job, now=T0 + 1) == ["t4", "t3", "t2"]
    assert [t.status for t in await store.list_tasks(job)] == [
        TaskStatus.COMPLETED,
        TaskStatus.PENDING,
        TaskStatus.PENDING,
        TaskStatus.PENDING,
        TaskStatus.PENDING,
    ]
    assert await store.reset_unfinished_tasks(job, now=T0 + 2) == []


async def test_save_iteration_once(store: Store) -> None:
    job = await new_job(store)
    await store.save_plan(job, plan(job))
    first = IterationRecord(
        iteration=1,
        model="gpt-4o",
        output="v1",
        critique="meh",
        critic_model="claude-haiku-4-5",
        validators=[ValidatorResult(name="python_syntax", passed=False, detail="line 1")],
        scores=[0.5, 0.6],
        score=0.5,
        input_tokens=10,
        output_tokens=20,
        cost_usd=0.0001234567,
        latency_ms=12.5,
    )
    second = first.model_copy(update={"iteration": 2, "output": "v2", "score": 0.9})
    assert await store.save_iteration(job, "t1", second)
    assert await store.save_iteration(job, "t1", first)
    assert not await store.save_iteration(job, "t1", first.model_copy(update={"output": "x"}))
    assert await store.list_iterations(job, "t1") == [first, second]
    assert await store.list_iterations(job, "t2") == []
    with pytest.raises(TaskNotFound):
        await store.save_iteration(job, "t9", first)
