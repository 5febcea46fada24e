"""Webhooks end to end: `orchestrator serve` signs each event (Standard Webhooks) and
delivers it durably to receivers on loopback, which verify it with `standardwebhooks`."""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import ORCHESTRATOR, QUICK, ApiServer, server_env, start_server
from crash_child import KEY, SPEC, crash_settings, die_at
from dbos import DBOS
from fake_llm_servers import FakeLLMServer
from fault_scenario import WARNING_FAULTS, answer
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from webhook_receiver import HANG, Received, Receiver, receiver

from orchestrator.api.schemas import JobCreate
from orchestrator.client import AsyncClient
from orchestrator.config import Settings
from orchestrator.domain import ProjectStatus
from orchestrator.errors import InvalidInput, JobConflict
from orchestrator.runtime import Runtime
from orchestrator.webhooks import check_reachable

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two bytes").decode()


def webhook_env(**more: str) -> dict[str, str]:
    return {
        "ORCH_WEBHOOK_SECRET": SECRET,
        "ORCH_WEBHOOK_ALLOW_PRIVATE": "true",  # the receivers are on loopback
        "ORCH_WEBHOOK_BACKOFF_S": "0.2",
        **more,
    }


def verified(request: Received) -> dict[str, object]:
    body: dict[str, object] = Webhook(SECRET).verify(request.body, request.headers)
    return body


async def run_job(server: ApiServer, **spec: object) -> str:
    async with AsyncClient(server.url) as client:
        job = await client.create_job(
            JobCreate.model_validate({"project_description": QUICK, "budget_usd": 0.5, **spec})
        )
        async for _event in client.follow(job.job_id):
            pass
        return job.job_id


def test_a_receiver_that_fails_twice_gets_three_signed_attempts_with_one_id(
    tmp_path: Path,
) -> None:
    with receiver(500, (503, {"Retry-After": "1"})) as hook:
        server = start_server(tmp_path / "data", **webhook_env(ORCH_WEBHOOK_URLS=hook.url))
        try:
            job_id = asyncio.run(run_job(server))
            first, second, third = hook.wait_for(3)
            attempts = asyncio.run(_attempts(server, job_id))
            metrics = asyncio.run(_metrics(server))
        finally:
            server.stop()
    ids = {r.headers["webhook-id"] for r in (first, second, third)}
    assert len(ids) == 1
    body = verified(third)
    assert body["type"] == "job.finished"
    data = body["data"]
    assert isinstance(data, dict) and data["job_id"] == job_id and data["final_status"] == "SUCCESS"
    assert all(verified(r) == body for r in (first, second))

    assert [(a["attempt"], a["status_code"], a["outcome"]) for a in attempts] == [
        (1, 500, "retrying"),
        (2, 503, "retrying"),
        (3, 200, "delivered"),
    ]
    assert attempts[1]["next_at"] - attempts[1]["at"] == pytest.approx(1.0)  # its Retry-After
    assert attempts[2]["next_at"] is None and attempts[0]["webhook_id"] in ids
    assert 'orchestrator_webhook_attempts{event="job.finished",outcome="delivered"} 1.0' in metrics
    assert 'orchestrator_webhook_attempts{event="job.finished",outcome="retrying"} 2.0' in metrics


async def _attempts(server: ApiServer, job_id: str, count: int = 0) -> list[dict[str, object]]:
    """The job's recorded attempts, once there are `count` of them."""
    deadline = time.monotonic() + 60
    async with server.client() as http:
        while True:
            answer = await http.get(f"/api/jobs/{job_id}/webhooks")
            assert answer.status_code == 200
            if len(answer.json()) >= count or time.monotonic() > deadline:
                return list(answer.json())
            await asyncio.sleep(0.05)


async def _metrics(server: ApiServer) -> str:
    async with server.client() as http:
        return (await http.get("/metrics")).text


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One server for the tests whose jobs name their own receiver (notify_url)."""
    started = start_server(tmp_path_factory.mktemp("hooked") / "data", **webhook_env())
    yield started
    started.stop()


def test_a_tampered_body_or_another_secret_fails_verification(hooked: ApiServer) -> None:
    with receiver() as hook:
        job_id = asyncio.run(run_job(hooked, notify_url=hook.url))
        (request,) = hook.wait_for(1)
    assert verified(request)["type"] == "job.finished"
    tampered = json.loads(request.body)
    tampered["data"]["total_cost"] = 0
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(json.dumps(tampered).encode(), request.headers)
    other = "whsec_" + base64.b64encode(b"another secret, thirty-two bytes").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(request.body, request.headers)
    assert job_id in request.body.decode()


def test_410_gone_ends_the_delivery(hooked: ApiServer) -> None:
    with receiver(410) as hook:
        job_id = asyncio.run(run_job(hooked, notify_url=hook.url))
        hook.wait_for(1)
        attempts = asyncio.run(_attempts(hooked, job_id, 1))
    assert [(a["status_code"], a["outcome"], a["next_at"]) for a in attempts] == [
        (410, "gone", None)
    ]


async def awaiting_review(client: AsyncClient, hook: Receiver) -> str:
    """A job that planned and awaits review, with its job.awaiting_review received."""
    job = await client.create_job(
        JobCreate(project_description=QUICK, budget_usd=0.5, review=True, notify_url=hook.url)
    )
    (told,) = await asyncio.to_thread(hook.wait_for, 1)
    assert verified(told)["type"] == "job.awaiting_review"
    return job.job_id


def test_a_job_that_spends_80_percent_sends_one_budget_warning_first(hooked: ApiServer) -> None:
    """Approved with a budget its planning has spent 90 % of: the next call's spend is past
    80 % whatever the simulator's prices (then the job runs out of budget)."""

    async def go(hook: Receiver) -> tuple[str, float]:
        async with AsyncClient(hooked.url) as client:
            job_id = await awaiting_review(client, hook)
            budget = (await client.get_plan(job_id)).spent_usd / 0.9
            await client.approve(job_id, budget_usd=budget)
            async for _event in client.follow(job_id):
                pass
            return job_id, budget

    with receiver() as hook:
        job_id, budget = asyncio.run(go(hook))
        sent = [verified(r) for r in hook.wait_for(4)]
        attempts = asyncio.run(_attempts(hooked, job_id, 4))
    kinds = [body["type"] for body in sent]
    assert kinds[:2] == ["job.awaiting_review", "job.budget_warning"]
    assert sorted(kinds[2:]) == ["job.failed", "job.finished"]  # sent side by side
    warning = sent[1]["data"]
    assert isinstance(warning, dict) and warning["job_id"] == job_id
    assert warning["total_cost"] >= 0.8 * budget and warning["budget_usd"] == budget
    assert [a["outcome"] for a in attempts] == ["delivered"] * 4


def test_a_rejected_plan_sends_job_finished_once(hooked: ApiServer) -> None:
    async def go(hook: Receiver) -> str:
        async with AsyncClient(hooked.url) as client:
            job_id = await awaiting_review(client, hook)
            await client.reject(job_id)
            with pytest.raises(JobConflict):
                await client.reject(job_id)
            return job_id

    with receiver() as hook:
        job_id = asyncio.run(go(hook))
        told, finished = (verified(r) for r in hook.wait_for(2))
        attempts = asyncio.run(_attempts(hooked, job_id, 2))
    assert (told["type"], finished["type"]) == ("job.awaiting_review", "job.finished")
    data = finished["data"]
    assert isinstance(data, dict) and data["job_id"] == job_id
    assert (data["status"], data["final_status"]) == ("cancelled", "CANCELLED")
    assert [a["event"] for a in attempts] == ["job.awaiting_review", "job.finished"]
    assert len(hook.requests) == 2


# Children are forked from a server process that imported the app once.
CHILDREN = multiprocessing.get_context("forkserver")


def warning_settings(data_dir: Path, llm_url: str, hook_url: str) -> Settings:
    """The crash harness's settings (crash_child.py), sending webhooks to `hook_url`."""
    return crash_settings(data_dir, llm_url).model_copy(
        update={
            "webhook_secret": SecretStr(SECRET),
            "webhook_urls": [hook_url],
            "webhook_allow_private": True,
        }
    )


def tight_child(data_dir: Path, llm_url: str, hook_url: str, point: str, n: int) -> None:
    """The crash harness's job, planned for review, then approved with a budget its planning
    has spent 90 % of: its next call's cost is past 80 %. Dies at the n-th `point`."""
    die_at(point, n)

    async def run() -> None:
        runtime = await Runtime.start(warning_settings(data_dir, llm_url, hook_url))
        try:
            await runtime.submit(SPEC.model_copy(update={"review": True}), job_id="job1")
            assert await runtime.wait("job1") is None
            spent = (await runtime.store.job_budget("job1")).spent_usd
            await runtime.approve("job1", budget_usd=float(spent) / 0.9)
            await runtime.wait("job1")
        finally:
            await runtime.stop()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("point", "occurrence"),
    # Before the warning is started; after it is, before DBOS records the call's step.
    [*WARNING_FAULTS, ("llm_call.end", 2)],
)
def test_a_crash_as_the_spend_passes_80_percent_still_warns_once(
    point: str, occurrence: int, tmp_path: Path
) -> None:
    with FakeLLMServer(answer, api_key=KEY) as llm, receiver() as hook:
        args = (tmp_path, llm.url, hook.url, point, occurrence)
        child = CHILDREN.Process(target=tight_child, args=args)
        child.start()
        child.join(timeout=120)
        if child.exitcode is None:
            child.kill()
        assert child.exitcode == -9, "the point was never reached"
        assert [verified(r)["type"] for r in hook.requests] == ["job.awaiting_review"]
        asyncio.run(recover(warning_settings(tmp_path, llm.url, hook.url)))
        sent = [verified(r) for r in hook.requests]
    assert sorted(body["type"] for body in sent) == [
        "job.awaiting_review",
        "job.budget_warning",
        "job.failed",
        "job.finished",
    ]


async def recover(settings: Settings) -> None:
    """Start the runtime where the child died; return once the job and every delivery of
    its webhooks have ended."""
    runtime = await Runtime.start(settings)
    try:
        assert await asyncio.wait_for(runtime.wait("job1"), 120) is ProjectStatus.BUDGET_EXHAUSTED
        deadline = time.monotonic() + 60
        # The job's own workflows have ended: what is left of it is its deliveries.
        while await DBOS.list_workflows_async(
            workflow_id_prefix="job1", status=["PENDING", "ENQUEUED"]
        ):
            assert time.monotonic() < deadline, "a webhook delivery never ended"
            await asyncio.sleep(0.05)
    finally:
        await runtime.stop()


def test_a_receiver_that_hangs_times_out_and_is_tried_again(tmp_path: Path) -> None:
    with receiver(HANG) as hook:
        server = start_server(tmp_path / "data", **webhook_env(ORCH_WEBHOOK_TIMEOUT_S="0.5"))
        try:
            job_id = asyncio.run(run_job(server, notify_url=hook.url))
            first, second = hook.wait_for(2)
            recorded(server, 2)
            attempts = asyncio.run(_attempts(server, job_id))
        finally:
            server.stop()
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert [(a["status_code"], a["outcome"]) for a in attempts] == [
        (None, "retrying"),
        (200, "delivered"),
    ]
    assert "Timeout" in str(attempts[0]["error"])


def test_kill_9_between_attempts_then_the_delivery_goes_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = webhook_env(ORCH_WEBHOOK_BACKOFF_S="4")
    with receiver(500) as hook:
        server = start_server(data, worker_id="w-hook", ORCH_WEBHOOK_URLS=hook.url, **env)
        try:
            asyncio.run(run_job(server))
            (first,) = hook.wait_for(1)
            assert recorded(server, 1) == [(1, "retrying")]
            sleeping(server)  # killed while the delivery waits to retry
        finally:
            server.kill()
        again = start_server(data, worker_id="w-hook", ORCH_WEBHOOK_URLS=hook.url, **env)
        try:
            _first, second = hook.wait_for(2)
            rows = recorded(again, 2)
        finally:
            again.stop()
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert verified(second) == verified(first)
    assert rows == [(1, "retrying"), (2, "delivered")]


def test_a_local_run_sends_the_first_attempt_and_a_worker_retries_the_rest(
    tmp_path: Path,
) -> None:
    """`orchestrator run` (no server) ends after its webhook's first attempt; the next
    `serve` on its database takes the retries over. The third attempt is due 15 s after the
    first (backoff 3 s, ×4): the command has long ended by then."""
    data = tmp_path / "data"
    env = webhook_env(ORCH_WEBHOOK_BACKOFF_S="3")
    with receiver(500, 500) as hook:
        ran = subprocess.run(
            [ORCHESTRATOR, "run", QUICK, "--budget", "0.5", "--out", str(tmp_path / "out")],
            env=server_env(data, ORCH_SIM_LATENCY_SCALE="0", ORCH_WEBHOOK_URLS=hook.url, **env),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert ran.returncode == 0, ran.stderr
        assert 1 <= len(hook.requests) <= 2  # sent before the command ended, refused
        assert "webhook deliveries are still to be sent or retried" in ran.stderr
        server = start_server(
            data,
            ORCH_WEBHOOK_URLS=hook.url,
            ORCH_WORKER_HEARTBEAT_S="0.2",
            ORCH_WORKER_DEAD_AFTER_S="1",
            **env,
        )
        try:
            sent = hook.wait_for(3)
            rows = recorded(server, 3)
        finally:
            server.stop()
    assert len({r.headers["webhook-id"] for r in sent}) == 1
    assert verified(sent[2])["type"] == "job.finished"
    assert rows == [(1, "retrying"), (2, "retrying"), (3, "delivered")]


def recorded(server: ApiServer, count: int) -> list[tuple[int, str]]:
    """The first `count` attempts in the store, once they are there."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with server.db() as db:
            rows = db.execute(
                "select attempt, outcome from webhook_attempts order by id"
            ).fetchall()
        if len(rows) >= count:
            return [tuple(r) for r in rows]
        time.sleep(0.02)
    raise AssertionError(f"never saw {count} recorded attempts")


def sleeping(server: ApiServer) -> None:
    """Return once a workflow has recorded its sleep: the attempt before it is durable."""
    deadline = time.monotonic() + 60
    query = "select count(*) from operation_outputs where function_name = 'DBOS.sleep'"
    while time.monotonic() < deadline:
        with sqlite3.connect(server.data_dir / "dbos.sqlite", timeout=30) as db:
            if db.execute(query).fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("no delivery workflow went to sleep")


async def test_private_and_loopback_hosts_are_refused_unless_allowed() -> None:
    for url in ("http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/", "http://[::1]/"):
        with pytest.raises(InvalidInput, match="private or local"):
            await check_reachable(url, allow_private=False)
        await check_reachable(url, allow_private=True)
    for url in ("ftp://example.com/x", "http:///x", "http://" + "a" * 2050 + ".com/"):
        with pytest.raises(InvalidInput):
            await check_reachable(url, allow_private=True)
