"""Recorded LLM calls: the source of telemetry, of spend, and of "never pay twice"."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Integer, RowMapping, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from orchestrator.domain import CallRecord, Role
from orchestrator.store._base import StoreBase, to_money
from orchestrator.store.tables import llm_calls

_ATTEMPT_KEY = ["job_id", "task_id", "iteration", "role", "slot", "attempt"]
# Asked before every LLM call: built once, run with parameters (building it afresh cost
# SQLAlchemy about as much CPU as SQLite took to run it).
_ATTEMPTS_OF_CALL = (
    select(llm_calls)
    .where(
        llm_calls.c.job_id == bindparam("b_job"),
        llm_calls.c.task_id == bindparam("b_task"),
        llm_calls.c.iteration == bindparam("b_iteration", type_=Integer),
        llm_calls.c.role == bindparam("b_role"),
        llm_calls.c.slot == bindparam("b_slot", type_=Integer),
    )
    .order_by(llm_calls.c.attempt)
)


def call_from_row(row: RowMapping) -> CallRecord:
    values = {k: v for k, v in row.items() if k != "id"}
    values["cost_usd"] = float(values["cost_usd"])
    values["reserved_usd"] = float(values["reserved_usd"])
    return CallRecord.model_validate(values)


class CallsRepo(StoreBase):
    async def record_call(self, call: CallRecord) -> None:
        """Record one attempt. A second record of the same attempt keeps the first, silently:
        a step that ran again after a crash must not fail, nor overwrite what was paid for."""
        values = {
            **call.model_dump(mode="json", exclude={"cost_usd", "reserved_usd"}),
            "cost_usd": to_money(call.cost_usd),
            "reserved_usd": to_money(call.reserved_usd),
        }
        stmt = (
            self._insert(llm_calls)
            .values(values)
            .on_conflict_do_nothing(index_elements=_ATTEMPT_KEY)
        )
        try:
            async with self._write() as conn:
                await conn.execute(stmt)
        except IntegrityError:
            # The only constraint left is the job's foreign key: say which job is missing.
            async with self._engine.connect() as conn:
                await self._require_job(conn, call.job_id)
            raise

    async def call_attempts(
        self, *, job_id: str, task_id: str, iteration: int, role: Role, slot: int
    ) -> list[CallRecord]:
        """Every recorded attempt of one logical call, by attempt number (one indexed read:
        the executor asks before each call whether it was answered already)."""
        call = {
            "b_job": job_id,
            "b_task": task_id,
            "b_iteration": iteration,
            "b_role": role.value,
            "b_slot": slot,
        }
        async with self._engine.connect() as conn:
            rows = (await conn.execute(_ATTEMPTS_OF_CALL, call)).all()
        return [call_from_row(row._mapping) for row in rows]

    async def list_calls(
        self, *, job_id: str | None = None, model: str | None = None
    ) -> list[CallRecord]:
        """Calls in the order they were recorded, optionally of one job and/or one model."""
        query = select(llm_calls).order_by(llm_calls.c.id)
        if job_id is not None:
            query = query.where(llm_calls.c.job_id == job_id)
        if model is not None:
            query = query.where(llm_calls.c.model == model)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [call_from_row(r._mapping) for r in rows]

    async def job_spend(self, job_id: str) -> Decimal:
        """The exact sum of what every recorded call of the job cost (0 if none)."""
        where = llm_calls.c.job_id == job_id
        async with self._engine.connect() as conn:
            if self.dialect == "postgresql":
                total = await conn.execute(select(func.sum(llm_calls.c.cost_usd)).where(where))
                return to_money(total.scalar_one() or Decimal(0))
            # SQLite keeps NUMERIC as binary floating point, and its SUM adds floats: read
            # each value back as the 10-place decimal it was written as, and add those.
            costs = (await conn.execute(select(llm_calls.c.cost_usd).where(where))).scalars()
            return to_money(sum(costs, Decimal(0)))
