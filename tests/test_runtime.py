"""The whole engine through the durable runtime: DBOS on real SQLite files, real store."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from conftest import StartRuntime
from fakes import ScriptedClient, plan_task

from orchestrator.config import FaultRates, Settings
from orchestrator.domain import (
    CallOutcome,
    CallRecord,
    JobSpec,
    JobStatus,
    ProjectStatus,
    Role,
    TaskStatus,
)
from orchestrator.events import DoneEvent, TaskEvent
from orchestrator.providers import ClientSet
from orchestrator.store import Store

HELLO = JobSpec(
    project_description="Write a hello world Python script",
    success_criteria="Script prints Hello World",
    budget_usd=0.5,
)


async def task_events(store: Store, job_id: str) -> list[tuple[int, TaskEvent]]:
    return [(e.id, e.event) for e in await store.read_events(job_id) if e.event.type == "task"]


async def test_hello_world_job_succeeds_with_runnable_script(
    start_runtime: StartRuntime, tmp_path: Path
) -> None:
    runtime = await start_runtime()
    job_id = await runtime.submit(HELLO)
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS

    store = runtime.store
    job = await store.get_job(job_id)
    assert job.status is JobStatus.DONE and job.final_status is ProjectStatus.SUCCESS
    assert job.simulated
    assert 0 < job.total_cost <= HELLO.budget_usd
    assert await store.job_spend(job_id) <= Decimal("0.5")

    tasks = await store.list_tasks(job_id)
    assert 3 <= len(tasks) <= 8 and all(t.status is TaskStatus.COMPLETED for t in tasks)
    scripts = [p for p, _ in await store.list_artifacts(job_id) if p.endswith(".py")]
    assert scripts
    for path in scripts:  # the project's modules import each other
        (tmp_path / path).write_bytes(await store.read_artifact(job_id, path))
    script = tmp_path / ("main.py" if "main.py" in scripts else scripts[0])
    run = await asyncio.to_thread(
        subprocess.run, [sys.executable, str(script)], capture_output=True, text=True, timeout=20
    )
    assert run.returncode == 0 and "Hello World" in run.stdout

    events = await store.read_events(job_id)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert isinstance(events[-1].event, DoneEvent)
    assert events[-1].event.status is ProjectStatus.SUCCESS
    transitions = {(ev.task_id, ev.status) for _, ev in await task_events(store, job_id)}
    for t in tasks:  # every transition is announced, not only the end
        assert {(t.task_id, TaskStatus.RUNNING), (t.task_id, TaskStatus.COMPLETED)} <= transitions
    iterations = await store.list_iterations(job_id, tasks[0].task_id)
    assert iterations and iterations[0].critique and iterations[0].scores


async def test_dependent_starts_while_unrelated_slow_task_still_runs(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    b_started = asyncio.Event()

    async def on_generate(task_id: str) -> None:
        if task_id == "b":
            b_started.set()
        elif task_id == "slow":
            # Holds "slow" until "b" starts: a level barrier would never start "b" here.
            await asyncio.wait_for(b_started.wait(), timeout=60)

    plan = [plan_task("a"), plan_task("slow"), plan_task("b", ["a"])]
    client = ScriptedClient(settings.catalog, plan, on_generate=on_generate)
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    job_id = await runtime.submit(JobSpec(project_description="three topics", concurrency=2))
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS

    events = await task_events(runtime.store, job_id)
    b_running = min(i for i, e in events if e.task_id == "b" and e.status is TaskStatus.RUNNING)
    slow_done = min(
        i for i, e in events if e.task_id == "slow" and e.status is TaskStatus.COMPLETED
    )
    assert b_running < slow_done
    assert [s.task_id for s in client.seen if s.role is Role.GENERATE].count("b") == 1


async def test_failed_dependency_skips_dependents_with_reason(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    plan = [plan_task("c"), plan_task("a"), plan_task("b", ["a"])]
    client = ScriptedClient(settings.catalog, plan, fail_generate=frozenset({"a"}))
    runtime = await start_runtime(ClientSet([client], settings.catalog), retry_backoff_s=0)
    job_id = await runtime.submit(JobSpec(project_description="topics", concurrency=1))
    assert await runtime.wait(job_id) is ProjectStatus.PARTIAL_SUCCESS
    tasks = {t.task_id: t for t in await runtime.store.list_tasks(job_id)}
    assert tasks["c"].status is TaskStatus.COMPLETED
    assert tasks["a"].status is TaskStatus.FAILED
    assert tasks["b"].status is TaskStatus.SKIPPED
    assert "a" in tasks["b"].reason and "skipped" in tasks["b"].reason
    assert not [s for s in client.seen if s.task_id == "b"]  # never ran


async def test_time_limit_ends_job_with_timeout(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    never = asyncio.Event()

    async def hang(task_id: str) -> None:
        await never.wait()

    client = ScriptedClient(settings.catalog, [plan_task("a"), plan_task("b")], on_generate=hang)
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    job_id = await runtime.submit(JobSpec(project_description="x", time_limit_s=1.0))
    assert await runtime.wait(job_id) is ProjectStatus.TIMEOUT
    job = await runtime.store.get_job(job_id)
    assert job.status is JobStatus.FAILED
    last = (await runtime.store.read_events(job_id))[-1].event
    assert isinstance(last, DoneEvent) and last.status is ProjectStatus.TIMEOUT


async def test_cancel_stops_new_calls_at_once(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    generating = asyncio.Event()
    release = asyncio.Event()

    async def block(task_id: str) -> None:
        generating.set()
        await release.wait()

    plan = [plan_task("a"), plan_task("b", ["a"]), plan_task("c", ["b"])]
    client = ScriptedClient(settings.catalog, plan, on_generate=block)
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    job_id = await runtime.submit(JobSpec(project_description="x", concurrency=1))
    await asyncio.wait_for(generating.wait(), timeout=30)
    calls_before = len(client.seen)
    await runtime.cancel(job_id)
    release.set()
    assert await runtime.wait(job_id) is ProjectStatus.CANCELLED
    assert len(client.seen) == calls_before  # the call in flight finished; none started after
    job = await runtime.store.get_job(job_id)
    assert job.status is JobStatus.CANCELLED and job.final_status is ProjectStatus.CANCELLED
    tasks = {t.task_id: t.status for t in await runtime.store.list_tasks(job_id)}
    assert tasks["b"] is TaskStatus.PENDING and tasks["c"] is TaskStatus.PENDING


async def test_resume_after_budget_exhausted_reruns_only_what_did_not_finish(
    start_runtime: StartRuntime, tmp_path: Path
) -> None:
    bills = tmp_path / "billing.log"
    runtime = await start_runtime(sim_billing_log=bills)
    store = runtime.store
    # The smallest budget that lets some tasks finish but not all (a few tries, cheapest first).
    for budget in ("0.003", "0.004", "0.006", "0.008"):
        job_id = await runtime.submit(HELLO.model_copy(update={"budget_usd": float(budget)}))
        status = await runtime.wait(job_id)
        assert await store.job_spend(job_id) <= Decimal(budget)
        first = {t.task_id: t for t in await store.list_tasks(job_id)}
        finished = {tid for tid, t in first.items() if t.status is TaskStatus.COMPLETED}
        if status is ProjectStatus.BUDGET_EXHAUSTED and finished:
            break
    else:
        raise AssertionError("no budget stopped the job half-way")
    assert finished != set(first)
    calls_before = await store.list_calls(job_id=job_id)

    await runtime.resume(job_id, budget_usd=0.5)
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    assert (await store.get_job(job_id)).attempt == 1
    assert await store.job_spend(job_id) <= Decimal("0.5")
    calls_after = await store.list_calls(job_id=job_id)
    new_calls = calls_after[len(calls_before) :]
    assert calls_after[: len(calls_before)] == calls_before
    assert not [c for c in new_calls if c.task_id in finished]  # finished tasks not re-run
    for tid in finished:
        assert (await store.get_task(job_id, tid)).iterations == first[tid].iterations
    # Every call the provider saw is recorded once: nothing was paid for twice.
    billed = bills.read_text().splitlines()
    assert len(billed) == len(await store.list_calls())


async def test_job_with_30_percent_injected_faults_finishes_within_budget(
    start_runtime: StartRuntime,
) -> None:
    faults = FaultRates(rate_limit=0.1, server_error=0.1, malformed=0.1)
    runtime = await start_runtime(sim_faults=faults, retry_backoff_s=0)
    job_id = await runtime.submit(HELLO)
    status = await runtime.wait(job_id)
    assert status in (ProjectStatus.SUCCESS, ProjectStatus.PARTIAL_SUCCESS)
    store = runtime.store
    assert await store.job_spend(job_id) <= Decimal("0.5")
    calls = await store.list_calls(job_id=job_id)
    outcomes = {c.outcome for c in calls}
    assert {CallOutcome.OK, CallOutcome.RATE_LIMITED, CallOutcome.ERROR} <= outcomes

    # Every failed attempt was followed by another try (same or another model) of that call.
    def key(c: CallRecord) -> tuple[object, ...]:
        return (c.task_id, c.iteration, c.role, c.slot)

    attempts: dict[tuple[object, ...], list[int]] = {}
    for c in calls:
        attempts.setdefault(key(c), []).append(c.attempt)
    failed = [c for c in calls if c.outcome is not CallOutcome.OK]
    assert failed
    assert all(max(attempts[key(c)]) > c.attempt for c in failed)
    tasks = await store.list_tasks(job_id)
    assert all(t.status in (TaskStatus.COMPLETED, TaskStatus.DEGRADED) for t in tasks)
