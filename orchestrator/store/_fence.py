"""The fencing token of a job's run: one live owner writes, a stale one is refused.

`jobs.run_token` grows by one at each claim of the job's run: a process that starts running
the job (its first write), a takeover of a dead worker's job, a resume. Every durable write
of a run names the token its process holds and is made only while it is still the job's,
checked on the job's row, locked first, in the write's own transaction. So once another
process has claimed the run, the old one's next write is refused (StaleRun) and it stops:
it reserves no more budget, so it starts no more calls.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from orchestrator.errors import JobNotFound, StaleRun
from orchestrator.store.tables import jobs


async def hold_run(conn: AsyncConnection, job_id: str, run: int | None) -> None:
    """Lock the job's row for the rest of the transaction and, with a `run` token, check it
    is still the job's (StaleRun otherwise). None: a write no run makes (a user's)."""
    if run is None:
        return
    row = (
        await conn.execute(
            update(jobs)
            .where(jobs.c.job_id == job_id)
            .values(updated_at=jobs.c.updated_at)
            .returning(jobs.c.run_token)
        )
    ).first()
    if row is None:
        raise JobNotFound(job_id)
    check_run(job_id, run, row.run_token)


def run_is(run: int | None) -> ColumnElement[bool]:
    """The fencing check as a condition on the job's row, for a write that locks the row
    with its own UPDATE (a reservation): no row matches once `run` is stale."""
    return true() if run is None else jobs.c.run_token == run


def check_run(job_id: str, run: int | None, token: int) -> None:
    """StaleRun when `run` (None: a write no run makes) is not the job's token any more."""
    if run is not None and token != run:
        raise StaleRun(job_id, f"its run was taken over: it holds token {run}, the job {token}")
