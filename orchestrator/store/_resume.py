"""A resume, claimed and prepared in one transaction: of resumes asked at once, one runs.

The claim is a conditional update of the job's row (`attempt` and `status` still as the
resumer saw them); in the same transaction the attempts left in flight are charged, the new
limits set, unfinished tasks put back to pending and the events telling of it stored. So a
second resume either finds the claim taken (its update matches no row) or sees the job
pending under the new attempt: it never resets a run that has started, nor starts another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from sqlalchemy import update

from orchestrator.domain import JobRecord, JobStatus
from orchestrator.errors import InvalidInput, JobConflict
from orchestrator.events import JobEvent
from orchestrator.money import usd, usd_exact
from orchestrator.store._base import StoreBase, to_money
from orchestrator.store._jobs import check_limits
from orchestrator.store._ledger import close_attempts
from orchestrator.store._tasks import reset_unfinished
from orchestrator.store.tables import jobs, llm_calls

# The events a resume stores, given the ids of the tasks it put back to pending.
AnnounceResume = Callable[[list[str]], Sequence[JobEvent]]


class ResumeRepo(StoreBase):
    async def resume_job(
        self,
        seen: JobRecord,
        *,
        now: float,
        budget_usd: float | None = None,
        time_limit_s: float | None = None,
        announce: AnnounceResume,
    ) -> int:
        """Start the job's next run if it is still as `seen` (same run number and status):
        pending under run `seen.attempt + 1`, which is returned. JobConflict when another
        resume claimed it first; InvalidInput (nothing changed) when `budget_usd` is below
        what the job has spent, counting the attempts this charges."""
        job_id = seen.job_id
        claim = (
            update(jobs)
            .where(
                jobs.c.job_id == job_id,
                jobs.c.attempt == seen.attempt,
                jobs.c.status == seen.status.value,
            )
            .values(
                attempt=jobs.c.attempt + 1,
                # A straggler of the run before (its process only slow) now writes nothing.
                run_token=jobs.c.run_token + 1,
                status=JobStatus.PENDING.value,
                final_status=None,
                error="",
                updated_at=now,
            )
            .returning(jobs.c.attempt)
        )
        async with self._write() as conn:
            attempt = (await conn.execute(claim)).scalar_one_or_none()
            if attempt is None:
                await self._require_job(conn, job_id)
                raise JobConflict(job_id, "another resume of it has just started")
            # No run of the job is active: attempts still in flight were cut off with their
            # process. Charged now, their reservations stop holding budget the new run needs.
            money = await close_attempts(conn, job_id, [llm_calls.c.job_id == job_id])
            if budget_usd is not None and to_money(Decimal(str(budget_usd))) < money.spent_usd:
                raise InvalidInput(
                    f"budget_usd {usd_exact(budget_usd)} is below the "
                    f"{usd(float(money.spent_usd))} the job has spent already"
                )
            if budget_usd is not None or time_limit_s is not None:
                check_limits(seen.spec, budget_usd, time_limit_s)
                values: dict[str, object] = {}
                if budget_usd is not None:
                    values["budget_usd"] = to_money(budget_usd)
                if time_limit_s is not None:
                    values["time_limit_s"] = time_limit_s
                await conn.execute(update(jobs).where(jobs.c.job_id == job_id).values(values))
            reset = await reset_unfinished(conn, job_id, now=now)
            stored = await self._append_events(conn, job_id, announce(reset))
        self._announce(stored)
        return int(attempt)
