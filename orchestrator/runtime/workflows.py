"""The durable job: DBOS workflows for the job and each task, one step per LLM call.

Workflow code is deterministic: everything that reads the clock, the store or a provider
happens inside a step, whose result DBOS records and replays after a crash. The job
workflow waits on its task workflows with `DBOS.wait_first_async`, which records which
task finished first, so a replay takes the same path. State writes in steps are
idempotent (they emit an event only when something really changed), so a step that was in
flight at a crash can run again without duplicating what users saw.
"""

from __future__ import annotations

from dbos import DBOS, DBOSConfiguredInstance, SetWorkflowID, WorkflowHandleAsync
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
from orchestrator.engine.calls_api import Caller, CallResult, CallSpec, CallStatus
from orchestrator.engine.loop import run_task
from orchestrator.engine.outcome import final_status, halting_status
from orchestrator.engine.planner import make_plan, plan_to_tasks
from orchestrator.engine.scheduler import ReadyQueue
from orchestrator.events import CostEvent, DoneEvent, LogLevel, StatusEvent, TaskEvent
from orchestrator.runtime.jobrun import JobRuns, RuntimeDeps, now

RUNNER_NAME = "job-runner"


def workflow_id(job_id: str, attempt: int) -> str:
    """Attempt 0 runs under the job id itself; a resume gets a fresh id per attempt."""
    return job_id if attempt == 0 else f"{job_id}.r{attempt}"


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


@DBOS.dbos_class()
class JobRunner(DBOSConfiguredInstance):
    def __init__(self, deps: RuntimeDeps, runs: JobRuns) -> None:
        self.deps = deps
        self.runs = runs
        super().__init__(RUNNER_NAME)

    # ---- workflows -------------------------------------------------------------------

    @DBOS.workflow()
    async def job_workflow(self, job_id: str) -> ProjectStatus:
        start = await self.begin_job(job_id)
        tasks = start.tasks
        if not tasks:
            outcome = await make_plan(
                start.spec,
                call=self._caller(job_id, start.deadline),
                catalog=self.deps.catalog,
            )
            halted = _halt_of(outcome.call_status)
            if halted is not None:
                return await self.finish_job(job_id, halted)
            tasks = await self.save_plan(
                job_id, plan_to_tasks(job_id, outcome.plan, self.deps.catalog), outcome.fallback
            )
        done = [_result_of(t) for t in tasks if t.status.is_terminal()]
        queue = ReadyQueue.for_tasks({t.task_id: t.dependencies for t in tasks}, done)
        handles: dict[str, WorkflowHandleAsync[TaskResult]] = {}
        while True:
            for task_id in queue.take_ready(start.concurrency - len(handles)):
                deps = {d: queue.finished[d] for d in queue.graph[task_id]}
                with SetWorkflowID(f"{DBOS.workflow_id}:{task_id}"):
                    handles[task_id] = await DBOS.start_workflow_async(
                        self.task_workflow, job_id, task_id, start.deadline, deps
                    )
            if not handles:
                break
            handle = await DBOS.wait_first_async(
                list(handles.values()),
                polling_interval_sec=self.deps.settings.queue_poll_interval_s,
            )
            result: TaskResult = await handle.get_result()
            del handles[result.task_id]
            if halting_status([result.stop_reason]) is not None:
                queue.halt(result)
                continue
            skipped = queue.finish(result)
            if skipped:
                await self.skip_tasks(job_id, skipped, [queue.blocked_reason(t) for t in skipped])
        status = final_status(queue.finished.values(), len(tasks))
        return await self.finish_job(job_id, status)

    @DBOS.workflow()
    async def task_workflow(
        self, job_id: str, task_id: str, deadline: float, deps: dict[str, TaskResult]
    ) -> TaskResult:
        task = await self.begin_task(job_id, task_id)
        policy = self.deps.catalog.policy(task.type)

        async def on_iteration(record: IterationRecord) -> None:
            await self.save_iteration(job_id, task_id, record)

        result = await run_task(
            task,
            deps,
            policy=policy,
            call=self._caller(job_id, deadline),
            on_iteration=on_iteration,
        )
        await self.finish_task(job_id, result)
        return result

    def _caller(self, job_id: str, deadline: float) -> Caller:
        async def call(spec: CallSpec) -> CallResult:
            return await self.llm_call(job_id, deadline, spec)

        return call

    # ---- steps -----------------------------------------------------------------------

    @DBOS.step()
    async def llm_call(self, job_id: str, deadline: float, spec: CallSpec) -> CallResult:
        run = await self.runs.get(job_id, deadline)
        result = await run.caller(spec)
        events = self.deps.events
        where = spec.task_id or "plan"
        if result.ok:
            events.log(
                job_id,
                f"{where} · {spec.role} by {result.model} "
                f"({result.input_tokens}+{result.output_tokens} tok, ${result.cost_usd:.5f}, "
                f"{result.latency_ms:.0f} ms)",
                "DEBUG",
            )
        else:
            level: LogLevel = "ERROR" if result.status is CallStatus.FAILED else "WARNING"
            events.log(
                job_id, f"{where} · {spec.role} not done: {result.status}. {result.error}", level
            )
        ledger = run.ledger
        events.emit(
            job_id,
            CostEvent(total_cost=float(ledger.spent), budget_usd=float(ledger.budget), ts=now()),
        )
        await events.flush(job_id)
        return result

    @DBOS.step()
    async def begin_job(self, job_id: str) -> JobStart:
        store, events = self.deps.store, self.deps.events
        job = await store.get_job(job_id)
        if job.status is not JobStatus.CANCELLED and await store.set_job_status(
            job_id, status=JobStatus.RUNNING, now=now()
        ):
            events.emit(job_id, StatusEvent(status=JobStatus.RUNNING, ts=now()))
            label = " on simulated providers" if job.simulated else ""
            events.log(job_id, f"job started{label}: budget ${job.spec.budget_usd:.2f}")
        await events.flush(job_id)
        return JobStart(
            spec=job.spec,
            deadline=now() + job.spec.time_limit_s,
            concurrency=job.spec.concurrency,
            tasks=await store.list_tasks(job_id),
        )

    @DBOS.step()
    async def save_plan(
        self, job_id: str, tasks: list[TaskState], fallback: bool
    ) -> list[TaskState]:
        store, events = self.deps.store, self.deps.events
        if await store.save_plan(job_id, tasks):
            kind = "fallback single-task plan" if fallback else "plan"
            events.log(job_id, f"{kind}: {len(tasks)} tasks", "WARNING" if fallback else "INFO")
            for t in tasks:
                deps = f" after {', '.join(t.dependencies)}" if t.dependencies else ""
                events.log(job_id, f"{t.task_id} [{t.type}]{deps}: {t.prompt[:120]}")
                events.emit(job_id, task_event(t))
        await events.flush(job_id)
        return await store.list_tasks(job_id)

    @DBOS.step()
    async def begin_task(self, job_id: str, task_id: str) -> TaskState:
        store, events = self.deps.store, self.deps.events
        state = await store.update_task(job_id, task_id, status=TaskStatus.RUNNING, now=now())
        if state is not None:
            events.emit(job_id, task_event(state))
            events.log(job_id, f"{task_id} started")
            await events.flush(job_id)
        return await store.get_task(job_id, task_id)

    @DBOS.step()
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

    @DBOS.step()
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

    @DBOS.step()
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

    @DBOS.step()
    async def finish_job(self, job_id: str, status: ProjectStatus) -> ProjectStatus:
        store, events = self.deps.store, self.deps.events
        job = await store.get_job(job_id)
        if job.status is JobStatus.CANCELLED or self.runs.is_cancelled(job_id):
            status = ProjectStatus.CANCELLED
        spent = float(await store.job_spend(job_id))
        await store.set_job_fields(job_id, total_cost=spent, now=now())
        changed = await store.set_job_status(
            job_id, status=status.job_status, final_status=status, now=now()
        )
        job = await store.get_job(job_id)
        for artifact in build_artifacts(job, await store.list_tasks(job_id)):
            await store.save_artifact(job_id, artifact.path, artifact.content, now=now())
        if changed:
            events.emit(
                job_id,
                StatusEvent(status=status.job_status, final_status=status, ts=now()),
            )
            events.log(job_id, f"job finished: {status}, spent ${spent:.4f}")
            events.emit(job_id, DoneEvent(status=status, total_cost=round(spent, 6)))
        await events.flush(job_id)
        await self.runs.drop(job_id)
        return status


def _result_of(task: TaskState) -> TaskResult:
    return TaskResult(
        task_id=task.task_id,
        status=task.status,
        score=task.score,
        model=task.model,
        output=task.output,
        cost_usd=task.cost_usd,
        iterations=task.iterations,
        reason=task.reason,
    )


def _halt_of(status: CallStatus) -> ProjectStatus | None:
    return {
        CallStatus.BUDGET_EXHAUSTED: ProjectStatus.BUDGET_EXHAUSTED,
        CallStatus.TIMEOUT: ProjectStatus.TIMEOUT,
        CallStatus.CANCELLED: ProjectStatus.CANCELLED,
    }.get(status)
