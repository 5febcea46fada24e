"""A cancel that races the job's start wins: the start never writes over it.

The store is the real one; the race is made certain by having another process's cancel
land between the moment the job's start read the job and the moment it writes `running`.
"""

from __future__ import annotations

from typing import Any

from conftest import StartRuntime
from fakes import ScriptedClient, plan_task

from orchestrator.config import Settings
from orchestrator.domain import JobSpec, JobStatus, ProjectStatus
from orchestrator.events import DoneEvent, StatusEvent
from orchestrator.providers import ClientSet
from orchestrator.runtime.service import request_cancel
from orchestrator.store import Store


class CancelledWhileStartingStore(Store):
    """Just before the job's start writes `running`, another process cancels the job."""

    url = ""

    async def set_job_status(self, job_id: str, **kw: Any) -> bool:
        if kw["status"] is JobStatus.RUNNING:
            async with await Store.open(self.url) as other_process:
                await request_cancel(other_process, job_id)
        return await super().set_job_status(job_id, **kw)


async def test_a_cancel_stored_while_the_job_starts_wins(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    CancelledWhileStartingStore.url = settings.store_url
    store = await CancelledWhileStartingStore.open(settings.store_url)
    client = ScriptedClient(settings.catalog, [plan_task("a")])
    runtime = await start_runtime(ClientSet([client], settings.catalog), store=store)
    job_id = await runtime.submit(JobSpec(project_description="x"))

    assert await runtime.wait(job_id) is ProjectStatus.CANCELLED
    assert client.seen == []  # not one call: the job never ran
    job = await store.get_job(job_id)
    assert job.status is JobStatus.CANCELLED and job.final_status is ProjectStatus.CANCELLED
    events = [e.event for e in await store.read_events(job_id)]
    assert JobStatus.RUNNING not in [e.status for e in events if isinstance(e, StatusEvent)]
    assert isinstance(events[-1], DoneEvent) and events[-1].status is ProjectStatus.CANCELLED
