"""The budget ledger: a hard cap on what one job may spend, and the record of its calls.

Before a call attempt, its worst-case cost is *reserved* and the attempt is recorded in
flight; when it returns it is *settled*: recorded with its outcome and what the provider
billed (also for a failed attempt the provider charged), and its reservation becomes spending.
A reservation is refused when `spent + reserved + amount` would pass the budget, so as long as
every bill is at most its reservation (true upper bounds), spending never passes the budget.

`JobLedger` is the seam: the runtime's implements it on the database, shared by every process
that runs calls of the job (store/_ledger.py); `MemoryLedger` keeps the same rules in memory,
for the engine on its own (unit tests, benchmarks of the executor).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Protocol

from orchestrator.domain import CallOutcome, CallRecord, JobBudget, Role
from orchestrator.errors import BudgetExceeded, InvalidInput, JobConflict

__all__ = ["AttemptKey", "JobLedger", "MemoryLedger", "attempt_key"]

log = logging.getLogger(__name__)

AttemptKey = tuple[str, str, int, Role, int, int]


def attempt_key(call: CallRecord) -> AttemptKey:
    return (call.job_id, call.task_id, call.iteration, call.role, call.slot, call.attempt)


class JobLedger(Protocol):
    """One job's budget and recorded calls."""

    # Every recorded attempt of one logical call, by attempt number (none for a new call):
    # a recorded success is re-used instead of paid again, and a call run again after a
    # crash or on resume numbers its new attempts after the recorded ones.
    async def attempts(
        self, *, job_id: str, task_id: str, iteration: int, role: Role, slot: int
    ) -> list[CallRecord]: ...

    async def budget(self) -> JobBudget: ...

    # Record `call` in flight holding `amount`; BudgetExceeded (recording nothing) when the
    # amount does not fit what is left.
    async def reserve(self, call: CallRecord, amount: Decimal) -> None: ...

    # Record the returned attempt and charge its `cost_usd` in place of its reservation.
    async def settle(self, call: CallRecord) -> None: ...

    # Close attempts left in flight by a process that stopped: each is charged its reservation.
    async def close_interrupted(self, calls: list[CallRecord]) -> None: ...


class MemoryLedger:
    """`JobLedger` in memory, with the database's rules (see the module docstring)."""

    def __init__(self, budget: Decimal | str, spent: Decimal = Decimal(0)) -> None:
        budget = Decimal(budget)
        if budget < 0 or spent < 0:
            raise InvalidInput("budget and spent must not be negative")
        self.rows: list[CallRecord] = []
        self._budget = budget
        self._spent = Decimal(spent)
        self._held: dict[AttemptKey, Decimal] = {}
        self.overruns = 0

    @property
    def spent(self) -> Decimal:
        return self._spent

    @property
    def reserved(self) -> Decimal:
        return sum(self._held.values(), Decimal(0))

    @property
    def available(self) -> Decimal:
        return max(self._budget - self._spent - self.reserved, Decimal(0))

    async def attempts(
        self, *, job_id: str, task_id: str, iteration: int, role: Role, slot: int
    ) -> list[CallRecord]:
        key = (job_id, task_id, iteration, role, slot)
        found = [r for r in self.rows if attempt_key(r)[:5] == key]
        return sorted(found, key=lambda r: r.attempt)

    async def budget(self) -> JobBudget:
        return JobBudget(budget_usd=self._budget, spent_usd=self._spent, reserved_usd=self.reserved)

    async def reserve(self, call: CallRecord, amount: Decimal) -> None:
        if amount < 0:
            raise ValueError(f"cannot reserve a negative amount: {amount}")
        if amount > self.available:
            raise BudgetExceeded(float(amount), float(self.available))
        key = attempt_key(call)
        if any(attempt_key(r) == key for r in self.rows):
            raise JobConflict(call.job_id, f"call attempt {call.attempt} is already recorded")
        self._held[key] = Decimal(amount)
        self.rows.append(
            call.model_copy(
                update={
                    "outcome": CallOutcome.IN_FLIGHT,
                    "cost_usd": 0.0,
                    "reserved_usd": float(amount),
                }
            )
        )
        await asyncio.sleep(0)  # a database yields here, letting other calls run

    async def settle(self, call: CallRecord) -> None:
        key = attempt_key(call)
        index = next((i for i, r in enumerate(self.rows) if attempt_key(r) == key), None)
        if index is None or key not in self._held:
            raise JobConflict(call.job_id, f"call attempt {call.attempt} is not in flight")
        held = self._held.pop(key)
        cost = Decimal(str(call.cost_usd))
        if cost > held:
            self.overruns += 1
            log.error("budget overrun: a call cost %s but reserved only %s", cost, held)
        self._spent += cost
        self.rows[index] = call.model_copy(update={"reserved_usd": float(held)})
        await asyncio.sleep(0)

    async def close_interrupted(self, calls: list[CallRecord]) -> None:
        for call in calls:
            key = attempt_key(call)
            held = self._held.pop(key, None)
            if held is None:
                continue
            self._spent += held
            index = next(i for i, r in enumerate(self.rows) if attempt_key(r) == key)
            self.rows[index] = self.rows[index].model_copy(
                update={"outcome": CallOutcome.INTERRUPTED, "cost_usd": float(held)}
            )
