"""The database ledger inside whole jobs: a paid answer the database failed to store is not
paid again, a resume runs once however many are asked at once, a resume adds exactly the
budget it is given, and a resume with nothing to run is refused.

Real runtime (DBOS and the store on SQLite files), the simulator or a scripted provider; the
store that fails on purpose is the real Store with one method made to raise.
"""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import StartRuntime
from fakes import ScriptedClient, plan_task
from sqlalchemy.exc import OperationalError

from orchestrator.config import Settings
from orchestrator.domain import (
    CallOutcome,
    CallRecord,
    JobBudget,
    JobRecord,
    JobSpec,
    ProjectStatus,
    Role,
)
from orchestrator.errors import InvalidInput, JobConflict
from orchestrator.events import LogEvent
from orchestrator.providers import ClientSet
from orchestrator.runtime import Runtime
from orchestrator.store import Store

HELLO = JobSpec(
    project_description="Write a hello world Python script",
    success_criteria="Script prints Hello World",
)


class SettleFailsOnceStore(Store):
    """The first paid answer of a generation is charged, then the commit fails (the database
    went away at that moment): the row stays in flight, the step fails and runs again."""

    failed: list[CallRecord]

    async def settle_call(self, call: CallRecord) -> JobBudget:
        if call.role is Role.GENERATE and call.outcome is CallOutcome.OK and not self.failed:
            self.failed.append(call)
            raise OperationalError("UPDATE llm_calls ...", {}, sqlite3.OperationalError("disk I/O"))
        return await super().settle_call(call)


async def test_a_paid_answer_the_database_failed_to_store_is_not_paid_again(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    store = await SettleFailsOnceStore.open(settings.store_url)
    store.failed = []
    client = ScriptedClient(settings.catalog, [plan_task("a")])
    runtime = await start_runtime(ClientSet([client], settings.catalog), store=store)
    job_id = await runtime.submit(JobSpec(project_description="x", concurrency=1))

    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    [lost] = store.failed  # the failure happened
    generations = [s for s in client.seen if s.role is Role.GENERATE]
    assert len(generations) == 1  # the retried step stored the answer it had, and paid nothing
    calls = await store.list_calls(job_id=job_id)
    [stored] = [c for c in calls if c.role is Role.GENERATE]
    assert (stored.attempt, stored.outcome) == (lost.attempt, CallOutcome.OK)
    assert stored.cost_usd == lost.cost_usd > 0
    money = await store.job_budget(job_id)
    assert money.spent_usd == await store.job_spend(job_id) > 0
    assert money.reserved_usd == 0


async def exhausted_job(runtime: Runtime) -> tuple[str, Decimal]:
    """A hello job stopped by its budget half-way: (job id, what it spent)."""
    for budget in ("0.003", "0.004", "0.006", "0.008"):
        job_id = await runtime.submit(HELLO.model_copy(update={"budget_usd": float(budget)}))
        if await runtime.wait(job_id) is ProjectStatus.BUDGET_EXHAUSTED:
            spent = await runtime.store.job_spend(job_id)
            if spent > 0:
                return job_id, spent
    raise AssertionError("no budget stopped the job half-way")


async def test_two_resumes_at_once_start_one_run(
    start_runtime: StartRuntime, tmp_path: Path
) -> None:
    bills = tmp_path / "billing.log"
    runtime = await start_runtime(sim_billing_log=bills)
    job_id, _ = await exhausted_job(runtime)

    outcomes = await asyncio.gather(
        *(runtime.resume(job_id, budget_usd=0.5) for _ in range(2)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, JobConflict)]
    assert len(refused) == 1 and outcomes.count(None) == 1, outcomes
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    assert (await runtime.store.get_job(job_id)).attempt == 1
    # Every call the provider saw is recorded once: no task ran in two runs at once.
    assert len(bills.read_text().splitlines()) == len(await runtime.store.list_calls())


class LateClickStore(Store):
    """Right after a resume's claim commits, before its run starts, a second resume arrives
    (a double click, the CLI beside the API): its outcome is kept."""

    runtime: Runtime
    late: list[JobConflict | None]

    async def resume_job(self, seen: JobRecord, **kwargs: Any) -> int:
        attempt = await super().resume_job(seen, **kwargs)
        if not self.late:
            self.late.append(None)  # the late resume went on (it is not asked twice)
            try:
                await self.runtime.resume(seen.job_id, budget_usd=0.5)
            except JobConflict as e:
                self.late[0] = e
        return attempt


async def test_a_resume_arriving_while_another_starts_its_run_is_refused(
    start_runtime: StartRuntime, settings: Settings, tmp_path: Path
) -> None:
    bills = tmp_path / "billing.log"
    store = await LateClickStore.open(settings.store_url)
    store.late = []
    runtime = await start_runtime(store=store, sim_billing_log=bills)
    store.runtime = runtime
    job_id, _ = await exhausted_job(runtime)

    await runtime.resume(job_id, budget_usd=0.5)
    [late] = store.late
    assert isinstance(late, JobConflict) and "starting" in str(late), late
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    assert (await runtime.store.get_job(job_id)).attempt == 1
    assert len(bills.read_text().splitlines()) == len(await runtime.store.list_calls())


async def test_a_resume_adds_exactly_the_budget_it_is_given(start_runtime: StartRuntime) -> None:
    runtime = await start_runtime()
    job_id, spent = await exhausted_job(runtime)
    with pytest.raises(InvalidInput):  # below what is spent: refused, nothing changes
        await runtime.resume(job_id, budget_usd=float(spent) / 2)
    assert (await runtime.store.get_job(job_id)).attempt == 0

    # Just above the spend: room for a call or two, not for the rest of the job.
    cap = spent + Decimal("0.0015")
    await runtime.resume(job_id, budget_usd=float(cap))
    assert await runtime.wait(job_id) is ProjectStatus.BUDGET_EXHAUSTED
    money = await runtime.store.job_budget(job_id)
    assert spent < money.spent_usd <= cap  # it spent, and stopped at the new cap
    assert money.spent_usd == await runtime.store.job_spend(job_id)


async def test_a_resume_with_nothing_left_to_run_is_refused(start_runtime: StartRuntime) -> None:
    runtime = await start_runtime()
    job_id = await runtime.submit(HELLO.model_copy(update={"budget_usd": 0.5}))
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    with pytest.raises(JobConflict, match="nothing left to run"):
        await runtime.resume(job_id)
    job = await runtime.store.get_job(job_id)
    assert job.attempt == 0 and job.final_status is ProjectStatus.SUCCESS


async def test_a_resume_charges_attempts_a_dead_run_left_in_flight(
    start_runtime: StartRuntime,
) -> None:
    runtime = await start_runtime()
    store = runtime.store
    job_id, spent = await exhausted_job(runtime)
    # A run that died mid-call left an attempt in flight holding most of a raised budget.
    await store.set_job_fields(job_id, budget_usd=0.5, time_limit_s=15, now=0.0)
    ghost = CallRecord(
        job_id=job_id,
        task_id="ghost",
        iteration=1,
        role=Role.GENERATE,
        model="gpt-4o",
        provider="openai",
        request_hash="h",
        outcome=CallOutcome.IN_FLIGHT,
        created_at=0.0,
    )
    held = Decimal("0.5") - spent - Decimal("0.0001")  # no call fits beside it
    await store.reserve_call(ghost, held)

    await runtime.resume(job_id)
    # Charged at once, it holds nothing: the new run's calls do not wait for it to return
    # (they would until the time limit), and the budget still holds.
    assert await runtime.wait(job_id) is not ProjectStatus.TIMEOUT
    [row] = [c for c in await store.list_calls(job_id=job_id) if c.task_id == "ghost"]
    assert (row.outcome, row.cost_usd) == (CallOutcome.INTERRUPTED, float(held))
    money = await store.job_budget(job_id)
    assert money.reserved_usd == 0 and spent + held <= money.spent_usd <= Decimal("0.5")


async def test_the_job_log_shows_the_cap_as_set_and_what_each_task_is_for(
    start_runtime: StartRuntime,
) -> None:
    runtime = await start_runtime()
    job_id = await runtime.submit(HELLO.model_copy(update={"budget_usd": 0.0035}))
    await runtime.wait(job_id)
    events = [e.event for e in await runtime.store.read_events(job_id)]
    lines = [e.msg for e in events if isinstance(e, LogEvent)]
    assert any(line.endswith("budget $0.0035") for line in lines), lines[:3]
    tasks = await runtime.store.list_tasks(job_id)
    assert tasks and all(t.title for t in tasks)
    for task in tasks:
        assert any(line.startswith(f"{task.task_id} {task.title} [") for line in lines)
