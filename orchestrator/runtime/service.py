"""The runtime: one per process. Starts DBOS and the store, and runs, resumes and cancels jobs.

A *worker* runtime (the server, `orchestrator worker`) puts jobs on the shared job queue,
takes jobs from it, beats, and takes over the jobs of dead workers. A plain runtime (the
CLI's `run` and `resume`) runs its job in its own process and takes nothing from the queue;
it beats too, so that a worker takes its job over if it is killed (runtime/workers.py).

DBOS keeps process-wide state (it is a singleton by design), so a process holds at most
one `Runtime` at a time; `stop()` releases it so tests can start another.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from dbos import DBOS, SetWorkflowID, WorkflowHandleAsync, WorkflowStatus
from dbos._dbos import _get_or_create_dbos_registry
from sqlalchemy import Engine

from orchestrator.config import Settings
from orchestrator.domain import (
    TERMINAL_JOB_STATUSES,
    JobSpec,
    JobStatus,
    ProjectStatus,
)
from orchestrator.engine.health import HealthBook
from orchestrator.errors import InvalidInput, JobConflict, UnusableInput
from orchestrator.events import StatusEvent
from orchestrator.money import usd, usd_exact
from orchestrator.providers import ClientSet, Pricing, build_clients
from orchestrator.runtime.dbos_setup import dbos_config
from orchestrator.runtime.deliveries import DELIVERIES_NAME, Deliveries, hand_over
from orchestrator.runtime.events import EventBus, EventLog
from orchestrator.runtime.jobrun import JobRuns, RuntimeDeps
from orchestrator.runtime.orphans import ENDER_NAME, UNFINISHED, OrphanEnder
from orchestrator.runtime.recovery import install as queue_recovered_work_here
from orchestrator.runtime.rejects import REJECTER_NAME, Rejecter
from orchestrator.runtime.removals import Removals
from orchestrator.runtime.resumes import Resumes
from orchestrator.runtime.unstarted import UnstartedRuns
from orchestrator.runtime.workers import WorkerWatch
from orchestrator.runtime.workflows import RUNNER_NAME, JobRunner, workflow_id
from orchestrator.store import EventListener, Store
from orchestrator.webhooks import check_reachable

JOB_QUEUE = "jobs"
# How long a removal waits for a deleted job's run to stop, when resumed by a (re)start.
STOP_WAIT_S = 30.0
# How long `stop()` lets removals under way finish (the next start resumes the others).
REMOVALS_AT_STOP_S = 10.0
# A process that is not a worker waits for its webhooks' first attempts this much longer than
# an attempt may take, before it hands what is left to the workers (deliveries.hand_over).
HAND_OVER_MARGIN_S = 5.0

log = logging.getLogger(__name__)


def new_job_id() -> str:
    return secrets.token_hex(4)


async def request_cancel(store: Store, job_id: str) -> None:
    """Mark the job cancelled; whichever process runs it notices and starts no new call.

    Works from any process sharing the store (a CLI `cancel` beside a running `run`).
    """
    # Only over a status that is not final, checked in the write: never over a finish.
    if not await store.set_job_status(
        job_id,
        status=JobStatus.CANCELLED,
        now=time.time(),
        # A job awaiting review has no run to notice a cancel: it is rejected (Runtime.reject).
        unless=TERMINAL_JOB_STATUSES | {JobStatus.AWAITING_REVIEW},
        announce=lambda: [
            EventLog.line(job_id, "cancel requested: no new calls will start", "WARNING")
        ],
    ):
        job = await store.get_job(job_id)
        if job.status is JobStatus.AWAITING_REVIEW:
            raise JobConflict(job_id, "it awaits review: reject its plan to end it")
        raise JobConflict(job_id, f"it already finished ({job.final_status or job.status})")


class Runtime:
    def __init__(
        self,
        deps: RuntimeDeps,
        runs: JobRuns,
        runner: JobRunner,
        rejecter: Rejecter,
        ender: OrphanEnder,
        watch: WorkerWatch,
        listener: EventListener | None,
        dbos_engine: Engine | None = None,
    ) -> None:
        self.deps = deps
        self.dbos_engine = dbos_engine  # ours, given to DBOS: disposed after it stops
        self.runs = runs
        self.runner = runner
        self.rejecter = rejecter
        self.ender = ender  # ends a cancelled job whose run's process is gone
        self.watch = watch
        self.listener = listener  # wake-ups for events stored by other processes
        self.reviews = runner.reviews
        self.removals = Removals(self)  # deleted jobs being removed
        self.unstarted = UnstartedRuns(deps.store, self._start_attempt)
        self.resumes = Resumes(deps, self._start_attempt, self.ended_within)

    @property
    def store(self) -> Store:
        return self.deps.store

    @property
    def events(self) -> EventLog:
        return self.deps.events

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        executor_id: str | None = None,
        clients: ClientSet | None = None,
        health: HealthBook | None = None,
        worker: bool = False,
        store: Store | None = None,
    ) -> Runtime:
        """Open the store, launch DBOS (which recovers this executor's unfinished jobs).

        `worker`: share the job queue with other workers (see the module docstring).
        `clients` replaces the providers configured in `settings` (tests pass fakes here);
        `health` replaces the empty health book (the API passes one that also feeds metrics);
        `store` replaces the one opened from `settings` (the runtime closes it when it stops).
        """
        await asyncio.to_thread(Path(settings.data_dir).mkdir, parents=True, exist_ok=True)
        store = store or await Store.open(settings.store_url)
        catalog = settings.catalog
        clients = clients or build_clients(settings, catalog)
        if health is None:
            health = HealthBook(cooldown_s=settings.breaker_cooldown_s)
        # Simulated faults say nothing about real models (and the reverse).
        calls = await store.list_calls()
        health.seed_from(c for c in calls if c.simulated == clients.simulated)
        deps = RuntimeDeps(
            settings=settings,
            catalog=catalog,
            store=store,
            clients=clients,
            pricing=Pricing(catalog),
            health=health,
            events=EventLog(store, EventBus()),
        )
        executor = executor_id or settings.executor_id
        watch = WorkerWatch(store, deps.events, settings, executor, takes_work=worker)
        try:
            await watch.check_id_free()  # before launch recovers this id's workflows
            # Before anything runs: a resume elsewhere must not find its runs ownerless.
            await watch.beat()
        except BaseException:
            await store.close()
            raise
        runs = JobRuns(deps)
        deliveries = Deliveries(deps)
        runner = JobRunner(deps, runs, deliveries)
        rejecter = Rejecter(deps, runner.steps, deliveries)
        ender = OrphanEnder(deps, runner.steps, deliveries)
        queue_recovered_work_here()  # and take no other process's (runtime/recovery.py)
        config = dbos_config(settings, executor)
        DBOS(config=config)
        if not worker:
            DBOS.listen_queues([])  # run here what is started here; take no queued job
        DBOS.launch()
        if not worker:
            await watch.start()
        else:
            queue = await DBOS.register_queue_async(
                JOB_QUEUE,
                worker_concurrency=settings.worker_jobs,
                polling_interval_sec=settings.queue_poll_interval_s,
                on_conflict="always_update",
            )
            await watch.start(queue)  # unless ORCH_WORKER_JOBS is set, it sets the share
        store.on_events.append(deps.events.bus.publish)  # events stored with a change
        listener = await store.listen_events(deps.events.bus.publish)
        engine = config.get("system_database_engine")
        runtime = cls(deps, runs, runner, rejecter, ender, watch, listener, engine)
        if worker:  # deletions a stopped process left half done
            for job_id in await store.hidden_jobs():
                runtime.removals.later(job_id, STOP_WAIT_S)
        # Runs whose process died before starting them: now, and for a worker at every
        # heartbeat interval (a live server picks up another process's approval).
        await runtime.unstarted.start_all()
        if worker:
            runtime.unstarted.watch(settings.worker_heartbeat_s)
        return runtime

    async def stop(self) -> None:
        handed_over = 0
        if not self.watch.takes_work:  # webhooks this process started must not end with it
            within = self.deps.settings.webhook_timeout_s + HAND_OVER_MARGIN_S
            handed_over = await hand_over(self.store, DBOS.executor_id, within_s=within)
        await self.removals.stop(REMOVALS_AT_STOP_S)
        await self.unstarted.stop()
        # A worker's row stays, for the others to take over what it leaves; a CLI's goes,
        # unless it leaves webhooks to send: its job, if unfinished, waits for a resume.
        await self.watch.stop(forget=not self.watch.takes_work and handed_over == 0)
        if self.listener is not None:
            await self.listener.stop()
        await self.events.flush_all()
        DBOS.destroy(workflow_completion_timeout_sec=0)
        if self.dbos_engine is not None:
            self.dbos_engine.dispose()
        # DBOS installs its own default executor on the loop and shuts it down on destroy;
        # give the loop a fresh one so the process can keep using to_thread (and start again).
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
        # Let a later Runtime in this process register its runner under the same name.
        registry = _get_or_create_dbos_registry()
        registry.dbos = None
        ours = (f"/{RUNNER_NAME}", f"/{DELIVERIES_NAME}", f"/{REJECTER_NAME}", f"/{ENDER_NAME}")
        for key in [k for k in registry.instance_info_map if k.endswith(ours)]:
            registry.instance_info_map.pop(key)
        await self.runs.close()
        await self.store.close()

    async def submit(self, spec: JobSpec, *, job_id: str | None = None) -> str:
        if spec.notify_url is not None:
            await self._check_notify_url(spec.notify_url)
        job_id = job_id or new_job_id()
        now = time.time()
        await self.store.create_job(
            job_id=job_id,
            spec=spec,
            simulated=self.deps.clients.simulated,
            now=now,
            announce=lambda: [
                StatusEvent(status=JobStatus.PENDING, ts=now),
                EventLog.line(job_id, "job created"),
            ],
        )
        await self._start_attempt(job_id, 0)
        return job_id

    async def _check_notify_url(self, url: str) -> None:
        settings = self.deps.settings
        if settings.webhook_secret is None:
            raise UnusableInput(
                "notify_url: this server has no ORCH_WEBHOOK_SECRET to sign webhooks with"
            )
        try:
            await check_reachable(url, allow_private=settings.webhook_allow_private)
        except InvalidInput as e:
            raise UnusableInput(f"notify_url: {e}") from None

    async def wait_for_events(self, job_id: str, after: int, within: float) -> None:
        """Return once an event of the job with an id above `after` is stored, or after
        `within` seconds (events stored by other processes wake it on PostgreSQL only)."""
        await self.events.bus.wait(job_id, after, within)

    async def _start_attempt(self, job_id: str, attempt: int) -> None:
        with SetWorkflowID(workflow_id(job_id, attempt)):
            if self.watch.takes_work:  # whichever worker is free takes it
                await DBOS.enqueue_workflow_async(JOB_QUEUE, self.runner.job_workflow, job_id)
            else:
                await DBOS.start_workflow_async(self.runner.job_workflow, job_id)

    async def is_active(self, job_id: str) -> bool:
        """Whether the job's current attempt is still running (here or in another worker)."""
        return (await self._current_run(job_id)) is not None

    async def runs_here(self, job_id: str) -> bool:
        """Whether the job's current attempt is unfinished and recorded under this process
        (a CLI `resume` that recovered it at start)."""
        run = await self._current_run(job_id)
        return run is not None and run.executor_id == DBOS.executor_id

    async def _current_run(self, job_id: str) -> WorkflowStatus | None:
        """The workflow of the job's current attempt while it is unfinished."""
        job = await self.store.get_job(job_id)
        status = await DBOS.get_workflow_status_async(workflow_id(job_id, job.attempt))
        return status if status is not None and status.status in UNFINISHED else None

    async def wait(self, job_id: str) -> ProjectStatus | None:
        """The job's outcome once its current run ends; None when it stopped for review."""
        job = await self.store.get_job(job_id)
        handle: WorkflowHandleAsync[ProjectStatus | None] = await DBOS.retrieve_workflow_async(
            workflow_id(job_id, job.attempt)
        )
        result: ProjectStatus | None = await handle.get_result()
        return result

    async def cancel(self, job_id: str) -> None:
        """Stop new calls of the job at once; the job then ends CANCELLED: in the process
        running it, or here and now when that process is gone (runtime/orphans.py)."""
        if (await self.store.get_job(job_id)).status is JobStatus.AWAITING_REVIEW:
            await self.reject(job_id)  # no run to stop: it ends now
            return
        try:
            await request_cancel(self.store, job_id)
        except JobConflict:
            # Cancelled, and not ended yet, by a cancel under way (a double click) or one
            # whose process stopped before it ended the job: it ends (once), or the refusal.
            if not await self.ender.end_if_orphaned(job_id):
                raise
            return
        self.runs.cancel(job_id)
        await self.ender.end_if_orphaned(job_id)

    async def resume(
        self, job_id: str, *, budget_usd: float | None = None, time_limit_s: float | None = None
    ) -> None:
        """Run what did not finish; completed tasks and recorded calls are not paid again.
        `budget_usd` raises the cap; `time_limit_s` is the new run's (and later runs') limit.

        Of resumes asked at once (a double click; the API and the CLI), whichever process
        they come from, one starts a run: the others get JobConflict (Store.resume_job)."""
        await self.resumes.resume(job_id, budget_usd=budget_usd, time_limit_s=time_limit_s)

    async def approve(self, job_id: str, *, budget_usd: float | None = None) -> None:
        """Run a job awaiting review with its plan as reviewed; `budget_usd` replaces its
        budget. Any process sharing the store can approve (a worker then takes the run)."""
        job = await self.store.get_job(job_id)
        if job.status is not JobStatus.AWAITING_REVIEW:
            raise JobConflict(job_id, "it is not awaiting review")
        if budget_usd is not None:
            spent = (await self.store.job_budget(job_id)).spent_usd
            if Decimal(str(budget_usd)) < spent:
                raise UnusableInput(
                    f"budget_usd {usd_exact(budget_usd)} is below the {usd(float(spent))} "
                    "the job has spent already"
                )
        budget = f", budget now {usd_exact(budget_usd)}" if budget_usd is not None else ""
        line = f"plan approved: {job.task_count} task(s) to run{budget}"
        # One write: the approval, the forecast approved, the budget, the next run's number.
        # A process that dies before the run starts leaves a pending job with no run, which
        # a live worker or the next start of a runtime starts (runtime/unstarted.py).
        attempt = await self.reviews.approve(job_id, budget_usd=budget_usd, line=line)
        await self._start_attempt(job_id, attempt)

    async def reject(self, job_id: str) -> None:
        """End a job awaiting review, CANCELLED, having spent only its planning: a durable
        workflow of its own (runtime/rejects.py), which a crash does not leave half done."""
        await self.rejecter.reject(job_id)

    async def ended_within(self, job_id: str, seconds: float) -> bool:
        """Wait up to `seconds` for the job's current workflow to end."""
        try:
            async with asyncio.timeout(seconds):
                await self.wait(job_id)
        except TimeoutError:
            return False
        except Exception:  # the workflow ended with an error: it has ended
            pass
        return True

    async def delete(self, job_id: str, *, stop_timeout_s: float = 30.0) -> None:
        """Delete the job: gone from every listing at once, cancelled if it runs, and its
        rows, events, recorded calls and result files removed in the background once its run
        has stopped (the caller never waits for a run; runtime/removals.py)."""
        await self.removals.delete(job_id, stop_timeout_s=stop_timeout_s)
