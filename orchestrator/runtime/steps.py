"""What the job's durable steps do: each reads or writes the store and emits events.

`JobRunner` (workflows.py) wraps each method in a DBOS step, so after a crash a completed
step is replayed from its recorded result and never runs twice. Writes are idempotent and
emit an event only on a real change, so a step in flight at a crash may safely run again.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from orchestrator.domain import (
    IterationRecord,
    JobSpec,
    JobStatus,
    ProjectStatus,
    TaskResult,
    TaskState,
    TaskStatus,
)
from orchestrator.engine.artifacts import build_artifacts
from orchestrator.engine.calls_api import CallResult, CallSpec, CallStatus
from orchestrator.engine.sandbox import SandboxLimits, isolation_of
from orchestrator.errors import SandboxRefused
from orchestrator.events import CostEvent, DoneEvent, LogLevel, StatusEvent, TaskEvent
from orchestrator.money import usd, usd_exact
from orchestrator.runtime.jobrun import JobRuns, RuntimeDeps, now


class JobStart(BaseModel):
    spec: JobSpec
    deadline: float
    concurrency: int
    tasks: list[TaskState]


def task_event(state: TaskState) -> TaskEvent:
    return TaskEvent(
        task_id=state.task_id,
        status=state.status,
        score=state.score,
        model=state.model,
        cost=round(state.cost_usd, 6),
        iterations=state.iterations,
        reason=state.reason,
    )


class JobSteps:
    def __init__(self, deps: RuntimeDeps, runs: JobRuns) -> None:
        self.deps = deps
        self.runs = runs

    async def llm_call(self, job_id: str, deadline: float, spec: CallSpec) -> CallResult:
        run = await self.runs.get(job_id, deadline)
        result = await run.caller(spec)
        events = self.deps.events
        # "task_002 iteration 2": the dashboard opens that iteration from the line.
        where = f"{spec.task_id} iteration {spec.iteration}" if spec.task_id else "plan"
        if result.ok:
            events.log(
                job_id,
                f"{where} · {spec.role} by {result.model} "
                f"({result.input_tokens}+{result.output_tokens} tok, {usd(result.cost_usd)}, "
                f"{result.latency_ms:.0f} ms)",
                "DEBUG",
            )
        else:
            level: LogLevel = "ERROR" if result.status is CallStatus.FAILED else "WARNING"
            events.log(
                job_id, f"{where} · {spec.role} not done: {result.status}. {result.error}", level
            )
        money = run.ledger.last or await run.ledger.budget()
        events.emit(
            job_id,
            CostEvent(
                total_cost=float(money.spent_usd), budget_usd=float(money.budget_usd), ts=now()
            ),
        )
        await events.flush(job_id)
        return result

    async def begin_job(self, job_id: str) -> JobStart:
        """Mark the job running and say how its generated code will be isolated; raises
        SandboxRefused, before any call, when ORCH_SANDBOX demands isolation this machine
        cannot give (the job then ends with that reason)."""
        store, events, settings = self.deps.store, self.deps.events, self.deps.settings
        job = await store.get_job(job_id)
        limits = SandboxLimits(isolation=settings.sandbox, bwrap=settings.sandbox_bwrap)
        isolation = await asyncio.to_thread(isolation_of, limits)
        if job.status is not JobStatus.CANCELLED and await store.set_job_status(
            job_id, status=JobStatus.RUNNING, now=now()
        ):
            events.emit(job_id, StatusEvent(status=JobStatus.RUNNING, ts=now()))
            label = " on simulated providers" if job.simulated else ""
            events.log(job_id, f"job started{label}: budget {usd_exact(job.spec.budget_usd)}")
            level: LogLevel = "WARNING" if isolation.backend == "none" else "INFO"
            events.log(job_id, f"generated code isolation: {isolation.label}", level)
        await events.flush(job_id)
        if isolation.refused:
            raise SandboxRefused(f"refusing to run generated code: {isolation.why}")
        return JobStart(
            spec=job.spec,
            deadline=now() + job.spec.time_limit_s,
            concurrency=job.spec.concurrency,
            tasks=await store.list_tasks(job_id),
        )

    async def save_plan(
        self, job_id: str, tasks: list[TaskState], fallback: bool
    ) -> list[TaskState]:
        store, events = self.deps.store, self.deps.events
        if await store.save_plan(job_id, tasks):
            kind = "fallback single-task plan" if fallback else "plan"
            events.log(job_id, f"{kind}: {len(tasks)} tasks", "WARNING" if fallback else "INFO")
            for t in tasks:
                deps = f" after {', '.join(t.dependencies)}" if t.dependencies else ""
                title = f" {t.title}" if t.title else ""
                events.log(job_id, f"{t.task_id}{title} [{t.type}]{deps}: {t.prompt[:120]}")
                events.emit(job_id, task_event(t))
        await events.flush(job_id)
        return await store.list_tasks(job_id)

    async def begin_task(self, job_id: str, task_id: str) -> TaskState:
        store, events = self.deps.store, self.deps.events
        state = await store.update_task(job_id, task_id, status=TaskStatus.RUNNING, now=now())
        if state is not None:
            events.emit(job_id, task_event(state))
            events.log(job_id, f"{task_id} started" + (f": {state.title}" if state.title else ""))
            await events.flush(job_id)
        return await store.get_task(job_id, task_id)

    async def save_iteration(self, job_id: str, task_id: str, record: IterationRecord) -> None:
        store, events = self.deps.store, self.deps.events
        if not await store.save_iteration(job_id, task_id, record):
            return
        failed = [v.name for v in record.validators if not v.passed]
        checks = f"; failed checks: {', '.join(failed)}" if failed else ""
        events.log(
            job_id,
            f"{task_id} iteration {record.iteration}: score {record.score:.2f} "
            f"by {record.model}{checks}",
        )
        task = await store.get_task(job_id, task_id)
        state = await store.update_task(
            job_id,
            task_id,
            status=TaskStatus.RUNNING,
            score=max(record.score, task.score or 0.0),
            model=record.model,
            cost_usd=task.cost_usd + record.cost_usd,
            iterations=record.iteration,
            now=now(),
        )
        if state is not None:
            events.emit(job_id, task_event(state))
        await events.flush(job_id)

    async def finish_task(self, job_id: str, result: TaskResult) -> None:
        store, events = self.deps.store, self.deps.events
        state = await store.update_task(
            job_id,
            result.task_id,
            status=result.status,
            score=result.score,
            model=result.model,
            cost_usd=result.cost_usd,
            iterations=result.iterations,
            output=result.output,
            reason=result.reason,
            now=now(),
        )
        if state is not None:
            events.emit(job_id, task_event(state))
            level: LogLevel = "INFO" if result.status is TaskStatus.COMPLETED else "WARNING"
            why = f" ({result.reason})" if result.reason else ""
            score = f"score {result.score:.2f}" if result.score is not None else "no score"
            events.log(job_id, f"{result.task_id} {result.status}: {score}{why}", level)
            await events.flush(job_id)

    async def skip_tasks(self, job_id: str, task_ids: list[str], reasons: list[str]) -> None:
        store, events = self.deps.store, self.deps.events
        for task_id, reason in zip(task_ids, reasons, strict=True):
            state = await store.update_task(
                job_id, task_id, status=TaskStatus.SKIPPED, reason=reason, now=now()
            )
            if state is not None:
                events.emit(job_id, task_event(state))
                events.log(job_id, f"{task_id} {reason}", "WARNING")
        await events.flush(job_id)

    async def finish_job(
        self, job_id: str, status: ProjectStatus, error: str = ""
    ) -> ProjectStatus:
        store, events = self.deps.store, self.deps.events
        job = await store.get_job(job_id)
        # A failure says more than a cancel, which it may have caused (JobRunner._stop_tasks).
        cancelled = job.status is JobStatus.CANCELLED or self.runs.is_cancelled(job_id)
        if cancelled and status is not ProjectStatus.SYSTEM_FAILURE:
            status = ProjectStatus.CANCELLED
        # Attempts still in flight now were left by a process that stopped: charge them.
        await store.close_interrupted(job_id, await store.in_flight_calls(job_id))
        spent = float((await store.job_budget(job_id)).spent_usd)
        changed = await store.set_job_status(
            job_id, status=status.job_status, final_status=status, error=error, now=now()
        )
        job = await store.get_job(job_id)
        for artifact in build_artifacts(job, await store.list_tasks(job_id)):
            await store.save_artifact(job_id, artifact.path, artifact.content, now=now())
        if changed:
            events.emit(
                job_id,
                StatusEvent(status=status.job_status, final_status=status, ts=now()),
            )
            if error:
                events.log(job_id, f"job failed: {error}", "ERROR")
            events.log(job_id, f"job finished: {status}, spent {usd(spent)}")
            events.emit(job_id, DoneEvent(status=status, total_cost=round(spent, 6)))
        await events.flush(job_id)
        self.runs.drop(job_id)
        return status
