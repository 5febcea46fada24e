"""Durable webhook delivery: a DBOS workflow per delivery (one event to one endpoint).

Each attempt is a step (send, then record it); between attempts the workflow sleeps with
`DBOS.sleep_async`, whose wake-up time is recorded, so a process killed between attempts
goes on where it was after a restart, with the same `webhook-id`. A step in flight at a
crash may send its attempt twice: receivers drop repeats by `webhook-id`, as the spec says.
The secret is read from the settings at each attempt; it is never stored with the workflow.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import secrets
import socket
import time

import httpx
from dbos import DBOS, DBOSConfiguredInstance, SetWorkflowID
from pydantic import BaseModel

from orchestrator import crashpoints
from orchestrator.domain import ProjectStatus
from orchestrator.errors import OrchestratorError
from orchestrator.events import CostEvent
from orchestrator.runtime.jobrun import RuntimeDeps
from orchestrator.store import Store, WebhookAttempt, is_transient
from orchestrator.webhooks import (
    BUDGET_WARNING,
    DELIVERED,
    GONE,
    WARNING_SHARE,
    Backoff,
    check_reachable,
    events_of,
    payload,
    send,
    shown,
)

DELIVERIES_NAME = "webhook-deliveries"

log = logging.getLogger(__name__)


class Delivery(BaseModel):
    """One event of a job to one endpoint, as its workflow carries it (no secret)."""

    job_id: str
    webhook_id: str
    event: str
    url: str
    body: str


@DBOS.dbos_class()
class Deliveries(DBOSConfiguredInstance):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps
        super().__init__(DELIVERIES_NAME)

    @DBOS.workflow()
    async def deliver(self, delivery: Delivery) -> None:
        for attempt in range(1, self.deps.settings.webhook_max_attempts + 1):
            wait_s = await self.attempt(delivery, attempt)
            if wait_s is None:
                return
            await DBOS.sleep_async(wait_s)

    @DBOS.step()
    async def attempt(self, delivery: Delivery, attempt: int) -> float | None:
        """Send attempt number `attempt` and record it; the seconds to wait before the next
        one, or None when the delivery is over (delivered, refused, gone, or out of tries)."""
        settings, store = self.deps.settings, self.deps.store
        secret = settings.webhook_secret
        where = shown(delivery.url)
        record = WebhookAttempt(
            job_id=delivery.job_id,
            webhook_id=delivery.webhook_id,
            event=delivery.event,
            url=where,
            attempt=attempt,
            status_code=None,
            outcome="refused",
            error="",
            at=time.time(),
            next_at=None,
        )
        if await store.webhook_gone(delivery.job_id, where):
            return None  # this endpoint answered 410 to this job: it wants no more
        try:
            if secret is None:
                raise OrchestratorError("ORCH_WEBHOOK_SECRET is not set: nothing is sent")
            # Again at each attempt: a name may resolve elsewhere since the job was created.
            await check_reachable(delivery.url, allow_private=settings.webhook_allow_private)
        except OrchestratorError as e:
            await store.record_webhook_attempt(record.model_copy(update={"error": str(e)}))
            log.warning("webhook %s to %s not sent: %s", delivery.event, where, e)
            return None
        async with httpx.AsyncClient(timeout=settings.webhook_timeout_s) as http:
            result = await send(
                http,
                delivery.url,
                secret=secret.get_secret_value(),
                webhook_id=delivery.webhook_id,
                body=delivery.body.encode(),
            )
        wait_s: float | None = None
        if result.outcome == DELIVERED:
            outcome = "delivered"
        elif result.outcome == GONE:
            outcome = "gone"
            log.warning(
                "webhook endpoint %s answered 410 Gone: job %s sends it no more",
                where,
                delivery.job_id,
            )
        elif attempt >= settings.webhook_max_attempts:
            outcome = "failed"
            log.warning(
                "webhook %s to %s failed after %d attempts: %s",
                delivery.event,
                where,
                attempt,
                result.error,
            )
        else:
            outcome = "retrying"
            wait_s = Backoff(first_s=settings.webhook_backoff_s).delay_s(
                attempt, result.retry_after_s
            )
        await store.record_webhook_attempt(
            record.model_copy(
                update={
                    "status_code": result.status_code,
                    "outcome": outcome,
                    "error": result.error,
                    "next_at": record.at + wait_s if wait_s is not None else None,
                }
            )
        )
        return wait_s

    async def start_for_end(self, job_id: str, outcome: ProjectStatus | None) -> None:
        """From the workflow that ended the job: start a delivery workflow for each webhook
        its end raises, named after that workflow; they go on after it ends (and after a
        restart). A webhook must never change how a job ended: a failure is logged."""
        try:
            deliveries = await self.deliveries_of(job_id, events_of(outcome))
        except Exception as e:
            first_line = str(e).partition("\n")[0][:200]  # not a database error's SQL
            log.error("job %s: webhooks not sent: %s: %s", job_id, type(e).__name__, first_line)
            return
        for delivery in deliveries:
            with SetWorkflowID(f"{DBOS.workflow_id}:{delivery.webhook_id}"):
                await DBOS.start_workflow_async(self.deliver, delivery)

    async def start_once(self, job_id: str, event: str) -> None:
        """Start the deliveries of `event` for the job, once per job: under workflow ids
        of their own, so a second start (a step run again, another process) starts nothing.

        In a context of its own: DBOS refuses to start a workflow from inside a step, and
        these are no step's children (they outlive it, and the job). A database that is
        briefly away raises (a step then runs again); any other failure is logged: a webhook
        never changes what happens to the job."""

        async def start() -> None:
            for index, delivery in enumerate(await self.deliveries_of(job_id, [event])):
                with SetWorkflowID(f"{job_id}:{event}:{index}"):
                    await DBOS.start_workflow_async(self.deliver, delivery)

        try:
            await asyncio.get_running_loop().create_task(start(), context=contextvars.Context())
        except Exception as e:
            if is_transient(e):
                raise
            log.error("job %s: %s not sent: %s", job_id, event, e)

    @DBOS.step()
    async def deliveries_of(self, job_id: str, events: list[str]) -> list[Delivery]:
        """Each event to each endpoint (the job's own notify_url and ORCH_WEBHOOK_URLS);
        none without a secret to sign them."""
        settings, store = self.deps.settings, self.deps.store
        job = await store.get_job(job_id)
        urls = dict.fromkeys([*settings.webhook_urls, *filter(None, [job.spec.notify_url])])
        if not urls or settings.webhook_secret is None:
            return []
        now, spent = time.time(), float(await store.job_spend(job_id))
        return [
            Delivery(
                job_id=job_id,
                webhook_id=f"msg_{secrets.token_hex(12)}",
                event=event,
                url=url,
                body=payload(event, job, now, spent=spent).model_dump_json(),
            )
            for event in events
            for url in urls
        ]


class BudgetWarnings:
    """Starts job.budget_warning once per job, from inside the durable step that records
    the call whose spend reaches WARNING_SHARE of the budget (`JobSteps.llm_call`).

    Until that step is recorded, a crash makes it run again, and it starts the warning
    again; the deliveries' workflow ids (the job's, the event's, the endpoint's place) make
    every start after the first a no-op, whichever process makes it. Once the step is
    recorded its deliveries are stored DBOS workflows, recovered like any other."""

    def __init__(self, deliveries: Deliveries) -> None:
        self._deliveries = deliveries
        self._started: set[str] = set()  # jobs whose warning this process saw started

    async def check(self, job_id: str, cost: CostEvent) -> None:
        if job_id in self._started or cost.budget_usd <= 0:
            return
        if cost.total_cost < WARNING_SHARE * cost.budget_usd:
            return
        crashpoints.reach("warning_due")
        await self._deliveries.start_once(job_id, BUDGET_WARNING)
        self._started.add(job_id)


async def hand_over(store: Store, executor_id: str, *, within_s: float) -> int:
    """Before a process that is not a worker (a CLI `run`) stops: wait up to `within_s` for
    each delivery it runs to make its first attempt, then hand those still to be retried to
    the workers; how many it handed over.

    DBOS recovers a workflow only in a process with its executor id, and a CLI's id is its
    own: so it leaves a heartbeat under that id, as a worker does, and stops beating. A live
    `serve` or `worker` on the same database takes over a worker silent for
    ORCH_WORKER_DEAD_AFTER_S (runtime/workers.py) and goes on with its deliveries: the
    recorded attempts and sleeps replay, the next attempt is sent when it is due."""
    name = getattr(Deliveries.deliver, "dbos_function_name", "")
    deadline = time.monotonic() + within_s
    while True:
        running = await DBOS.list_workflows_async(
            name=name,
            status=["PENDING", "ENQUEUED"],
            executor_id=executor_id,
            load_input=False,
            load_output=False,
        )
        steps = [await DBOS.list_workflow_steps_async(w.workflow_id) for w in running]
        if all(steps) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.05)
    if running:
        await store.beat(executor_id, host=socket.gethostname(), pid=os.getpid(), now=time.time())
        log.warning(
            "%d webhook deliveries are still to be sent or retried: the next `orchestrator "
            "serve` or `orchestrator worker` on this database sends them",
            len(running),
        )
    return len(running)
