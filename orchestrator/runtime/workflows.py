"""The durable job: DBOS workflows for the job and each task, one step per LLM call.

Workflow code is deterministic: everything that reads the clock, the store or a provider
happens inside a step, whose result DBOS records and replays after a crash. The job
workflow waits on its task workflows with `DBOS.wait_first_async`, which records which
task finished first, so a replay takes the same path. State writes in steps are
idempotent (they emit an event only when something really changed), so a step that was in
flight at a crash can run again without duplicating what users saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from dbos import DBOS, DBOSConfiguredInstance, SetWorkflowID, WorkflowHandleAsync

from orchestrator.domain import (
    IterationRecord,
    ProjectStatus,
    StopReason,
    TaskResult,
    TaskState,
    TaskType,
)
from orchestrator.engine.acceptance import (
    acceptance_tests,
    final_code_tasks,
    with_acceptance_tests,
)
from orchestrator.engine.calls_api import Caller, CallResult, CallSpec, CallStatus
from orchestrator.engine.fix_round import fix_task
from orchestrator.engine.loop import run_task
from orchestrator.engine.outcome import final_status, halting_status
from orchestrator.engine.planner import make_plan, plan_to_tasks
from orchestrator.engine.sandbox import SandboxLimits
from orchestrator.engine.scheduler import ReadyQueue
from orchestrator.engine.tree_acceptance import accepted_status
from orchestrator.errors import OrchestratorError, StaleRun
from orchestrator.runtime.deliveries import BudgetWarnings, Deliveries
from orchestrator.runtime.jobrun import JobRuns, RuntimeDeps
from orchestrator.runtime.review import Reviews
from orchestrator.runtime.steps import JobStart, JobSteps
from orchestrator.runtime.tree_steps import Accepted, TreeSteps
from orchestrator.store import is_transient
from orchestrator.workspace import has_manifest, starting_tree, task_files

RUNNER_NAME = "job-runner"

logger = logging.getLogger(__name__)

# A step that failed on a busy or briefly unreachable database runs again, 1, 2, 4 and 8 s
# later, before its job gives up. Steps are idempotent: a repeat changes nothing stored
# and an LLM call already recorded is not paid again.
retrying_step = DBOS.step(
    retries_allowed=True,
    interval_seconds=1.0,
    max_attempts=5,
    backoff_rate=2.0,
    should_retry=is_transient,
)


def workflow_id(job_id: str, attempt: int) -> str:
    """Attempt 0 runs under the job id itself; a resume gets a fresh id per attempt."""
    return job_id if attempt == 0 else f"{job_id}.r{attempt}"


def task_workflow_id(job_workflow_id: str, task_id: str) -> str:
    return f"{job_workflow_id}:{task_id}"


def job_of_workflow(workflow: str) -> str | None:
    """The job a job workflow runs (the inverse of `workflow_id`); None for a task's."""
    if ":" in workflow:
        return None
    return workflow.split(".r", 1)[0]


@DBOS.dbos_class()
class JobRunner(DBOSConfiguredInstance):
    def __init__(self, deps: RuntimeDeps, runs: JobRuns, deliveries: Deliveries) -> None:
        self.deps = deps
        self.deliveries = deliveries
        self.steps = JobSteps(deps, runs, BudgetWarnings(deliveries))
        self.tree_steps = TreeSteps(deps)
        self.reviews = Reviews(deps)
        super().__init__(RUNNER_NAME)

    # ---- workflows -------------------------------------------------------------------

    @DBOS.workflow()
    async def job_workflow(self, job_id: str) -> ProjectStatus | None:
        """The job's outcome, or None when it stopped after planning to await review."""
        try:
            outcome = await self._run_job(job_id)
        except StaleRun as e:  # another process runs the job now: this run stops, silently
            logger.warning("%s; its run in this process stops", e)
            raise
        except Exception as e:
            # Any error that got this far (an engine error, a database that stayed
            # unreachable through a step's retries) ends the job visibly, never "running".
            outcome = await self.finish_job(job_id, ProjectStatus.SYSTEM_FAILURE, _reason(e))
        await self.deliveries.start_for_end(job_id, outcome)
        return outcome

    async def _run_job(self, job_id: str) -> ProjectStatus | None:
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
                job_id,
                plan_to_tasks(job_id, outcome.plan, self.deps.catalog),
                outcome.fallback,
                outcome.repairs,
            )
            if await self.stop_for_review(job_id):
                return None  # the run ends here; an approval starts the next (Runtime.approve)
        done = [t.as_result() for t in tasks if t.status.is_terminal()]
        queue = ReadyQueue.for_tasks({t.task_id: t.dependencies for t in tasks}, done)
        handles: dict[str, WorkflowHandleAsync[TaskResult]] = {}
        try:
            await self._run_tasks(job_id, start, tasks, queue, handles)
        except Exception:
            await self._stop_tasks(job_id, handles)
            raise
        status = final_status(queue.finished.values(), len(tasks))
        if has_manifest(tasks):
            status = await self._accept(job_id, start, status)
        return await self.finish_job(job_id, status)

    async def _accept(self, job_id: str, start: JobStart, status: ProjectStatus) -> ProjectStatus:
        """Run the tree's tests; while they fail, at most `fix_rounds` fix rounds (each a
        code task, then one commit), each followed by the tests again. The final status
        says whether they pass; a round that cannot be afforded ends the loop."""
        if status not in (ProjectStatus.SUCCESS, ProjectStatus.PARTIAL_SUCCESS):
            return status
        tests = acceptance_tests(start.spec.success_criteria)
        run: Accepted = await self.accept_tree(job_id, 0, tests, 0)
        for round_no in range(1, self.deps.settings.fix_rounds + 1):
            if not run.ran or run.passed or not run.affordable:
                break
            policy = self.deps.catalog.policy(TaskType.CODE_GENERATION)
            task = fix_task(
                job_id,
                round_no,
                project=start.spec.project_description,
                run=run,
                criteria_tests=tests,
                threshold=policy.threshold,
            )
            result = await run_task(
                task,
                {},
                policy=policy,
                call=self._caller(job_id, start.deadline),
                on_iteration=_unrecorded,  # a fix round is no planned task: its commit says it
                sandbox=SandboxLimits(
                    isolation=self.deps.settings.sandbox, bwrap=self.deps.settings.sandbox_bwrap
                ),
                base=run.tree,
            )
            failing = max(len(run.failing), 1)
            given = task_files(task, result.output) if result.status.is_usable() else {}
            changed = [p for p, c in given.items() if run.tree.get(p) != c]
            await self.commit_fix(job_id, round_no, task, result, failing, changed)
            halted = halting_status([result.stop_reason])
            if halted is ProjectStatus.BUDGET_EXHAUSTED:
                break  # the tree stays as the last round left it
            if halted is not None:
                return halted
            run = await self.accept_tree(job_id, round_no, tests, failing)
        return accepted_status(status, run, run.tasks_ok)

    async def _run_tasks(
        self,
        job_id: str,
        start: JobStart,
        tasks: list[TaskState],
        queue: ReadyQueue,
        handles: dict[str, WorkflowHandleAsync[TaskResult]],
    ) -> None:
        """Start each task workflow when its dependencies are done, until none is left;
        `handles` holds those running."""
        tests = acceptance_tests(start.spec.success_criteria)
        finals = final_code_tasks(tasks) if tests else set()
        while True:
            for task_id in queue.take_ready(start.concurrency - len(handles)):
                deps = {d: queue.finished[d] for d in queue.graph[task_id]}
                base = starting_tree(tasks, queue.finished, task_id)
                with SetWorkflowID(task_workflow_id(str(DBOS.workflow_id), task_id)):
                    handles[task_id] = await DBOS.start_workflow_async(
                        self.task_workflow,
                        job_id,
                        task_id,
                        start.deadline,
                        deps,
                        tests if task_id in finals else "",
                        base,
                    )
            if not handles:
                return
            result: TaskResult = await (await self._take_ended(handles)).get_result()
            if result.stop_reason is StopReason.BUDGET:
                # Its next call did not fit what is left: others' smaller calls still may.
                queue.run_out(result)
                continue
            if halting_status([result.stop_reason]) is not None:
                queue.halt(result)
                continue
            skipped = queue.finish(result)
            if skipped:
                await self.skip_tasks(job_id, skipped, [queue.blocked_reason(t) for t in skipped])

    async def _stop_tasks(
        self, job_id: str, handles: dict[str, WorkflowHandleAsync[TaskResult]]
    ) -> None:
        """After an error the job cannot survive: its running tasks start no new call (the
        ones in flight finish and are recorded), and the job ends after them."""
        self.steps.runs.cancel(job_id)
        while handles:
            await self._take_ended(handles)

    async def _take_ended(
        self, handles: dict[str, WorkflowHandleAsync[TaskResult]]
    ) -> WorkflowHandleAsync[TaskResult]:
        """Wait for the first running task workflow to end; its handle, out of `handles`."""
        first = await self.first_finished(list(handles.values()))
        return handles.pop(next(t for t, h in handles.items() if h.workflow_id == first))

    @DBOS.workflow()
    async def task_workflow(
        self,
        job_id: str,
        task_id: str,
        deadline: float,
        deps: dict[str, TaskResult],
        acceptance: str = "",  # defaulted: workflows recorded before it existed recover too
        base: dict[str, str] | None = None,  # the tree it starts from (files tasks only)
    ) -> TaskResult:
        task = await self.begin_task(job_id, task_id)
        if acceptance:
            task = with_acceptance_tests(task, acceptance)
        policy = self.deps.catalog.policy(task.type)

        async def on_iteration(record: IterationRecord) -> None:
            await self.save_iteration(job_id, task_id, record)

        result = await run_task(
            task,
            deps,
            policy=policy,
            call=self._caller(job_id, deadline),
            on_iteration=on_iteration,
            sandbox=SandboxLimits(
                isolation=self.deps.settings.sandbox, bwrap=self.deps.settings.sandbox_bwrap
            ),
            base=base,
        )
        await self.finish_task(job_id, result)
        return result

    def _caller(self, job_id: str, deadline: float) -> Caller:
        async def call(spec: CallSpec) -> CallResult:
            return await self.llm_call(job_id, deadline, spec)

        return call

    # Recorded under the name DBOS.wait_first_async records, so that jobs recorded by it
    # replay unchanged; it polled the database for every job, 20 times a second.
    @DBOS.step(name="DBOS.waitFirst")
    async def first_finished(self, handles: list[WorkflowHandleAsync[TaskResult]]) -> str:
        """The workflow id of the first of `handles` to end (recorded, so a replay of the
        job takes the same path)."""
        return await first_to_end(handles, self.deps.settings.queue_poll_interval_s)

    # ---- steps (bodies in steps.py) -------------------------------------------------

    @retrying_step
    async def llm_call(self, job_id: str, deadline: float, spec: CallSpec) -> CallResult:
        return await self.steps.llm_call(job_id, deadline, spec)

    @retrying_step
    async def begin_job(self, job_id: str) -> JobStart:
        return await self.steps.begin_job(job_id)

    @retrying_step
    async def save_plan(
        self, job_id: str, tasks: list[TaskState], fallback: bool, repairs: list[str]
    ) -> list[TaskState]:
        return await self.steps.save_plan(job_id, tasks, fallback, repairs)

    @retrying_step
    async def stop_for_review(self, job_id: str) -> bool:
        return await self.reviews.stop_for_review(job_id)

    @retrying_step
    async def begin_task(self, job_id: str, task_id: str) -> TaskState:
        return await self.steps.begin_task(job_id, task_id)

    @retrying_step
    async def save_iteration(self, job_id: str, task_id: str, record: IterationRecord) -> None:
        return await self.steps.save_iteration(job_id, task_id, record)

    @retrying_step
    async def finish_task(self, job_id: str, result: TaskResult) -> None:
        return await self.steps.finish_task(job_id, result)

    @retrying_step
    async def skip_tasks(self, job_id: str, task_ids: list[str], reasons: list[str]) -> None:
        return await self.steps.skip_tasks(job_id, task_ids, reasons)

    @retrying_step
    async def accept_tree(
        self, job_id: str, round_no: int, criteria_tests: str, failing_before: int
    ) -> Accepted:
        return await self.tree_steps.accept_tree(job_id, round_no, criteria_tests, failing_before)

    @retrying_step
    async def commit_fix(
        self,
        job_id: str,
        round_no: int,
        task: TaskState,
        result: TaskResult,
        failing: int,
        changed: list[str],
    ) -> None:
        return await self.tree_steps.commit_fix(job_id, round_no, task, result, failing, changed)

    @retrying_step
    async def finish_job(
        self, job_id: str, status: ProjectStatus, error: str = ""
    ) -> ProjectStatus:
        return await self.steps.finish_job(job_id, status, error)


async def first_to_end(handles: list[WorkflowHandleAsync[TaskResult]], poll_s: float) -> str:
    """The workflow id of the first of `handles` to end, successfully or not.

    A workflow started by this process is awaited directly (its handle holds its asyncio
    task); one running elsewhere, as after a recovery, is polled every `poll_s` seconds.
    """

    async def ended(handle: WorkflowHandleAsync[TaskResult]) -> str:
        with contextlib.suppress(Exception):  # its error is for the job to read, not here
            await handle.get_result(polling_interval_sec=poll_s)
        return handle.workflow_id

    waiters = [asyncio.ensure_future(ended(h)) for h in handles]
    try:
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:  # a handle's result is shielded: this cancels only the wait
            waiter.cancel()
    return done.pop().result()


async def _unrecorded(record: IterationRecord) -> None:
    return None


def _reason(error: Exception) -> str:
    """What the job log says: our errors speak for themselves; others are named by type,
    with the first line of their message only (a database error goes on with the SQL
    statement and its parameters, which are prompts and answers)."""
    if isinstance(error, OrchestratorError):
        return str(error)
    first_line = str(error).partition("\n")[0][:200]
    return f"internal error ({type(error).__name__}): {first_line}"


def _halt_of(status: CallStatus) -> ProjectStatus | None:
    return {
        CallStatus.BUDGET_EXHAUSTED: ProjectStatus.BUDGET_EXHAUSTED,
        CallStatus.TIMEOUT: ProjectStatus.TIMEOUT,
        CallStatus.CANCELLED: ProjectStatus.CANCELLED,
    }.get(status)
