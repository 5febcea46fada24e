"""The typed client (`orchestrator.client`) against a real `orchestrator serve` with a token:
the API's main flows through its sync and async clients, errors as the project's exception
tree, and `follow()` carrying on across a server restart."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import aclosing, closing
from pathlib import Path

import pytest
from api_fixtures import HELLO, QUICK, ApiServer, start_server

from orchestrator.api.schemas import JobCreate, ResumeRequest
from orchestrator.client import AsyncClient, Client
from orchestrator.domain import JobStatus, ProjectStatus
from orchestrator.errors import (
    ArtifactNotFound,
    InvalidInput,
    JobConflict,
    JobNotFound,
    NotAuthenticated,
    ServerUnreachable,
    TaskNotFound,
)
from orchestrator.events import StoredEvent
from orchestrator.plan import ReviewedPlan, ReviewedTask

pytestmark = pytest.mark.slow

TOKEN = "client-test-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(tmp_path_factory.mktemp("client") / "data", ORCH_API_TOKEN=TOKEN)
    yield started
    started.stop()


@pytest.fixture
def client(server: ApiServer) -> Iterator[Client]:
    with Client(server.url, token=TOKEN) as c:
        yield c


def assert_whole_history(events: list[StoredEvent]) -> None:
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert events[-1].event.type == "done"


def test_a_job_from_start_to_result_files(client: Client) -> None:
    assert client.health().status == "ok" and client.version().simulated is True
    job = client.create_job(JobCreate.model_validate(HELLO))
    events = list(client.follow(job.job_id))
    assert_whole_history(events)
    done = events[-1].event
    assert done.type == "done" and done.status is ProjectStatus.SUCCESS
    assert list(client.follow(job.job_id)) == events  # a finished job replays, then ends

    detail = client.get_job(job.job_id)
    assert detail.status is JobStatus.DONE and detail.total_cost == pytest.approx(
        done.total_cost, abs=1e-6
    )
    streamed = {e.event.task_id for e in events if e.event.type == "task"}
    assert set(detail.tasks) == streamed
    for task_id, summary in detail.tasks.items():
        task = client.get_task(job.job_id, task_id)
        assert len(task.history) == summary.iterations and task.output

    files = {a.path: a.size for a in client.list_artifacts(job.job_id)}
    assert "README.md" in files
    readme = client.read_artifact(job.job_id, "README.md")
    assert len(readme) == files["README.md"]
    archive = zipfile.ZipFile(io.BytesIO(client.download_artifacts(job.job_id)))
    assert archive.read(f"{job.job_id}/README.md") == readme

    used = [m for m in client.list_models() if m.call_count > 0]
    assert used and all(m.simulated for m in used)
    assert "orchestrator_llm_calls_total" in client.metrics()


def test_errors_are_the_projects_exception_tree(client: Client, server: ApiServer) -> None:
    for call in (
        lambda: client.get_job("nope1234"),
        lambda: client.cancel_job("nope1234"),
        lambda: client.resume_job("nope1234"),
        lambda: client.delete_job("nope1234"),
        lambda: client.list_artifacts("nope1234"),
        lambda: list(client.follow("nope1234")),
        lambda: client.get_task("nope1234", "task_001"),
    ):
        with pytest.raises(JobNotFound, match="nope1234"):
            call()
    created = client.create_job(JobCreate(project_description=QUICK, budget_usd=0.2))
    job_id = created.job_id
    with pytest.raises(TaskNotFound, match="task_999"):
        client.get_task(job_id, "task_999")
    with pytest.raises(ArtifactNotFound, match=r"nope\.py"):
        client.read_artifact(job_id, "nope.py")
    with pytest.raises(InvalidInput, match="budget_usd"):  # the server's 422, not ours
        client.create_job(JobCreate.model_construct(project_description="x", budget_usd=-1))
    with Client(server.url) as anonymous, pytest.raises(NotAuthenticated, match="token"):
        anonymous.list_jobs()
    with Client("http://127.0.0.1:9", patience_s=0) as nowhere, pytest.raises(ServerUnreachable):
        nowhere.health()
    list(client.follow(job_id))
    with pytest.raises(JobConflict, match="already finished"):
        client.cancel_job(job_id)


async def test_async_list_cancel_resume_delete(server: ApiServer) -> None:
    marker = uuid.uuid4().hex[:10]
    async with AsyncClient(server.url, token=TOKEN) as client:
        ids = []
        for i in range(3):
            spec = JobCreate(project_description=f"{QUICK} {marker} {i}", budget_usd=0.2)
            ids.append((await client.create_job(spec)).job_id)
        for job_id in ids:
            assert (await client.cancel_job(job_id)).status == "cancelling"
        ended = await asyncio.gather(*(_last(client, job_id) for job_id in ids))
        assert all(e.event.type == "done" for e in ended)

        page = await client.list_jobs(q=marker, limit=2, offset=1)
        assert page.total == 3 and [j.job_id for j in page.jobs] == ids[::-1][1:]
        cancelled = await client.list_jobs(q=marker, status=JobStatus.CANCELLED)
        assert cancelled.total == 3

        resumed = await client.resume_job(ids[0], ResumeRequest(budget_usd=0.3))
        assert resumed.status == "resuming"
        last = await _last(client, ids[0])
        assert last.event.type == "done" and last.event.status is ProjectStatus.SUCCESS
        assert (await client.get_job(ids[0])).budget_usd == 0.3

        await client.delete_job(ids[1])
        with pytest.raises(JobNotFound):
            await client.get_job(ids[1])


def awaits_review(event: StoredEvent) -> bool:
    return event.event.type == "status" and event.event.status is JobStatus.AWAITING_REVIEW


def test_a_reviewed_job_is_edited_approved_and_runs(client: Client) -> None:
    job = client.create_job(JobCreate.model_validate({**HELLO, "review": True}))
    with closing(client.follow(job.job_id)) as events:
        assert any(awaits_review(e) for e in events)
    assert client.get_job(job.job_id).status is JobStatus.AWAITING_REVIEW

    plan = client.get_plan(job.job_id)
    assert plan.status is JobStatus.AWAITING_REVIEW and plan.tasks
    assert 0 < plan.forecast.low <= plan.forecast.expected <= plan.forecast.high
    assert all(t.model and t.forecast.high > 0 for t in plan.tasks)
    tasks = [
        ReviewedTask(
            id=t.id, title=t.title, type=t.type, prompt=t.prompt, dependencies=t.dependencies
        )
        for t in plan.tasks
    ]
    tasks[0].prompt += " Keep it to one file."
    edited = client.edit_plan(job.job_id, ReviewedPlan(tasks=tasks))
    assert edited.tasks[0].prompt == tasks[0].prompt
    assert client.get_plan(job.job_id) == edited

    decision = client.approve(job.job_id, budget_usd=0.6)
    assert decision.job_id == job.job_id and decision.status == "approved"
    done = list(client.follow(job.job_id))[-1].event
    assert done.type == "done" and done.status is ProjectStatus.SUCCESS
    detail = client.get_job(job.job_id)
    assert detail.status is JobStatus.DONE and detail.budget_usd == 0.6
    assert client.get_task(job.job_id, plan.tasks[0].id).prompt == tasks[0].prompt
    with pytest.raises(JobConflict, match="review"):  # no longer awaits review
        client.approve(job.job_id)


async def test_async_reject_ends_a_reviewed_job_cancelled(server: ApiServer) -> None:
    async with AsyncClient(server.url, token=TOKEN) as client:
        spec = JobCreate(project_description=QUICK, budget_usd=0.3, review=True)
        job_id = (await client.create_job(spec)).job_id
        async with aclosing(client.follow(job_id)) as events:
            async for event in events:
                if awaits_review(event):
                    break
            else:
                raise AssertionError("the stream ended without awaiting review")
        plan = await client.get_plan(job_id)
        assert plan.tasks and plan.forecast.expected > 0
        with pytest.raises(InvalidInput, match="budget_usd"):  # the server's 422
            await client.approve(job_id, budget_usd=-1)

        decision = await client.reject(job_id)
        assert decision.status == "rejected"
        last = await _last(client, job_id)
        assert last.event.type == "done" and last.event.status is ProjectStatus.CANCELLED
        assert (await client.get_job(job_id)).status is JobStatus.CANCELLED
        for call in (client.approve(job_id), client.reject(job_id)):
            with pytest.raises(JobConflict, match="review"):
                await call
        with pytest.raises(JobNotFound, match="nope1234"):
            await client.get_plan("nope1234")


async def _last(client: AsyncClient, job_id: str) -> StoredEvent:
    events = [e async for e in client.follow(job_id)]
    return events[-1]


def unfinished(server: ApiServer, job_id: str) -> bool:
    with server.db() as db:
        row = db.execute("select final_status from jobs where job_id = ?", (job_id,)).fetchone()
    return row[0] is None


async def test_follow_carries_on_across_a_server_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(data, worker_id="w-follow")
    port = int(first.url.rsplit(":", 1)[1])
    restarted: list[ApiServer] = []
    try:
        async with AsyncClient(first.url) as client:
            job = await client.create_job(JobCreate.model_validate(HELLO))
            events = []
            async for event in client.follow(job.job_id):
                events.append(event)
                if not restarted and event.event.type == "task":
                    await asyncio.to_thread(first.stop)
                    assert unfinished(first, job.job_id), "the job ended before the restart"
                    again = await asyncio.to_thread(
                        start_server, data, worker_id="w-follow", port=port
                    )
                    restarted.append(again)
            assert restarted and events[-1].event.type == "done"
            assert_whole_history(events)
            assert [e async for e in client.follow(job.job_id)] == events
    finally:
        first.stop()
        for server in restarted:
            server.stop()
