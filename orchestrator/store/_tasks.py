"""Tasks of a job's plan, and the iterations of each task."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from sqlalchemy import RowMapping, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from orchestrator import crashpoints
from orchestrator.domain import IterationRecord, TaskState, TaskStatus, TaskType, ValidatorResult
from orchestrator.errors import InvalidInput, TaskNotFound
from orchestrator.events import JobEvent
from orchestrator.store._base import StoreBase, to_money
from orchestrator.store._fence import hold_run
from orchestrator.store.tables import iterations as iteration_table
from orchestrator.store.tables import jobs
from orchestrator.store.tables import tasks as task_table

# A degraded task runs again on resume: its recorded calls are re-used at no cost, so a
# task cut short by the budget or the clock continues where it stopped.
_KEEP_ON_RESUME = (TaskStatus.COMPLETED.value,)

# The events that tell of a task's new state, stored in the transaction that wrote it.
Announce = Callable[[TaskState], Sequence[JobEvent]]


def task_from_row(row: RowMapping) -> TaskState:
    return TaskState(
        job_id=row["job_id"],
        task_id=row["task_id"],
        type=TaskType(row["type"]),
        prompt=row["prompt"],
        title=row["title"],
        dependencies=row["dependencies"],
        acceptance_threshold=row["acceptance_threshold"],
        pinned_model=row["pinned_model"],
        files=row["files"] or [],
        status=TaskStatus(row["status"]),
        score=row["score"],
        model=row["model"],
        cost_usd=float(row["cost_usd"]),
        iterations=row["iterations"],
        output=row["output"],
        reason=row["reason"],
        self_evaluated=row["self_evaluated"],
    )


def iteration_from_row(row: RowMapping) -> IterationRecord:
    return IterationRecord(
        iteration=row["iteration"],
        model=row["model"],
        output=row["output"],
        critique=row["critique"],
        critic_model=row["critic_model"],
        validators=[ValidatorResult.model_validate(v) for v in row["validators"]],
        scores=row["scores"],
        score=row["score"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cost_usd=float(row["cost_usd"]),
        latency_ms=row["latency_ms"],
        self_evaluated=row["self_evaluated"],
    )


def plan_rows(tasks: list[TaskState], now: float) -> list[dict[str, object]]:
    """The rows of a plan's tasks, in plan order."""
    return [
        {
            **t.model_dump(mode="json", exclude={"cost_usd"}),
            "cost_usd": to_money(t.cost_usd),
            "position": position,
            "updated_at": now,
        }
        for position, t in enumerate(tasks)
    ]


class TasksRepo(StoreBase):
    async def save_plan(
        self,
        job_id: str,
        tasks: list[TaskState],
        *,
        now: float | None = None,
        announce: Callable[[], Sequence[JobEvent]] | None = None,
        run: int | None = None,
    ) -> bool:
        """Store the job's plan once, and with it the events `announce()` gives. False (and
        nothing changed) if it already has tasks. `run`: the writing run's fencing token."""
        if not tasks:
            raise InvalidInput("a plan has at least one task")
        strangers = sorted({t.job_id for t in tasks} - {job_id})
        if strangers:
            raise InvalidInput(f"tasks of job(s) {', '.join(strangers)} in the plan of {job_id}")
        rows = plan_rows(tasks, time.time() if now is None else now)
        async with self._write() as conn:
            # Locked first: two concurrent callers cannot both see "no tasks yet".
            await self._lock_job(conn, job_id)
            await hold_run(conn, job_id, run)
            count = (
                select(func.count()).select_from(task_table).where(task_table.c.job_id == job_id)
            )
            if (await conn.execute(count)).scalar_one():
                return False
            await conn.execute(task_table.insert(), rows)
            await conn.execute(
                update(jobs).where(jobs.c.job_id == job_id).values(task_count=len(rows))
            )
            crashpoints.reach("in_transaction")
            stored = await self._append_events(conn, job_id, announce() if announce else ())
        self._announce(stored)
        return True

    async def list_tasks(self, job_id: str) -> list[TaskState]:
        """The job's tasks in plan order ([] for an unknown job or one not planned yet)."""
        query = (
            select(task_table).where(task_table.c.job_id == job_id).order_by(task_table.c.position)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [task_from_row(r._mapping) for r in rows]

    async def get_task(self, job_id: str, task_id: str) -> TaskState:
        query = select(task_table).where(
            task_table.c.job_id == job_id, task_table.c.task_id == task_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise TaskNotFound(job_id, task_id)
        return task_from_row(row._mapping)

    async def update_task(
        self,
        job_id: str,
        task_id: str,
        *,
        status: TaskStatus,
        score: float | None = None,
        model: str | None = None,
        cost_usd: float | None = None,
        iterations: int | None = None,
        output: str | None = None,
        reason: str | None = None,
        now: float,
        announce: Announce | None = None,
        run: int | None = None,
    ) -> TaskState | None:
        """Set the given fields (None leaves one as it is).

        Returns the new state when any field changed, None when the row already held
        exactly these values. Only on a change, `announce(new state)` gives the events that
        are stored in the same transaction. `run`: the writing run's fencing token.
        """
        given: dict[str, object] = {
            "status": status.value,
            "score": score,
            "model": model,
            "cost_usd": None if cost_usd is None else to_money(cost_usd),
            "iterations": iterations,
            "output": output,
            "reason": reason,
        }
        changes = {k: v for k, v in given.items() if v is not None}
        # One statement decides and writes, so concurrent writers cannot both "change" it.
        stmt = (
            update(task_table)
            .where(
                task_table.c.job_id == job_id,
                task_table.c.task_id == task_id,
                or_(*(task_table.c[k].is_distinct_from(v) for k, v in changes.items())),
            )
            .values({**changes, "updated_at": now})
            .returning(*task_table.c)
        )
        async with self._write() as conn:
            if run is not None:
                await hold_run(conn, job_id, run)  # the job's row first, as every writer
            elif announce is not None:
                await self._lock_job(conn, job_id)
            row = (await conn.execute(stmt)).first()
            if row is None:
                exists = select(task_table.c.task_id).where(
                    task_table.c.job_id == job_id, task_table.c.task_id == task_id
                )
                if (await conn.execute(exists)).first() is None:
                    raise TaskNotFound(job_id, task_id)
                return None
            state = task_from_row(row._mapping)
            crashpoints.reach("in_transaction")
            stored = await self._append_events(conn, job_id, announce(state) if announce else ())
        self._announce(stored)
        return state

    async def reset_unfinished_tasks(self, job_id: str, *, now: float) -> list[str]:
        """Put every task that is not completed back to pending (for a resume).

        Returns the ids of the tasks that changed, in plan order.
        """
        async with self._write() as conn:
            return await reset_unfinished(conn, job_id, now=now)

    async def save_iteration(
        self,
        job_id: str,
        task_id: str,
        record: IterationRecord,
        *,
        now: float | None = None,
        announce: Announce | None = None,
        run: int | None = None,
    ) -> bool:
        """Insert one iteration; if it is already stored, change nothing and return False.

        With `announce`, in the same transaction the task takes the iteration in: its cost
        grows by the iteration's, its score is the best so far, its model and iteration
        count are the iteration's; and `announce(new task state)` gives events to store.
        So a repeat changes nothing and tells nothing twice. `run`: the writing run's token.
        """
        values = {
            **record.model_dump(mode="json", exclude={"cost_usd"}),
            "cost_usd": to_money(record.cost_usd),
            "job_id": job_id,
            "task_id": task_id,
        }
        stmt = (
            self._insert(iteration_table)
            .values(values)
            .on_conflict_do_nothing(index_elements=["job_id", "task_id", "iteration"])
        )
        try:
            async with self._write() as conn:
                if run is not None:
                    await hold_run(conn, job_id, run)  # the job's row first, as every writer
                elif announce is not None:
                    await self._lock_job(conn, job_id)
                if not (await conn.execute(stmt)).rowcount:
                    return False
                if announce is None:
                    return True
                state = await self._take_iteration(conn, job_id, task_id, record, now)
                crashpoints.reach("in_transaction")
                stored = await self._append_events(conn, job_id, announce(state))
        except IntegrityError as e:  # the foreign key: no such task
            raise TaskNotFound(job_id, task_id) from e
        self._announce(stored)
        return True

    async def _take_iteration(
        self,
        conn: AsyncConnection,
        job_id: str,
        task_id: str,
        record: IterationRecord,
        now: float | None,
    ) -> TaskState:
        where = (task_table.c.job_id == job_id, task_table.c.task_id == task_id)
        row = (await conn.execute(select(task_table).where(*where))).first()
        if row is None:
            raise TaskNotFound(job_id, task_id)
        task = task_from_row(row._mapping)
        changes = {
            "status": TaskStatus.RUNNING.value,
            "score": max(record.score, task.score or 0.0),
            "model": record.model,
            "cost_usd": to_money(task.cost_usd) + to_money(record.cost_usd),
            "iterations": record.iteration,
            "updated_at": time.time() if now is None else now,
        }
        if task.score is None or record.score > task.score:  # the score shown is this one's
            changes["self_evaluated"] = record.self_evaluated
        updated = (
            await conn.execute(
                update(task_table).where(*where).values(changes).returning(*task_table.c)
            )
        ).first()
        assert updated is not None  # read just above, under the job's lock
        return task_from_row(updated._mapping)

    async def list_iterations(self, job_id: str, task_id: str) -> list[IterationRecord]:
        query = (
            select(iteration_table)
            .where(iteration_table.c.job_id == job_id, iteration_table.c.task_id == task_id)
            .order_by(iteration_table.c.iteration)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [iteration_from_row(r._mapping) for r in rows]


async def reset_unfinished(conn: AsyncConnection, job_id: str, *, now: float) -> list[str]:
    """`TasksRepo.reset_unfinished_tasks` in the transaction of `conn`."""
    stmt = (
        update(task_table)
        .where(
            task_table.c.job_id == job_id,
            task_table.c.status.not_in(_KEEP_ON_RESUME),
            or_(task_table.c.status != TaskStatus.PENDING.value, task_table.c.reason != ""),
        )
        .values(status=TaskStatus.PENDING.value, reason="", updated_at=now)
        .returning(task_table.c.task_id, task_table.c.position)
    )
    rows = (await conn.execute(stmt)).all()
    return [task_id for task_id, _ in sorted(rows, key=lambda r: r.position)]
