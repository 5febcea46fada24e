"""The budget ledger: a hard cap on what one job may spend.

Before a call, its worst-case cost is *reserved*; after it, the reservation is *settled* with
the real cost (or *released* when the call failed before costing anything). A reservation is
refused when `spent + reserved + amount` would pass the budget, so as long as every settled
cost is at most its reservation (true upper bounds), `spent` never exceeds the budget.

Nothing here awaits: on one event loop, check-and-reserve is atomic, so concurrent calls of a
job cannot both squeeze into the same last dollar.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from decimal import Decimal

from orchestrator.errors import BudgetExceeded, InvalidInput

__all__ = ["BudgetLedger", "Reservation"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reservation:
    """A claim on the budget for one call attempt; settle or release it exactly once."""

    id: int
    amount: Decimal


class BudgetLedger:
    def __init__(self, budget: Decimal, spent: Decimal = Decimal(0)) -> None:
        if budget < 0 or spent < 0:
            raise InvalidInput("budget and spent must not be negative")
        self._budget = Decimal(budget)
        self._spent = Decimal(spent)
        self._open: dict[int, Decimal] = {}
        self._ids = itertools.count(1)
        self._overruns = 0

    @property
    def budget(self) -> Decimal:
        return self._budget

    @property
    def spent(self) -> Decimal:
        return self._spent

    @property
    def reserved(self) -> Decimal:
        return sum(self._open.values(), Decimal(0))

    @property
    def available(self) -> Decimal:
        """What a new reservation may still claim (never negative)."""
        return max(self._budget - self._spent - self.reserved, Decimal(0))

    @property
    def overruns(self) -> int:
        """How many settlements cost more than they reserved (0 with true upper bounds)."""
        return self._overruns

    def reserve(self, amount: Decimal) -> Reservation:
        if amount < 0:
            raise ValueError(f"cannot reserve a negative amount: {amount}")
        available = self.available
        if amount > available:
            raise BudgetExceeded(float(amount), float(available))
        reservation = Reservation(next(self._ids), Decimal(amount))
        self._open[reservation.id] = reservation.amount
        return reservation

    def settle(self, reservation: Reservation, actual: Decimal) -> None:
        """Turn a reservation into spending of `actual`.

        An `actual` above the reservation is still recorded (the money is gone) and counted
        in `overruns`: it means a cost estimate was not a true upper bound.
        """
        if actual < 0:
            raise ValueError(f"a call cannot cost a negative amount: {actual}")
        reserved = self._take(reservation)
        if actual > reserved:
            self._overruns += 1
            log.error(
                "budget overrun: a call cost %s but reserved only %s (worst case too low)",
                actual,
                reserved,
            )
        self._spent += actual

    def release(self, reservation: Reservation) -> None:
        """Drop a reservation whose call cost nothing (it failed before any spending)."""
        self._take(reservation)

    def raise_budget(self, new_budget: Decimal) -> None:
        """Change the cap, e.g. when a job is resumed with more money.

        It may not drop below what is already spent or reserved: that money is committed.
        """
        committed = self._spent + self.reserved
        if new_budget < committed:
            raise InvalidInput(f"budget {new_budget} is below the {committed} already committed")
        self._budget = Decimal(new_budget)

    def _take(self, reservation: Reservation) -> Decimal:
        try:
            return self._open.pop(reservation.id)
        except KeyError:
            # Settling twice would count the money twice: a bug in the caller.
            raise ValueError(f"reservation {reservation.id} is not open") from None
