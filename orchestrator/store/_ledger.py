"""The job's budget, shared by every process: reservations and settlements in the database.

A call attempt is *reserved* before its request goes out: in one transaction the job's row is
locked, `spent + reserved + amount <= budget` is checked, `jobs.reserved_usd` grows by the
amount and the attempt's `llm_calls` row is stored `in_flight` holding it. When the attempt
returns it is *settled*, again in one transaction: the row gets its outcome, answer and what
the provider billed, and the job's reservation turns into spending. So the budget holds
whichever processes run the job's calls, and a paid answer is stored in the same commit that
charges it.

An attempt whose process died in flight stays `in_flight`; whoever next runs that logical
call (or ends the job) closes it as `interrupted`, charged its reservation: the provider may
have billed it, and the reservation is the most it could have cost.

Money is computed here with Decimal, not in SQL: SQLite keeps NUMERIC as binary floating
point, and the cap must hold to the last 1e-10 dollar. The row lock taken first serialises
writers of one job on both databases (the row lock on PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from orchestrator.domain import CallOutcome, CallRecord, JobBudget
from orchestrator.errors import BudgetExceeded, JobConflict, JobNotFound
from orchestrator.store._base import StoreBase, to_money
from orchestrator.store._calls import call_from_row
from orchestrator.store._fence import hold_run
from orchestrator.store.tables import jobs, llm_calls


def _attempt_of(call: CallRecord) -> ColumnElement[bool]:
    c = llm_calls.c
    return and_(
        c.job_id == call.job_id,
        c.task_id == call.task_id,
        c.iteration == call.iteration,
        c.role == call.role.value,
        c.slot == call.slot,
        c.attempt == call.attempt,
    )


class LedgerRepo(StoreBase):
    async def job_budget(self, job_id: str) -> JobBudget:
        query = select(jobs.c.budget_usd, jobs.c.total_cost, jobs.c.reserved_usd).where(
            jobs.c.job_id == job_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise JobNotFound(job_id)
        return _budget(row.budget_usd, row.total_cost, row.reserved_usd)

    async def reserve_call(
        self, call: CallRecord, amount: Decimal, *, run: int | None = None
    ) -> JobBudget:
        """Store `call` in flight holding `amount` of the job's budget; raises BudgetExceeded
        (storing nothing) when the amount does not fit, StaleRun when `run` is no longer the
        job's fencing token (its call must not be made). Returns the budget after it."""
        amount = to_money(amount)
        if amount < 0:
            raise ValueError(f"cannot reserve a negative amount: {amount}")
        row = {
            **call.model_dump(mode="json", exclude={"cost_usd", "reserved_usd"}),
            "outcome": CallOutcome.IN_FLIGHT.value,
            "cost_usd": to_money(0.0),
            "reserved_usd": amount,
        }
        async with self._write() as conn:
            await hold_run(conn, call.job_id, run)
            before = await lock_budget(conn, call.job_id)
            if amount > before.available_usd:
                raise BudgetExceeded(float(amount), float(before.available_usd))
            reserved = before.reserved_usd + amount
            await conn.execute(
                update(jobs).where(jobs.c.job_id == call.job_id).values(reserved_usd=reserved)
            )
            inserted = await conn.execute(
                self._insert(llm_calls).values(row).on_conflict_do_nothing()
            )
            if not inserted.rowcount:
                # The attempt is stored already: the same call runs somewhere else too.
                raise JobConflict(
                    call.job_id,
                    f"call attempt {call.attempt} of {call.task_id or 'plan'} is already recorded",
                )
        return before.model_copy(update={"reserved_usd": reserved})

    async def settle_call(self, call: CallRecord) -> JobBudget:
        """Store what the attempt returned and charge `call.cost_usd` (what the provider
        billed) in place of its reservation, in one transaction. Returns the budget after.
        The row keeps what it reserved, beside what it cost."""
        cost = to_money(call.cost_usd)
        values = {
            "outcome": call.outcome.value,
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "cost_usd": cost,
            "latency_ms": call.latency_ms,
            "error": call.error,
            "response_text": call.response_text,
        }
        async with self._write() as conn:
            before = await lock_budget(conn, call.job_id)
            in_flight = (
                await conn.execute(
                    update(llm_calls)
                    .where(_attempt_of(call), llm_calls.c.outcome == CallOutcome.IN_FLIGHT)
                    .values(values)
                    .returning(llm_calls.c.reserved_usd)
                )
            ).scalar_one_or_none()
            if in_flight is not None:  # the usual case: its reservation becomes spending
                change = {
                    "spent_usd": before.spent_usd + cost,
                    "reserved_usd": before.reserved_usd - to_money(in_flight),
                }
            else:
                held = (
                    await conn.execute(
                        select(llm_calls.c.outcome, llm_calls.c.cost_usd).where(_attempt_of(call))
                    )
                ).first()
                if held is None:
                    raise JobConflict(
                        call.job_id, f"call attempt {call.attempt} was never reserved"
                    )
                if held.outcome != CallOutcome.INTERRUPTED:
                    return before  # settled already (a step that ran again): nothing changes
                # Closed as interrupted meanwhile (its process was only slow): the bill wins.
                await conn.execute(update(llm_calls).where(_attempt_of(call)).values(values))
                change = {"spent_usd": before.spent_usd - to_money(held.cost_usd) + cost}
            after = before.model_copy(update=change)
            await write_budget(conn, call.job_id, after)
        return after

    async def close_interrupted(
        self, job_id: str, calls: list[CallRecord], *, run: int | None = None
    ) -> JobBudget:
        """Close in-flight attempts whose process died: each is charged its reservation."""
        return await self._close(job_id, [_attempt_of(call) for call in calls], run)

    async def close_in_flight(self, job_id: str, *, run: int | None = None) -> JobBudget:
        """Close every attempt of the job still in flight (no process runs the job any more:
        it is resumed, or it ended), each charged its reservation."""
        return await self._close(job_id, [llm_calls.c.job_id == job_id], run)

    async def _close(
        self, job_id: str, which: list[ColumnElement[bool]], run: int | None
    ) -> JobBudget:
        # A stale run must not close the live run's calls as interrupted: `run` is checked.
        async with self._write() as conn:
            await hold_run(conn, job_id, run)
            return await close_attempts(conn, job_id, which)

    async def in_flight_calls(self, job_id: str) -> list[CallRecord]:
        query = select(llm_calls).where(
            llm_calls.c.job_id == job_id, llm_calls.c.outcome == CallOutcome.IN_FLIGHT.value
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [call_from_row(r._mapping) for r in rows]


async def close_attempts(
    conn: AsyncConnection, job_id: str, which: list[ColumnElement[bool]]
) -> JobBudget:
    """Close the job's attempts still in flight among `which`, each charged its reservation
    (in the transaction of `conn`); returns the budget after."""
    budget = await lock_budget(conn, job_id)
    for attempts in which:
        held = (
            await conn.execute(
                update(llm_calls)
                .where(attempts, llm_calls.c.outcome == CallOutcome.IN_FLIGHT)
                .values(
                    outcome=CallOutcome.INTERRUPTED.value,
                    cost_usd=llm_calls.c.reserved_usd,
                    error="the process running this call stopped before it returned",
                )
                .returning(llm_calls.c.cost_usd)
            )
        ).scalars()
        charge = sum((to_money(c) for c in held), Decimal(0))
        budget = budget.model_copy(
            update={
                "spent_usd": budget.spent_usd + charge,
                "reserved_usd": budget.reserved_usd - charge,
            }
        )
    await write_budget(conn, job_id, budget)
    return budget


async def lock_budget(conn: AsyncConnection, job_id: str) -> JobBudget:
    """Lock the job's row for the rest of the transaction and read its money."""
    row = (
        await conn.execute(
            update(jobs)
            .where(jobs.c.job_id == job_id)
            .values(updated_at=jobs.c.updated_at)
            .returning(jobs.c.budget_usd, jobs.c.total_cost, jobs.c.reserved_usd)
        )
    ).first()
    if row is None:
        raise JobNotFound(job_id)
    return _budget(row.budget_usd, row.total_cost, row.reserved_usd)


async def write_budget(conn: AsyncConnection, job_id: str, budget: JobBudget) -> None:
    await conn.execute(
        update(jobs)
        .where(jobs.c.job_id == job_id)
        .values(total_cost=budget.spent_usd, reserved_usd=max(budget.reserved_usd, Decimal(0)))
    )


def _budget(budget: object, spent: object, reserved: object) -> JobBudget:
    return JobBudget(
        budget_usd=to_money(_decimal(budget)),
        spent_usd=to_money(_decimal(spent)),
        reserved_usd=to_money(_decimal(reserved)),
    )


def _decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
