"""The job's budget, shared by every process: reservations and settlements in the database.

A call attempt is *reserved* before its request goes out: in one transaction, one conditional
UPDATE of the job's row grows its reservation by the amount only if `spent + reserved + amount
<= budget` and the run's fencing token is still the job's, and the attempt's `llm_calls` row
is stored `in_flight` holding it. When the attempt returns it is *settled*, again in one
transaction: the job's reservation turns into spending, and the row gets its outcome, answer
and what the provider billed. So the budget holds whichever processes run the job's calls,
and a paid answer is stored in the same commit that charges it.

An attempt whose process died in flight stays `in_flight`; whoever next runs that logical
call (or ends the job) closes it as `interrupted`, charged its reservation: the provider may
have billed it, and the reservation is the most it could have cost.

The job's live money is kept in whole units of 1e-10 USD (`spent_units`, `reserved_units`),
so SQL adds it exactly on both databases (SQLite keeps NUMERIC as binary floating point); the
dollar columns are written from the units in the same statement. Every transaction here
writes the job's row first: that row lock serialises writers of one job (the row lock on
PostgreSQL, the write lock on SQLite) in one order, so two of them never deadlock.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from orchestrator.domain import CallOutcome, CallRecord, JobBudget
from orchestrator.errors import BudgetExceeded, JobConflict, JobNotFound
from orchestrator.store._base import StoreBase, from_units, to_money, to_units
from orchestrator.store._calls import call_from_row
from orchestrator.store._fence import check_run, hold_run
from orchestrator.store._ledger_sql import ATTEMPT_PARAMS, ledger_sql
from orchestrator.store._ledger_sql import MONEY as _MONEY
from orchestrator.store.tables import jobs, llm_calls

# A reservation refused, then found to fit (others settled in between), is tried again.
_RESERVE_TRIES = 3


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


class _NotAsHeld(Exception):
    """The attempt is not in flight holding what its record says (rolls the fast settle back)."""


class LedgerRepo(StoreBase):
    async def job_budget(self, job_id: str) -> JobBudget:
        query = select(*_MONEY).where(jobs.c.job_id == job_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise JobNotFound(job_id)
        return _budget(row)

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
        sql = ledger_sql(self.dialect)
        hold, held_params = sql.reserve, {"b_job": call.job_id, "b_units": to_units(amount)}
        if run is not None:
            hold, held_params = sql.reserve_fenced, {**held_params, "b_run": run}
        async with self._write() as conn:
            for tries_left in reversed(range(_RESERVE_TRIES)):
                held = (await conn.execute(hold, held_params)).first()
                if held is not None:
                    break
                await self._refused(conn, call.job_id, amount, run, again=tries_left > 0)
            assert held is not None  # `_refused` raised on the last try
            inserted = await conn.execute(sql.insert_call, row)
            if not inserted.rowcount:
                # The attempt is stored already: the same call runs somewhere else too.
                raise JobConflict(
                    call.job_id,
                    f"call attempt {call.attempt} of {call.task_id or 'plan'} is already recorded",
                )
        return _budget(held)

    async def _refused(
        self, conn: AsyncConnection, job_id: str, amount: Decimal, run: int | None, *, again: bool
    ) -> None:
        """Why the conditional reservation matched no row: raises JobNotFound, StaleRun or
        BudgetExceeded. Returns, with `again`, when the amount fits after all (other calls
        settled between the two statements, on PostgreSQL): it is then tried again."""
        query = select(jobs.c.run_token, *_MONEY).where(jobs.c.job_id == job_id)
        row = (await conn.execute(query)).first()
        if row is None:
            raise JobNotFound(job_id)
        check_run(job_id, run, row.run_token)
        available = _budget(row).available_usd
        if amount > available or not again:
            raise BudgetExceeded(float(amount), float(available))

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
        try:
            async with self._write() as conn:
                return await self._settle_as_held(conn, call, values, cost)
        except _NotAsHeld:
            pass  # settled or closed already, or its record does not say what it holds
        async with self._write() as conn:
            return await self._settle_looked_up(conn, call, values, cost)

    async def _settle_as_held(
        self, conn: AsyncConnection, call: CallRecord, values: dict[str, Any], cost: Decimal
    ) -> JobBudget:
        """The usual settlement, two statements: the reservation the attempt's record says
        it holds becomes its cost, then the attempt is stored, only if it is still in flight
        holding exactly that (else _NotAsHeld, and the transaction rolls back)."""
        sql, held = ledger_sql(self.dialect), to_money(call.reserved_usd)
        charge = {"b_job": call.job_id, "b_cost": to_units(cost), "b_held": to_units(held)}
        money = (await conn.execute(sql.charge, charge)).first()
        if money is None:
            raise JobNotFound(call.job_id)
        attempt = {p: getattr(call, field) for field, p in ATTEMPT_PARAMS.items()}
        attempt["b_role"] = call.role.value
        stored = await conn.execute(sql.settle, {**values, **attempt, "b_reserved": held})
        if not stored.rowcount:
            raise _NotAsHeld
        return _budget(money)

    async def _settle_looked_up(
        self, conn: AsyncConnection, call: CallRecord, values: dict[str, Any], cost: Decimal
    ) -> JobBudget:
        """A settlement that reads what the attempt holds, and whether it is in flight."""
        before = await lock_budget(conn, call.job_id)
        in_flight = (
            await conn.execute(
                update(llm_calls)
                .where(_attempt_of(call), llm_calls.c.outcome == CallOutcome.IN_FLIGHT)
                .values(values)
                .returning(llm_calls.c.reserved_usd)
            )
        ).scalar_one_or_none()
        if in_flight is not None:  # its reservation becomes spending
            change = {
                "spent_usd": before.spent_usd + cost,
                "reserved_usd": before.reserved_usd - to_money(_decimal(in_flight)),
            }
        else:
            held = (
                await conn.execute(
                    select(llm_calls.c.outcome, llm_calls.c.cost_usd).where(_attempt_of(call))
                )
            ).first()
            if held is None:
                raise JobConflict(call.job_id, f"call attempt {call.attempt} was never reserved")
            if held.outcome != CallOutcome.INTERRUPTED:
                return before  # settled already (a step that ran again): nothing changes
            # Closed as interrupted meanwhile (its process was only slow): the bill wins.
            await conn.execute(update(llm_calls).where(_attempt_of(call)).values(values))
            change = {"spent_usd": before.spent_usd - to_money(_decimal(held.cost_usd)) + cost}
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
            .returning(*_MONEY)
        )
    ).first()
    if row is None:
        raise JobNotFound(job_id)
    return _budget(row)


async def write_budget(conn: AsyncConnection, job_id: str, budget: JobBudget) -> None:
    reserved = max(budget.reserved_usd, Decimal(0))
    await conn.execute(
        update(jobs)
        .where(jobs.c.job_id == job_id)
        .values(
            total_cost=budget.spent_usd,
            reserved_usd=reserved,
            spent_units=to_units(budget.spent_usd),
            reserved_units=to_units(reserved),
        )
    )


def _budget(row: Row[*tuple[Any, ...]]) -> JobBudget:
    """A row holding `_MONEY` as the job's budget."""
    return JobBudget(
        budget_usd=to_money(_decimal(row.budget_usd)),
        spent_usd=from_units(row.spent_units),
        reserved_usd=from_units(row.reserved_units),
    )


def _decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
