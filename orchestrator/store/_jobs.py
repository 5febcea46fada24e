"""Jobs: create, read, list, status and field updates, delete with every child row."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, RowMapping, Select, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from orchestrator import crashpoints
from orchestrator.domain import JobRecord, JobSpec, JobStatus, ProjectStatus
from orchestrator.errors import InvalidInput, JobConflict, JobNotFound, StaleRun
from orchestrator.events import JobEvent
from orchestrator.store._artifacts import upsert_artifact
from orchestrator.store._base import StoreBase, to_money, to_units
from orchestrator.store._fence import hold_run
from orchestrator.store.tables import CHILD_TABLES, JOB_ID, jobs

MAX_PAGE = 1000


def job_from_row(row: RowMapping) -> JobRecord:
    spec = JobSpec(
        project_description=row["project_description"],
        success_criteria=row["success_criteria"],
        budget_usd=float(row["budget_usd"]),
        time_limit_s=row["time_limit_s"],
        concurrency=row["concurrency"],
        review=row["review"],
        max_forecast_usd=_optional_float(row["max_forecast_usd"]),
        notify_url=row["notify_url"],
    )
    final = row["final_status"]
    return JobRecord(
        job_id=row["job_id"],
        spec=spec,
        status=JobStatus(row["status"]),
        final_status=ProjectStatus(final) if final is not None else None,
        total_cost=float(row["total_cost"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        task_count=row["task_count"],
        simulated=row["simulated"],
        attempt=row["attempt"],
        error=row["error"],
    )


def _optional_float(value: object) -> float | None:
    return None if value is None else float(str(value))


def list_filter(status: JobStatus | None, q: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [jobs.c.deleted_at.is_(None)]
    if status is not None:
        conditions.append(jobs.c.status == status.value)
    if q:
        # lower(description) LIKE lower('%q%') on both dialects; autoescape keeps % and _ literal.
        conditions.append(jobs.c.project_description.icontains(q, autoescape=True))
    return conditions


def list_query(status: JobStatus | None = None, q: str | None = None) -> Select[Any]:
    """The page query of list_jobs, newest first (job_id breaks ties so pages are stable)."""
    return (
        select(jobs)
        .where(*list_filter(status, q))
        .order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc())
    )


class JobsRepo(StoreBase):
    async def create_job(
        self,
        *,
        job_id: str,
        spec: JobSpec,
        simulated: bool,
        now: float,
        announce: Callable[[], Sequence[JobEvent]] | None = None,
    ) -> JobRecord:
        """Store a new job and, in the same transaction, the events `announce()` gives (a job
        never exists without the history that says it was created)."""
        if not 0 < len(job_id) <= JOB_ID:
            raise InvalidInput(f"job id must have 1 to {JOB_ID} characters: {job_id!r}")
        record = JobRecord(
            job_id=job_id, spec=spec, created_at=now, updated_at=now, simulated=simulated
        )
        values = {
            "job_id": job_id,
            "project_description": spec.project_description,
            "success_criteria": spec.success_criteria,
            "budget_usd": to_money(spec.budget_usd),
            "time_limit_s": spec.time_limit_s,
            "concurrency": spec.concurrency,
            "review": spec.review,
            "max_forecast_usd": (
                to_money(spec.max_forecast_usd) if spec.max_forecast_usd is not None else None
            ),
            "notify_url": spec.notify_url,
            "status": record.status.value,
            "final_status": None,
            "total_cost": to_money(0.0),
            "created_at": now,
            "updated_at": now,
            "task_count": 0,
            "simulated": simulated,
            "attempt": 0,
            "error": "",
            "last_event_id": 0,
        }
        async with self._write() as conn:
            try:
                await conn.execute(insert(jobs).values(values))
            except IntegrityError as e:
                raise JobConflict(job_id, "a job with this id already exists") from e
            stored = await self._append_events(conn, job_id, announce() if announce else ())
        self._announce(stored)
        return record

    async def get_job(self, job_id: str) -> JobRecord:
        async with self._engine.connect() as conn:
            return await self._get_job(conn, job_id)

    async def _get_job(self, conn: AsyncConnection, job_id: str) -> JobRecord:
        row = (await conn.execute(select(jobs).where(jobs.c.job_id == job_id))).first()
        if row is None:
            raise JobNotFound(job_id)
        return job_from_row(row._mapping)

    async def stopped_among(self, job_ids: Collection[str]) -> set[str]:
        """Those of `job_ids` that were cancelled, or deleted, by anyone (one query)."""
        wanted = set(job_ids)
        if not wanted:
            return set()
        query = select(jobs.c.job_id).where(
            jobs.c.job_id.in_(wanted),
            jobs.c.status != JobStatus.CANCELLED.value,
            jobs.c.deleted_at.is_(None),
        )
        async with self._engine.connect() as conn:
            going_on = set((await conn.execute(query)).scalars())
        return wanted - going_on

    async def claim_run(self, job_id: str, attempt: int, *, owner: str) -> int:
        """Make `owner` the one live owner of the job's run `attempt`: the job's fencing token
        grows by one and is returned (store/_fence.py). StaleRun when the job has moved on to
        another attempt (a resume started it): this run must not go on."""
        claim = (
            update(jobs)
            .where(jobs.c.job_id == job_id, jobs.c.attempt == attempt)
            .values(run_token=jobs.c.run_token + 1, owner=owner)
            .returning(jobs.c.run_token)
        )
        async with self._write() as conn:
            token = (await conn.execute(claim)).scalar_one_or_none()
            if token is None:
                await self._require_job(conn, job_id)
                raise StaleRun(job_id, f"run {attempt} is not its run now")
        return int(token)

    async def run_owner(self, job_id: str) -> tuple[int, str | None]:
        """The job's fencing token now and the process that holds it."""
        query = select(jobs.c.run_token, jobs.c.owner).where(jobs.c.job_id == job_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise JobNotFound(job_id)
        return int(row.run_token), row.owner

    async def count_open_jobs(self) -> int:
        """Jobs queued or running (pending or running, not being deleted): the work that
        workers share."""
        query = (
            select(func.count())
            .select_from(jobs)
            .where(
                jobs.c.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value]),
                jobs.c.deleted_at.is_(None),
            )
        )
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[JobRecord], int]:
        """One page of jobs, newest first, and the number of jobs matching the filter."""
        if not 0 <= limit <= MAX_PAGE or offset < 0:
            raise InvalidInput(f"limit must be 0..{MAX_PAGE} and offset >= 0")
        count = select(func.count()).select_from(jobs).where(*list_filter(status, q))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(list_query(status, q).limit(limit).offset(offset))).all()
            total = (await conn.execute(count)).scalar_one()
        return [job_from_row(r._mapping) for r in rows], total

    async def set_job_status(
        self,
        job_id: str,
        *,
        status: JobStatus,
        final_status: ProjectStatus | None = None,
        error: str = "",
        now: float,
        unless: Collection[JobStatus] = (),
        files: Sequence[tuple[str, bytes]] = (),
        announce: Callable[[], Sequence[JobEvent]] | None = None,
        run: int | None = None,
    ) -> bool:
        """Set status, final status and error together; True when any of them changed.

        Nothing changes while the job's status is one of `unless` (a start does not undo a
        cancel). Only on a change, in the same transaction: the result `files` (path,
        content) replace those of the same path, and the events `announce()` gives are stored.
        A write of the job's run names its token (`run`): StaleRun once another holds it.
        """
        final = final_status.value if final_status is not None else None
        stmt = (
            update(jobs)
            .where(
                jobs.c.job_id == job_id,
                jobs.c.status.not_in([s.value for s in unless]),
                or_(
                    jobs.c.status != status.value,
                    jobs.c.final_status.is_distinct_from(final),
                    jobs.c.error != error,
                ),
            )
            .values(status=status.value, final_status=final, error=error, updated_at=now)
        )
        async with self._write() as conn:
            if run is not None:
                await hold_run(conn, job_id, run)  # the job's row first, as every writer
            elif announce is not None:
                await self._lock_job(conn, job_id)
            if not (await conn.execute(stmt)).rowcount:
                await self._require_job(conn, job_id)
                return False
            for path, content in files:
                await conn.execute(upsert_artifact(self._insert, job_id, path, content, now))
            crashpoints.reach("in_transaction")
            stored = await self._append_events(conn, job_id, announce() if announce else ())
        self._announce(stored)
        return True

    async def set_job_fields(
        self,
        job_id: str,
        *,
        total_cost: float | None = None,
        task_count: int | None = None,
        budget_usd: float | None = None,
        time_limit_s: float | None = None,
        now: float,
    ) -> None:
        """Update the given fields (None leaves a field as it is)."""
        values: dict[str, object] = {"updated_at": now}
        if total_cost is not None:
            values["total_cost"] = to_money(total_cost)
            values["spent_units"] = to_units(total_cost)  # the ledger's copy (store/_ledger.py)
        if task_count is not None:
            values["task_count"] = task_count
        if budget_usd is not None:
            values["budget_usd"] = to_money(budget_usd)
        if time_limit_s is not None:
            values["time_limit_s"] = time_limit_s
        async with self._write() as conn:
            if budget_usd is not None or time_limit_s is not None:
                check_limits((await self._get_job(conn, job_id)).spec, budget_usd, time_limit_s)
            result = await conn.execute(update(jobs).where(jobs.c.job_id == job_id).values(values))
            if not result.rowcount:
                raise JobNotFound(job_id)

    async def hide_job(self, job_id: str, *, now: float) -> None:
        """Start the job's deletion: from now on it is in no listing. JobNotFound when it is
        unknown or its deletion has started already."""
        stmt = (
            update(jobs)
            .where(jobs.c.job_id == job_id, jobs.c.deleted_at.is_(None))
            .values(deleted_at=now)
        )
        async with self._write() as conn:
            if (await conn.execute(stmt)).rowcount == 0:
                raise JobNotFound(job_id)

    async def is_hidden(self, job_id: str) -> bool:
        """Whether the job's deletion has started (False for an unknown job)."""
        query = select(jobs.c.deleted_at).where(jobs.c.job_id == job_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return row is not None and row.deleted_at is not None

    async def hidden_jobs(self) -> list[str]:
        """Jobs whose deletion started but whose rows are still there (its process stopped)."""
        query = select(jobs.c.job_id).where(jobs.c.deleted_at.is_not(None))
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def delete_job(self, job_id: str) -> None:
        """Delete the job and all its rows in one transaction."""
        async with self._write() as conn:
            await self._lock_job(conn, job_id)
            for table in CHILD_TABLES:
                await conn.execute(delete(table).where(table.c.job_id == job_id))
            await conn.execute(delete(jobs).where(jobs.c.job_id == job_id))


def check_limits(spec: JobSpec, budget_usd: float | None, time_limit_s: float | None) -> None:
    """New limits must still make a valid JobSpec (budget > 0, time limit > 0, the caps)."""
    changed = spec.model_dump()
    if budget_usd is not None:
        changed["budget_usd"] = budget_usd
    if time_limit_s is not None:
        changed["time_limit_s"] = time_limit_s
    try:
        JobSpec.model_validate(changed)
    except ValidationError as e:
        raise InvalidInput(f"invalid job limits: {e}") from e
