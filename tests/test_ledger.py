"""The job's budget in the database: a hard cap under any interleaving of reserve / settle,
shared by every process, exact to the last 1e-10 dollar on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import secrets
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_fixtures import T0, call, new_job, pg_database, spec, store, store_url

from orchestrator.domain import CallOutcome, CallRecord, JobStatus
from orchestrator.errors import BudgetExceeded, InvalidInput, JobConflict, JobNotFound, StaleRun
from orchestrator.events import JobEvent, StatusEvent
from orchestrator.store import Store

__all__ = ["pg_database", "store", "store_url"]  # fixtures, used by name

money = st.decimals(min_value=0, max_value=2, places=10, allow_nan=False, allow_infinity=False)
fraction = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)


def attempt(job_id: str, n: int, cost: Decimal = Decimal(0)) -> CallRecord:
    """Attempt `n` of one logical call, as the executor records it."""
    return call(job_id, attempt=n, cost_usd=float(cost))


async def test_a_reservation_holds_budget_until_it_is_settled_with_the_bill(store: Store) -> None:
    job = await new_job(store, budget_usd=1.0)
    await store.reserve_call(attempt(job, 0), Decimal("0.60"))
    with pytest.raises(BudgetExceeded):
        await store.reserve_call(attempt(job, 1), Decimal("0.41"))
    assert [c.attempt for c in await store.list_calls(job_id=job)] == [0]  # nothing stored
    after = await store.reserve_call(attempt(job, 1), Decimal("0.40"))  # exactly the rest
    assert after.available_usd == 0

    settled = await store.settle_call(attempt(job, 0, Decimal("0.10")))
    assert (settled.spent_usd, settled.reserved_usd) == (Decimal("0.10"), Decimal("0.40"))
    assert settled.available_usd == Decimal("0.50")
    assert await store.job_budget(job) == settled
    rows = {c.attempt: c for c in await store.list_calls(job_id=job)}
    assert (rows[0].outcome, rows[0].cost_usd, rows[0].reserved_usd) == (CallOutcome.OK, 0.1, 0.6)
    assert (rows[1].outcome, rows[1].reserved_usd) == (CallOutcome.IN_FLIGHT, 0.4)
    assert (await store.get_job(job)).total_cost == 0.1  # the job's spend is live
    assert await store.job_spend(job) == Decimal("0.10")


async def test_a_settlement_charges_what_the_attempt_holds_whatever_its_record_says(
    store: Store,
) -> None:
    job = await new_job(store, budget_usd=1.0)
    held = attempt(job, 0, Decimal("0.1")).model_copy(update={"reserved_usd": 0.3})
    await store.reserve_call(held, Decimal("0.3"))
    await store.reserve_call(attempt(job, 1), Decimal("0.2"))
    settled = await store.settle_call(held)  # its record holds its reservation: the usual
    assert (settled.spent_usd, settled.reserved_usd) == (Decimal("0.1"), Decimal("0.2"))
    assert await store.settle_call(held) == settled  # a step that ran again: nothing changes
    misstated = attempt(job, 1, Decimal("0.05")).model_copy(update={"reserved_usd": 0.25})
    settled = await store.settle_call(misstated)  # charged what its row holds, not 0.25
    assert (settled.spent_usd, settled.reserved_usd) == (Decimal("0.15"), Decimal(0))
    assert await store.job_budget(job) == settled
    assert (await store.get_job(job)).total_cost == 0.15
    rows = {c.attempt: c for c in await store.list_calls(job_id=job)}
    assert [(r.outcome, r.cost_usd, r.reserved_usd) for r in rows.values()] == [
        (CallOutcome.OK, 0.1, 0.3),
        (CallOutcome.OK, 0.05, 0.2),
    ]


async def test_a_stale_run_reserves_nothing_even_where_the_budget_refuses_too(
    store: Store,
) -> None:
    job = await new_job(store, budget_usd=1.0)
    token = await store.claim_run(job, 0, owner="old")
    await store.claim_run(job, 0, owner="new")
    for amount in (Decimal("0.1"), Decimal("2")):  # fits / does not: the run decides first
        with pytest.raises(StaleRun):
            await store.reserve_call(attempt(job, 0), amount, run=token)
    assert await store.list_calls(job_id=job) == []
    assert (await store.job_budget(job)).reserved_usd == 0
    with pytest.raises(JobNotFound):
        await store.reserve_call(attempt("job0nope", 0), Decimal("0.1"), run=token)


async def test_an_attempt_is_reserved_once(store: Store) -> None:
    job = await new_job(store)
    await store.reserve_call(attempt(job, 0), Decimal("0.1"))
    with pytest.raises(JobConflict):
        await store.reserve_call(attempt(job, 0), Decimal("0.1"))
    assert (await store.job_budget(job)).reserved_usd == Decimal("0.1")


async def test_an_interrupted_attempt_is_charged_its_reservation(store: Store) -> None:
    job = await new_job(store, budget_usd=1.0)
    await store.reserve_call(attempt(job, 0), Decimal("0.3"))
    await store.reserve_call(attempt(job, 1), Decimal("0.2"))
    await store.settle_call(attempt(job, 1, Decimal("0.05")))
    stale = await store.in_flight_calls(job)
    assert [c.attempt for c in stale] == [0]

    money = await store.close_interrupted(job, stale)
    assert (money.spent_usd, money.reserved_usd) == (Decimal("0.35"), Decimal(0))
    [row] = [c for c in await store.list_calls(job_id=job) if c.attempt == 0]
    assert (row.outcome, row.cost_usd) == (CallOutcome.INTERRUPTED, 0.3)
    again = await store.close_interrupted(job, stale)  # closing twice charges once
    assert again.spent_usd == Decimal("0.35")
    # The answer arrives after all (its process was only slow): the bill replaces the charge.
    late = await store.settle_call(attempt(job, 0, Decimal("0.01")))
    assert late.spent_usd == Decimal("0.06")
    again = await store.settle_call(attempt(job, 0, Decimal("0.01")))  # a step ran again
    assert again == late


async def test_closing_a_job_in_flight_charges_each_open_attempt_once(store: Store) -> None:
    job = await new_job(store, budget_usd=1.0)
    other = await new_job(store, "job00002", budget_usd=1.0)
    await store.reserve_call(attempt(job, 0), Decimal("0.3"))
    await store.reserve_call(attempt(job, 1), Decimal("0.2"))
    await store.reserve_call(attempt(job, 2), Decimal("0.1"))
    await store.settle_call(attempt(job, 2, Decimal("0.05")))
    await store.reserve_call(attempt(other, 0), Decimal("0.4"))

    money = await store.close_in_flight(job)
    assert (money.spent_usd, money.reserved_usd) == (Decimal("0.55"), Decimal(0))
    assert await store.in_flight_calls(job) == []
    assert await store.close_in_flight(job) == money  # nothing left open: nothing charged
    # Another job's attempt in flight is not this job's to close.
    assert (await store.job_budget(other)).reserved_usd == Decimal("0.4")


async def test_of_two_resumes_that_saw_one_run_one_claims_it(store: Store) -> None:
    job = await new_job(store, budget_usd=1.0)
    await store.set_job_status(job, status=JobStatus.FAILED, now=T0)
    seen = await store.get_job(job)

    def told(reset: list[str]) -> list[JobEvent]:
        return [StatusEvent(status=JobStatus.PENDING, ts=T0)]

    claims = await asyncio.gather(
        *(store.resume_job(seen, now=T0 + 1, announce=told) for _ in range(2)),
        return_exceptions=True,
    )
    assert 1 in claims and sum(isinstance(c, JobConflict) for c in claims) == 1, claims
    after = await store.get_job(job)
    assert (after.attempt, after.status) == (1, JobStatus.PENDING)
    assert await store.last_event_id(job) == 1  # told once
    with pytest.raises(JobConflict):  # a late resume, that saw the run before the claim
        await store.resume_job(seen, now=T0 + 2, announce=told)


async def test_a_resume_below_the_spend_it_charges_changes_nothing(store: Store) -> None:
    job = await new_job(store, budget_usd=1.0)
    await store.reserve_call(attempt(job, 0), Decimal("0.6"))  # left in flight by a dead run
    await store.set_job_status(job, status=JobStatus.FAILED, now=T0)
    seen = await store.get_job(job)
    with pytest.raises(InvalidInput, match="below"):  # it charges 0.6: 0.5 is too little
        await store.resume_job(seen, now=T0 + 1, budget_usd=0.5, announce=lambda reset: [])
    after = await store.get_job(job)
    assert (after.attempt, after.status, after.spec.budget_usd) == (0, JobStatus.FAILED, 1.0)
    assert [c.attempt for c in await store.in_flight_calls(job)] == [0]  # not closed either

    attempt_no = await store.resume_job(seen, now=T0 + 1, budget_usd=0.7, announce=lambda r: [])
    money = await store.job_budget(job)
    assert attempt_no == 1 and await store.in_flight_calls(job) == []
    assert (money.budget_usd, money.spent_usd, money.reserved_usd) == (
        Decimal("0.7"),
        Decimal("0.6"),
        Decimal(0),
    )


async def test_resuming_with_a_higher_budget_is_seen_by_the_ledger(store: Store) -> None:
    job = await new_job(store, budget_usd=0.5)
    await store.reserve_call(attempt(job, 0), Decimal("0.5"))
    await store.settle_call(attempt(job, 0, Decimal("0.5")))
    with pytest.raises(BudgetExceeded):
        await store.reserve_call(attempt(job, 1), Decimal("0.0000000001"))
    await store.set_job_fields(job, budget_usd=0.75, now=0.0)
    assert (await store.reserve_call(attempt(job, 1), Decimal("0.25"))).available_usd == 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    budget=money,
    calls=st.lists(st.tuples(money, fraction, st.integers(0, 3)), min_size=1, max_size=12),
    seed=st.integers(0, 1000),
)
def test_calls_from_two_processes_never_spend_past_the_budget(
    store: Store,  # the schema, migrated once
    store_url: str,
    budget: Decimal,
    calls: list[tuple[Decimal, Decimal, int]],
    seed: int,
) -> None:
    """Two Stores (two connection pools, as two processes have) reserve and settle one job's
    calls concurrently; each call bills a fraction of its reservation."""

    async def run() -> tuple[Decimal, Decimal, list[Decimal]]:
        first = await Store.open(store_url, migrate=False)
        second = await Store.open(store_url, migrate=False)
        try:
            job = secrets.token_hex(4)  # examples share the database
            await first.create_job(
                job_id=job,
                spec=spec(budget_usd=float(max(budget, Decimal("0.000001")))),
                simulated=True,
                now=0.0,
            )
            cap = (await first.job_budget(job)).budget_usd
            billed: list[Decimal] = []
            committed: list[Decimal] = []  # spent + reserved after each reservation

            async def one(n: int, worst: Decimal, part: Decimal, yields: int) -> None:
                store = (first, second)[random.Random(seed + n).random() < 0.5]
                try:
                    after = await store.reserve_call(attempt(job, n), worst)
                except BudgetExceeded:
                    return
                committed.append(after.spent_usd + after.reserved_usd)
                for _ in range(yields):
                    await asyncio.sleep(0)
                bill = (worst * part).quantize(Decimal("1e-10"))
                billed.append(bill)
                settled = attempt(job, n, bill)
                if n % 2:  # the executor's record says what it holds; a bare one does not
                    settled.reserved_usd = float(worst)
                await store.settle_call(settled)

            await asyncio.gather(*(one(n, *c) for n, c in enumerate(calls)))
            money = await first.job_budget(job)
            assert all(total <= cap for total in committed)
            assert money.reserved_usd == 0  # every reservation became spending
            return cap, money.spent_usd, billed
        finally:
            await first.close()
            await second.close()

    cap, spent, billed = asyncio.run(run())
    assert spent == sum(billed, Decimal(0))  # the ledger's total is the bill, exactly
    assert spent <= cap
