"""Webhooks end to end: `orchestrator serve` signs each event (Standard Webhooks) and
delivers it durably to receivers on loopback, which verify it with `standardwebhooks`."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import time
from pathlib import Path

import pytest
from api_fixtures import QUICK, ApiServer, start_server
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from webhook_receiver import HANG, Received, receiver

from orchestrator.api.schemas import JobCreate
from orchestrator.client import AsyncClient
from orchestrator.errors import InvalidInput
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


async def _attempts(server: ApiServer, job_id: str) -> list[dict[str, object]]:
    async with server.client() as http:
        answer = await http.get(f"/api/jobs/{job_id}/webhooks")
        assert answer.status_code == 200
        return list(answer.json())


async def _metrics(server: ApiServer) -> str:
    async with server.client() as http:
        return (await http.get("/metrics")).text


def test_a_tampered_body_or_another_secret_fails_verification(tmp_path: Path) -> None:
    with receiver() as hook:
        server = start_server(tmp_path / "data", **webhook_env())
        try:
            job_id = asyncio.run(run_job(server, notify_url=hook.url))
            (request,) = hook.wait_for(1)
        finally:
            server.stop()
    assert verified(request)["type"] == "job.finished"
    tampered = json.loads(request.body)
    tampered["data"]["total_cost"] = 0
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(json.dumps(tampered).encode(), request.headers)
    other = "whsec_" + base64.b64encode(b"another secret, thirty-two bytes").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(request.body, request.headers)
    assert job_id in request.body.decode()


def test_410_gone_ends_the_delivery(tmp_path: Path) -> None:
    with receiver(410) as hook:
        server = start_server(tmp_path / "data", **webhook_env())
        try:
            job_id = asyncio.run(run_job(server, notify_url=hook.url))
            hook.wait_for(1)
            attempts = asyncio.run(_attempts(server, job_id))
        finally:
            server.stop()
    assert [(a["status_code"], a["outcome"], a["next_at"]) for a in attempts] == [
        (410, "gone", None)
    ]


def test_a_job_that_spends_80_percent_sends_one_budget_warning_first(tmp_path: Path) -> None:
    with receiver() as hook:
        server = start_server(tmp_path / "data", **webhook_env())
        try:
            job_id = asyncio.run(run_job(server, budget_usd=0.01, notify_url=hook.url))
            with server.db() as db:
                (final,) = db.execute("select final_status from jobs").fetchone()
            sent = [verified(r) for r in hook.wait_for(3 if final != "SUCCESS" else 2)]
        finally:
            server.stop()
    kinds = [body["type"] for body in sent]
    assert kinds[0] == "job.budget_warning" and kinds.count("job.budget_warning") == 1
    assert "job.finished" in kinds
    warning = sent[0]["data"]
    assert isinstance(warning, dict) and warning["job_id"] == job_id
    assert warning["total_cost"] >= 0.8 * 0.01 and warning["budget_usd"] == 0.01


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
