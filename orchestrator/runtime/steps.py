"""What the job's durable steps do: each reads or writes the store and emits events.

`JobRunner` (workflows.py) wraps each method in a DBOS step, so after a crash a completed
step is replayed from its recorded result and never runs twice. A step in flight at a
crash runs again: its writes are idempotent, and the events describing a change are
stored in the very transaction of the change (the store's `announce`), so a repeat that
changes nothing tells nothing, and a crash can never keep a change but lose its events
(a finished job's history always ends with its `status` and `done`).

Each step is a `crashpoints.step`: the crash harness kills a process at its start, its
end, and at each write inside it.
"""

from __future__ import annotations

import asyncio

from dbos import DBOS
from pydantic import BaseModel

from orchestrator import crashpoints
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
from orchestrator.events import CostEvent, DoneEvent, JobEvent, LogLevel, StatusEvent, TaskEvent
from orchestrator.money import usd, usd_exact
from orchestrator.runtime.deliveries import BudgetWarnings
from orchestrator.runtime.jobrun import JobRuns, RuntimeDeps, attempt_of, now
from orchestrator.runtime.workspaces import commit_task, with_committed, workspace_of
from orchestrator.workspace import has_manifest


class JobStart(BaseModel):
    spec: JobSpec
    deadline: float
    concurrency: int
    tasks: list[TaskState]


REPAIRS_SAID = 20  # a 50-task plan may need a hundred: the log says the first ones


def task_event(state: TaskState) -> TaskEvent:
    return TaskEvent(
        task_id=state.task_id,
        status=state.status,
        score=state.score,
        model=state.model,
        cost=round(state.cost_usd, 6),
        iterations=state.iterations,
        reason=state.reason,
        self_evaluated=state.self_evaluated,
    )


class JobSteps:
    def __init__(self, deps: RuntimeDeps, runs: JobRuns, warnings: BudgetWarnings) -> None:
        self.deps = deps
        self.runs = runs
        self.warnings = warnings

    @crashpoints.step
    async def llm_call(self, job_id: str, deadline: float, spec: CallSpec) -> CallResult:
        run = await self.runs.get(job_id, deadline, attempt_of(DBOS.workflow_id, job_id))
        result = await run.caller(spec)
        events = self.deps.events
        # "task_002 iteration 2": the dashboard opens that iteration from the line.
        where = f"{spec.task_id} iteration {spec.iteration}" if spec.task_id else "plan"
        if result.ok:
            line = events.line(
                job_id,
                f"{where} · {spec.role} by {result.model} "
                f"({result.input_tokens}+{result.output_tokens} tok, {usd(result.cost_usd)}, "
                f"{result.latency_ms:.0f} ms)",
                "DEBUG",
            )
        else:
            level: LogLevel = "ERROR" if result.status is CallStatus.FAILED else "WARNING"
            line = events.line(
                job_id, f"{where} · {spec.role} not done: {result.status}. {result.error}", level
            )
        money = run.ledger.last or await run.ledger.budget()
        cost = CostEvent(
            total_cost=float(money.spent_usd), budget_usd=float(money.budget_usd), ts=now()
        )
        # Under the step's own key: when a crash struck after they were stored and before
        # DBOS recorded the step, the step runs again and finds them told.
        await events.store_once(job_id, _step_key(), [line, cost])
        # Inside the step: until DBOS records it, a crash runs it (and this) again.
        await self.warnings.check(job_id, cost)
        return result

    async def _run(self, job_id: str) -> int | None:
        """The fencing token this process holds for the run the current workflow belongs to,
        named in each of the run's writes; None outside a workflow (a user's action)."""
        attempt = attempt_of(DBOS.workflow_id, job_id)
        return None if attempt is None else await self.runs.token(job_id, attempt)

    @crashpoints.step
    async def begin_job(self, job_id: str) -> JobStart:
        """Mark the job running and say how its generated code will be isolated; raises
        SandboxRefused, before any call, when ORCH_SANDBOX demands isolation this machine
        cannot give (the job then ends with that reason)."""
        store, events, settings = self.deps.store, self.deps.events, self.deps.settings
        job = await store.get_job(job_id)
        limits = SandboxLimits(isolation=settings.sandbox, bwrap=settings.sandbox_bwrap)
        isolation = await asyncio.to_thread(isolation_of, limits)
        label = " on simulated providers" if job.simulated else ""
        level: LogLevel = "WARNING" if isolation.backend == "none" else "INFO"

        def announce() -> list[JobEvent]:
            return [
                StatusEvent(status=JobStatus.RUNNING, ts=now()),
                events.line(job_id, f"job started{label}: budget {usd_exact(job.spec.budget_usd)}"),
                events.line(job_id, f"generated code isolation: {isolation.label}", level),
            ]

        # Not over a cancel, even one stored since `job` was read: the cancel wins.
        await store.set_job_status(
            job_id,
            status=JobStatus.RUNNING,
            now=now(),
            unless=(JobStatus.CANCELLED,),
            announce=announce,
            run=await self._run(job_id),
        )
        if isolation.refused:
            raise SandboxRefused(f"refusing to run generated code: {isolation.why}")
        return JobStart(
            spec=job.spec,
            deadline=now() + job.spec.time_limit_s,
            concurrency=job.spec.concurrency,
            tasks=await store.list_tasks(job_id),
        )

    @crashpoints.step
    async def save_plan(
        self, job_id: str, tasks: list[TaskState], fallback: bool, repairs: list[str]
    ) -> list[TaskState]:
        """Store the plan and say it: each repair made to the model's answer, then the
        tasks ("plan: 3 tasks", "plan: 3 tasks, repaired", "fallback single-task plan")."""
        store, events = self.deps.store, self.deps.events

        def announce() -> list[JobEvent]:
            kind = "fallback single-task plan" if fallback else "plan"
            said = ", repaired" if repairs else ""
            said_repairs = repairs[:REPAIRS_SAID]
            if len(repairs) > REPAIRS_SAID:
                said_repairs.append(f"and {len(repairs) - REPAIRS_SAID} more")
            told: list[JobEvent] = [
                events.line(job_id, f"plan repaired: {r}", "WARNING") for r in said_repairs
            ]
            told.append(
                events.line(
                    job_id,
                    f"{kind}: {len(tasks)} tasks{said}",
                    "WARNING" if fallback else "INFO",
                )
            )
            for t in tasks:
                deps = f" after {', '.join(t.dependencies)}" if t.dependencies else ""
                title = f" {t.title}" if t.title else ""
                told.append(
                    events.line(job_id, f"{t.task_id}{title} [{t.type}]{deps}: {t.prompt[:120]}")
                )
                told.append(task_event(t))
            return told

        await store.save_plan(job_id, tasks, announce=announce, run=await self._run(job_id))
        return await store.list_tasks(job_id)

    @crashpoints.step
    async def begin_task(self, job_id: str, task_id: str) -> TaskState:
        events = self.deps.events

        def announce(state: TaskState) -> list[JobEvent]:
            title = f": {state.title}" if state.title else ""
            return [task_event(state), events.line(job_id, f"{task_id} started{title}")]

        store = self.deps.store
        await store.update_task(
            job_id,
            task_id,
            status=TaskStatus.RUNNING,
            now=now(),
            announce=announce,
            run=await self._run(job_id),
        )
        return await store.get_task(job_id, task_id)

    @crashpoints.step
    async def save_iteration(self, job_id: str, task_id: str, record: IterationRecord) -> None:
        """Store the iteration and take it into its task (cost, best score) in one
        transaction with its events: a repeat changes and tells nothing."""
        events = self.deps.events
        failed = [v.name for v in record.validators if not v.passed]
        checks = f"; failed checks: {', '.join(failed)}" if failed else ""

        def announce(state: TaskState) -> list[JobEvent]:
            line = (
                f"{task_id} iteration {record.iteration}: score {record.score:.2f} "
                f"by {record.model}{checks}"
            )
            return [events.line(job_id, line), task_event(state)]

        await self.deps.store.save_iteration(
            job_id, task_id, record, now=now(), announce=announce, run=await self._run(job_id)
        )

    @crashpoints.step
    async def finish_task(self, job_id: str, result: TaskResult) -> None:
        """Commit the task's files to the job's workspace (once, under this step's key), then
        store its end."""
        events = self.deps.events
        tasks = await self.deps.store.list_tasks(job_id)
        task = next(t for t in tasks if t.task_id == result.task_id)
        step = _step_key() or f"{job_id}:{result.task_id}"
        workspace = workspace_of(self.deps.settings, job_id)
        legacy = not has_manifest(tasks)
        kept = await commit_task(workspace, task, result, step=step, now=now(), legacy=legacy)

        def announce(state: TaskState) -> list[JobEvent]:
            level: LogLevel = "INFO" if result.status is TaskStatus.COMPLETED else "WARNING"
            why = f" ({result.reason})" if result.reason else ""
            score = f"score {result.score:.2f}" if result.score is not None else "no score"
            line = f"{result.task_id} {result.status}: {score}{why}"
            told: list[JobEvent] = [task_event(state), events.line(job_id, line, level)]
            return told + [events.line(job_id, msg, lvl) for msg, lvl in kept]

        await self.deps.store.update_task(
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
            announce=announce,
            run=await self._run(job_id),
        )

    @crashpoints.step
    async def skip_tasks(self, job_id: str, task_ids: list[str], reasons: list[str]) -> None:
        events = self.deps.events
        for task_id, reason in zip(task_ids, reasons, strict=True):

            def announce(state: TaskState, why: str = reason) -> list[JobEvent]:
                return [task_event(state), events.line(job_id, f"{state.task_id} {why}", "WARNING")]

            await self.deps.store.update_task(
                job_id,
                task_id,
                status=TaskStatus.SKIPPED,
                reason=reason,
                now=now(),
                announce=announce,
                run=await self._run(job_id),
            )

    @crashpoints.step
    async def finish_job(
        self, job_id: str, status: ProjectStatus, error: str = ""
    ) -> ProjectStatus:
        store, events = self.deps.store, self.deps.events
        job = await store.get_job(job_id)
        if job.final_status is not None:
            # This run has ended already (an error after its end was stored got here): a job
            # ends once per run, and its history says so once.
            self.runs.drop(job_id)
            return job.final_status
        # A failure says more than a cancel, which it may have caused (JobRunner._stop_tasks).
        cancelled = job.status is JobStatus.CANCELLED or self.runs.is_cancelled(job_id)
        if cancelled and status is not ProjectStatus.SYSTEM_FAILURE:
            status = ProjectStatus.CANCELLED
        # Attempts still in flight now were left by a process that stopped: charge them.
        run = await self._run(job_id)
        await store.close_in_flight(job_id, run=run)
        crashpoints.reach("interrupted_closed")
        # Lines queued before (calls' notes) go first: `status` and `done` end the history.
        await events.flush(job_id)
        spent = float((await store.job_budget(job_id)).spent_usd)
        ended = (await store.get_job(job_id)).model_copy(
            update={"status": status.job_status, "final_status": status, "error": error}
        )
        files = [
            (a.path, a.content) for a in build_artifacts(ended, await store.list_tasks(job_id))
        ]
        # The tree as committed (fix rounds included) wins over the tasks' own outputs.
        workspace = workspace_of(self.deps.settings, job_id)
        files = await asyncio.to_thread(with_committed, files, workspace)

        def announce() -> list[JobEvent]:
            told: list[JobEvent] = [
                StatusEvent(status=status.job_status, final_status=status, ts=now())
            ]
            if error:
                told.append(events.line(job_id, f"job failed: {error}", "ERROR"))
            told.append(events.line(job_id, f"job finished: {status}, spent {usd(spent)}"))
            told.append(DoneEvent(status=status, total_cost=round(spent, 6)))
            return told

        # The status, the result files and the events that end the history: one transaction.
        await store.set_job_status(
            job_id,
            status=status.job_status,
            final_status=status,
            error=error,
            now=now(),
            files=files,
            announce=announce,
            run=run,
        )
        self.runs.drop(job_id)
        return status


def _step_key() -> str | None:
    """The DBOS step running now: its workflow's id and its number there, the same each time
    the step runs (None outside a step)."""
    workflow, step = DBOS.workflow_id, DBOS.step_id
    return f"{workflow}#{step}" if workflow is not None and step is not None else None
