"""Live streams, cancel, resume, delete and auth, over real HTTP against `orchestrator serve`.

The server of this module has a token (so every request authenticates) and a short
keep-alive interval (so the test sees keep-alive comments without waiting 15 s).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from api_fixtures import (
    QUICK,
    ApiServer,
    SseStream,
    ok_calls,
    read_all,
    sse,
    start_server,
    wait_for_event,
)
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHILD_TABLES = ("tasks", "iterations", "events", "llm_calls", "artifacts")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(
        tmp_path_factory.mktemp("stream") / "data",
        ORCH_API_TOKEN=TOKEN,
        ORCH_SSE_PING_S="0.2",
    )
    yield started
    started.stop()


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client(headers=AUTH) as c:
        yield c


async def new_job(client: httpx.AsyncClient, **fields: object) -> str:
    body = {"project_description": QUICK, "budget_usd": 0.5, **fields}
    created = await client.post("/api/jobs", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["job_id"])


async def test_token_is_required_except_for_healthz(server: ApiServer) -> None:
    async with server.client() as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200
        for path in ("/api/jobs", "/api/models", "/api/version", "/metrics"):
            answer = await anonymous.get(path)
            assert answer.status_code == 401 and "Bearer" in answer.json()["detail"], path
        wrong = await anonymous.get("/api/jobs", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        # A token in a URL ends up in logs: never accepted, not even by the stream (the
        # dashboard's EventSource uses the session cookie; tests/test_api_security.py).
        for path in ("/api/jobs/nope1234/stream", "/api/jobs"):
            by_query = await anonymous.get(path, params={"token": TOKEN})
            assert by_query.status_code == 401, path


async def test_reconnect_gets_exactly_the_missed_events(client: httpx.AsyncClient) -> None:
    job_id = await new_job(client)
    path = f"/api/jobs/{job_id}/stream"
    seen = []
    async for event in sse(client, path):
        seen.append(event)
        if len(seen) == 6:
            break  # the client goes away while the job runs
    assert [e.id for e in seen] == [1, 2, 3, 4, 5, 6]
    resumed = await read_all(client, path, headers={"Last-Event-ID": "6"})
    assert resumed[-1].type == "done" and resumed[-1].data["status"] == "SUCCESS"
    everything = await read_all(client, path)
    assert everything[:6] == seen and everything[6:] == resumed
    assert [e.id for e in everything] == list(range(1, len(everything) + 1))
    after = await read_all(client, f"{path}?after=10")
    assert after == everything[10:]
    # The header of a reconnect wins over the query the page was opened with.
    both = await read_all(client, f"{path}?after=2", headers={"Last-Event-ID": "12"})
    assert both == everything[12:]
    caught_up = await client.get(path, headers={"Last-Event-ID": str(everything[-1].id)})
    assert caught_up.status_code == 204  # tells EventSource to stop reconnecting
    for bad in ("abc", "-1", "1.5"):
        answer = await client.get(path, headers={"Last-Event-ID": bad})
        assert answer.status_code == 400 and "Last-Event-ID" in answer.json()["detail"]
        answer = await client.get(path, params={"after": bad})
        assert answer.status_code == 400 and "after" in answer.json()["detail"]
    # A finished job can be deleted too.
    assert (await client.delete(f"/api/jobs/{job_id}")).status_code == 204
    listed = await client.get("/api/jobs", params={"limit": 1000})
    assert job_id not in {j["job_id"] for j in listed.json()}


async def test_keepalive_comments_and_subscriber_gauge(client: httpx.AsyncClient) -> None:
    job_id = await new_job(client)
    received = SseStream()
    # Nothing after id 10**6 will come: the stream stays idle and only keep-alives arrive.
    async with client.stream("GET", f"/api/jobs/{job_id}/stream?after=1000000") as response:
        async for line in response.aiter_lines():
            if line.startswith(":"):
                received.comments.append(line)
                metrics = (await client.get("/metrics")).text  # while still subscribed
                break
    assert received.comments and received.comments[0].startswith(": ping")
    gauge = next(
        s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "orchestrator_sse_subscribers"
    )
    assert gauge >= 1, metrics
    assert (await client.post(f"/api/jobs/{job_id}/cancel")).status_code == 202


async def test_cancel_stops_spend_then_resume_reruns_only_what_did_not_finish(
    client: httpx.AsyncClient, server: ApiServer
) -> None:
    job_id = await new_job(client, concurrency=3)
    first_done = await wait_for_event(client, job_id, "task", status="completed")
    cancelled = await client.post(f"/api/jobs/{job_id}/cancel")
    assert cancelled.status_code == 202
    cancelled_at = time.time()
    stream = await read_all(client, f"/api/jobs/{job_id}/stream?after={first_done.id}")
    assert stream[-1].type == "done" and stream[-1].data["status"] == "CANCELLED"
    with server.db() as db:
        started_after_cancel = db.execute(
            "select count(*) from llm_calls where job_id = ? and created_at > ?",
            (job_id, cancelled_at),
        ).fetchone()[0]
        calls_before = ok_calls(db, job_id)
        recorded_spend = db.execute(
            "select sum(cost_usd) from llm_calls where job_id = ?", (job_id,)
        ).fetchone()[0]
    assert started_after_cancel == 0  # spend stopped at once: no call started after it
    job = (await client.get(f"/api/jobs/{job_id}")).json()
    assert job["status"] == "cancelled" and job["final_status"] == "CANCELLED"
    assert job["total_cost"] == pytest.approx(recorded_spend, abs=1e-9)
    assert (await client.post(f"/api/jobs/{job_id}/cancel")).status_code == 409
    finished = {t: s for t, s in job["tasks"].items() if s["status"] == "completed"}
    assert first_done.data["task_id"] in finished and len(finished) < len(job["tasks"])
    histories = {t: (await client.get(f"/api/jobs/{job_id}/tasks/{t}")).json() for t in finished}

    bad = await client.post(f"/api/jobs/{job_id}/resume", json={"budget_usd": -1})
    assert bad.status_code == 422
    resumed = await client.post(f"/api/jobs/{job_id}/resume", json={"budget_usd": 0.9})
    assert resumed.status_code == 202
    assert resumed.json() == {"job_id": job_id, "status": "resuming"}
    # The seed's UI posts with a JSON content type and no body.
    again = await client.post(
        f"/api/jobs/{job_id}/resume", headers={"Content-Type": "application/json"}
    )
    assert again.status_code == 409 and "running" in again.json()["detail"]
    rest = await read_all(client, f"/api/jobs/{job_id}/stream?after={stream[-1].id}")
    assert rest[-1].type == "done" and rest[-1].data["status"] in ("SUCCESS", "PARTIAL_SUCCESS")

    job = (await client.get(f"/api/jobs/{job_id}")).json()
    assert job["budget_usd"] == 0.9 and job["status"] == "done"
    for task_id, before in histories.items():
        after = (await client.get(f"/api/jobs/{job_id}/tasks/{task_id}")).json()
        assert after == before  # a finished task is not run again
    with server.db() as db:
        calls_after = ok_calls(db, job_id)
        ids = [r[0] for r in db.execute("select id from events where job_id = ?", (job_id,))]
    assert calls_after[: len(calls_before)] == calls_before
    assert max(Counter(c[:4] for c in calls_after).values()) == 1  # no call paid twice
    assert sorted(ids) == list(range(1, len(ids) + 1))
    if all(t["status"] == "completed" for t in job["tasks"].values()):
        empty = await client.post(f"/api/jobs/{job_id}/resume")  # nothing left to run
        assert empty.status_code == 409 and "nothing left to run" in empty.json()["detail"]


async def test_delete_a_running_job_removes_everything(
    client: httpx.AsyncClient, server: ApiServer
) -> None:
    job_id = await new_job(client)
    await wait_for_event(client, job_id, "task", status="running")
    assert (await client.delete(f"/api/jobs/{job_id}")).status_code == 204
    assert (await client.get(f"/api/jobs/{job_id}")).status_code == 404
    assert (await client.get(f"/api/jobs/{job_id}/stream")).status_code == 404
    assert (await client.delete(f"/api/jobs/{job_id}")).status_code == 404
    # The rows go in the background, once the run has stopped (its calls in flight recorded).
    for _ in range(600):
        with server.db() as db:
            left = [
                table
                for table in ("jobs", *CHILD_TABLES)
                if db.execute(f"select 1 from {table} where job_id = ?", (job_id,)).fetchone()
            ]
        if not left:
            break
        await asyncio.sleep(0.1)
    assert left == []
