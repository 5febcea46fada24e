"""The ledger's statements of every call attempt, built once per database and run with
parameters (store/_ledger.py says what they do).

Building a statement afresh (coercing each value, computing its cache key) cost SQLAlchemy
about as much CPU as SQLite took to run it; a statement built once keeps its cache key, and
its compiled form is cached per set of parameter names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, bindparam, func, literal_column, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert, Update

from orchestrator.domain import CallOutcome
from orchestrator.store.tables import jobs, llm_calls, money

# The job's money as the ledger reads it back.
MONEY = (jobs.c.budget_usd, jobs.c.spent_units, jobs.c.reserved_units)
# The budget in units, in SQL: the column holds at most 10 places, so ×1e10 rounds to the
# exact integer (on SQLite the float is within far less than half a unit of it).
BUDGET_UNITS = func.round(jobs.c.budget_usd * literal_column("10000000000"))
# The parameters naming one attempt in `settle` (CallRecord field -> parameter).
ATTEMPT_PARAMS = {
    "job_id": "b_job",
    "task_id": "b_task",
    "iteration": "b_iteration",
    "role": "b_role",
    "slot": "b_slot",
    "attempt": "b_attempt",
}


@dataclass(frozen=True)
class LedgerSql:
    # b_job, b_units: grow the job's reservation by b_units if it fits the budget.
    reserve: Update
    # The same, only while the job's fencing token is b_run.
    reserve_fenced: Update
    # The attempt's row (every column as a parameter), unless it is stored already.
    insert_call: Insert
    # b_job, b_cost, b_held: b_held of the reservation becomes b_cost of spending.
    charge: Update
    # ATTEMPT_PARAMS, b_reserved and the answer's columns: store the attempt's outcome if it
    # is in flight holding exactly b_reserved.
    settle: Update


def dollars(units: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Units of 1e-10 USD as the dollars the money columns hold, in SQL: exact numeric on
    PostgreSQL; on SQLite the float nearest to them, which is what a bound Decimal becomes
    there too."""
    if dialect == "postgresql":
        return units * literal_column("0.0000000001")
    return units / literal_column("10000000000.0")


@functools.cache
def ledger_sql(dialect: str) -> LedgerSql:
    c, calls = jobs.c, llm_calls.c
    job = c.job_id == bindparam("b_job")
    reserved = c.reserved_units + bindparam("b_units", type_=BigInteger)
    reserve = (
        update(jobs)
        .where(job, c.spent_units + reserved <= BUDGET_UNITS)
        .values(reserved_units=reserved, reserved_usd=dollars(reserved, dialect))
        .returning(*MONEY)
    )
    spent = c.spent_units + bindparam("b_cost", type_=BigInteger)
    released = c.reserved_units - bindparam("b_held", type_=BigInteger)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    attempt = [getattr(calls, column) == bindparam(p) for column, p in ATTEMPT_PARAMS.items()]
    return LedgerSql(
        reserve=reserve,
        reserve_fenced=reserve.where(c.run_token == bindparam("b_run", type_=Integer)),
        insert_call=insert(llm_calls).on_conflict_do_nothing(),
        charge=update(jobs)
        .where(job)
        .values(
            spent_units=spent,
            reserved_units=released,
            total_cost=dollars(spent, dialect),
            reserved_usd=dollars(released, dialect),
        )
        .returning(*MONEY),
        settle=update(llm_calls).where(
            *attempt,
            calls.outcome == CallOutcome.IN_FLIGHT.value,
            calls.reserved_usd == bindparam("b_reserved", type_=money()),
        ),
    )
