"""The budget ledger: a hard cap under any interleaving of reserve / settle / release."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from orchestrator.engine.ledger import BudgetLedger, Reservation
from orchestrator.errors import BudgetExceeded, InvalidInput

money = st.decimals(min_value=0, max_value=5, places=10, allow_nan=False, allow_infinity=False)
fraction = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)


def test_reserve_refuses_what_does_not_fit() -> None:
    ledger = BudgetLedger(Decimal("1.00"))
    first = ledger.reserve(Decimal("0.60"))
    with pytest.raises(BudgetExceeded) as raised:
        ledger.reserve(Decimal("0.41"))
    assert raised.value.needed == pytest.approx(0.41)
    assert raised.value.available == pytest.approx(0.40)
    ledger.reserve(Decimal("0.40"))  # exactly the rest fits
    assert ledger.available == 0
    ledger.settle(first, Decimal("0.10"))
    assert ledger.spent == Decimal("0.10")
    assert ledger.reserved == Decimal("0.40")
    assert ledger.available == Decimal("0.50")


def test_release_frees_the_reservation_without_spending() -> None:
    ledger = BudgetLedger(Decimal("1"), spent=Decimal("0.25"))
    r = ledger.reserve(Decimal("0.75"))
    ledger.release(r)
    assert (ledger.spent, ledger.reserved, ledger.available) == (
        Decimal("0.25"),
        Decimal(0),
        Decimal("0.75"),
    )


def test_a_reservation_is_closed_exactly_once() -> None:
    ledger = BudgetLedger(Decimal("1"))
    r = ledger.reserve(Decimal("0.5"))
    ledger.settle(r, Decimal("0.2"))
    with pytest.raises(ValueError, match="not open"):
        ledger.settle(r, Decimal("0.2"))
    with pytest.raises(ValueError, match="not open"):
        ledger.release(r)
    assert ledger.spent == Decimal("0.2")


def test_an_overrun_is_recorded_and_flagged() -> None:
    ledger = BudgetLedger(Decimal("1"))
    r = ledger.reserve(Decimal("0.1"))
    ledger.settle(r, Decimal("0.3"))  # the money is gone: it must show
    assert ledger.spent == Decimal("0.3")
    assert ledger.overruns == 1


def test_raise_budget_for_a_resumed_job() -> None:
    ledger = BudgetLedger(Decimal("1"), spent=Decimal("0.9"))
    with pytest.raises(BudgetExceeded):
        ledger.reserve(Decimal("0.5"))
    ledger.raise_budget(Decimal("2"))
    ledger.reserve(Decimal("0.5"))
    assert ledger.budget == Decimal("2")
    with pytest.raises(InvalidInput):
        ledger.raise_budget(Decimal("1.3"))  # below spent + reserved


def test_negative_amounts_are_bugs() -> None:
    ledger = BudgetLedger(Decimal("1"))
    with pytest.raises(ValueError):
        ledger.reserve(Decimal("-0.1"))
    r = ledger.reserve(Decimal("0.1"))
    with pytest.raises(ValueError):
        ledger.settle(r, Decimal("-0.1"))


class LedgerMachine(RuleBasedStateMachine):
    """Random interleavings of many open reservations, checked against a plain model."""

    reservations = Bundle("reservations")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = BudgetLedger(Decimal("3"))
        self.open: dict[int, Decimal] = {}
        self.expected_spent = Decimal(0)

    @rule(target=reservations, amount=money)
    def reserve(self, amount: Decimal) -> Reservation | None:
        fits = self.expected_spent + sum(self.open.values(), Decimal(0)) + amount <= Decimal(3)
        try:
            r = self.ledger.reserve(amount)
        except BudgetExceeded:
            assert not fits
            return None
        assert fits
        self.open[r.id] = amount
        return r

    @precondition(lambda self: self.open)
    @rule(r=consumes(reservations), part=fraction)
    def settle(self, r: Reservation | None, part: Decimal) -> None:
        if r is None or r.id not in self.open:
            return
        actual = (self.open.pop(r.id) * part).quantize(Decimal("1e-10"))
        self.ledger.settle(r, actual)
        self.expected_spent += actual

    @precondition(lambda self: self.open)
    @rule(r=consumes(reservations))
    def release(self, r: Reservation | None) -> None:
        if r is None or r.id not in self.open:
            return
        self.open.pop(r.id)
        self.ledger.release(r)

    @invariant()
    def never_over_budget(self) -> None:
        assert self.ledger.spent + self.ledger.reserved <= self.ledger.budget
        assert self.ledger.spent == self.expected_spent
        assert self.ledger.reserved == sum(self.open.values(), Decimal(0))
        assert self.ledger.overruns == 0


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


@settings(max_examples=100, deadline=None)
@given(
    budget=money,
    calls=st.lists(
        st.tuples(money, fraction, st.booleans(), st.integers(min_value=0, max_value=3)),
        min_size=1,
        max_size=30,
    ),
)
def test_concurrent_calls_never_spend_past_the_budget(
    budget: Decimal, calls: list[tuple[Decimal, Decimal, bool, int]]
) -> None:
    """Coroutines reserve, yield to each other while 'calling', then settle or release."""
    ledger = BudgetLedger(budget)
    seen: list[Decimal] = []

    async def call(worst: Decimal, part: Decimal, fails: bool, yields: int) -> None:
        try:
            r = ledger.reserve(worst)
        except BudgetExceeded:
            return
        for _ in range(yields):
            seen.append(ledger.spent + ledger.reserved)
            await asyncio.sleep(0)  # other calls run here, as during a real request
        if fails:
            ledger.release(r)
        else:
            ledger.settle(r, (worst * part).quantize(Decimal("1e-10")))
        seen.append(ledger.spent + ledger.reserved)

    async def run() -> None:
        await asyncio.gather(*(call(*c) for c in calls))

    asyncio.run(run())
    assert all(total <= budget for total in seen)
    assert ledger.spent <= budget
    assert ledger.reserved == 0
