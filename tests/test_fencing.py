"""The fencing token of a job's run: once another process has claimed the run (a takeover of a
worker presumed dead), the old run's writes are refused and it stops, making no more calls.

Real runtime (DBOS and the store on SQLite files); the takeover is the claim another worker
makes, through a store of its own on the same database, while a call of the run is in flight.
"""

from __future__ import annotations

import pytest
from conftest import StartRuntime
from fakes import ScriptedClient, plan_task

from orchestrator.config import Settings
from orchestrator.domain import JobSpec, JobStatus, TaskStatus
from orchestrator.errors import StaleRun
from orchestrator.providers import ClientSet
from orchestrator.runtime.jobrun import attempt_of
from orchestrator.store import Store


async def test_a_run_taken_over_stops_and_pays_for_nothing_after(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    taker = await Store.open(settings.store_url)  # the worker that takes the job over
    takeover: dict[str, int] = {}

    async def take_over(task_id: str) -> None:
        if takeover:
            return
        job_id = client_job[0]
        takeover["token"] = await taker.claim_run(job_id, 0, owner="taker")
        # Every attempt reserved so far: the calls in flight now are among them.
        takeover["reserved"] = len(await taker.list_calls(job_id=job_id))

    client_job: list[str] = []
    plan = [plan_task(t) for t in ("a", "b", "c", "d", "e", "f")]
    client = ScriptedClient(settings.catalog, plan, on_generate=take_over)
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    try:
        job_id = "fenced01"
        client_job.append(job_id)
        await runtime.submit(JobSpec(project_description="x", concurrency=2), job_id=job_id)

        with pytest.raises(StaleRun, match="taken over"):
            await runtime.wait(job_id)

        assert takeover, "the takeover happened"
        calls = await taker.list_calls(job_id=job_id)
        # No attempt was reserved after the takeover, and the provider saw no other call.
        assert len(calls) == takeover["reserved"]
        assert len(client.seen) <= takeover["reserved"]
        # The stale run ended nothing: the job is the new owner's, as the claim left it.
        job = await taker.get_job(job_id)
        assert (job.status, job.final_status) == (JobStatus.RUNNING, None)
        assert await taker.run_owner(job_id) == (takeover["token"], "taker")
        tasks = await taker.list_tasks(job_id)
        assert sum(t.status is TaskStatus.PENDING for t in tasks) >= 4  # work was left
        assert not any(t.status is TaskStatus.COMPLETED for t in tasks)
    finally:
        await taker.close()


async def test_each_claim_of_a_run_gets_the_next_token_and_only_for_the_current_attempt(
    settings: Settings,
) -> None:
    store = await Store.open(settings.store_url)
    try:
        await store.create_job(
            job_id="j1", spec=JobSpec(project_description="x"), simulated=True, now=0
        )
        first = await store.claim_run("j1", 0, owner="w1")
        assert await store.claim_run("j1", 0, owner="w2") == first + 1
        with pytest.raises(StaleRun, match="run 1 is not its run now"):
            await store.claim_run("j1", 1, owner="w1")
        workflows = ("j1", "j1:t1", "j1.r2", "j1.r2:t1", "j1.reject")
        assert [attempt_of(w, "j1") for w in workflows] == [0, 0, 2, 2, None]
    finally:
        await store.close()
