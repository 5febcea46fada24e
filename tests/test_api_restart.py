"""The server stopping, crashing and sharing its store: real processes, real signals.

Jobs running when the server stops (SIGTERM) or dies (SIGKILL) continue when a server with
the same worker id starts again; no completed LLM call is paid twice; every job's event ids
stay gap-free. A job run by the CLI in another process is followed and cancelled through
the server.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from api_fixtures import (
    HELLO,
    ORCHESTRATOR,
    ApiServer,
    Sse,
    billed,
    create_jobs,
    follow_all,
    kill_with_a_call_in_flight,
    ok_calls,
    ok_count,
    recorded,
    server_env,
    sse,
    start_server,
)

pytestmark = pytest.mark.slow

FINISHED = ("SUCCESS", "PARTIAL_SUCCESS")


def unfinished(server: ApiServer) -> int:
    with server.db() as db:
        query = "select count(*) from jobs where final_status is null"
        return int(db.execute(query).fetchone()[0])


def assert_recovered(server: ApiServer, streams: dict[str, list[Sse]]) -> None:
    with server.db() as db:
        for job_id, events in streams.items():
            assert events[-1].type == "done" and events[-1].data["status"] in FINISHED
            stored = [r[0] for r in db.execute("select id from events where job_id = ?", (job_id,))]
            assert sorted(stored) == list(range(1, len(stored) + 1)), job_id
            assert [e.id for e in events] == sorted(stored)
            keys = Counter(call[:4] for call in ok_calls(db, job_id))
            assert max(keys.values()) == 1, f"{job_id} paid a completed call twice"


def wait_until(condition: str, check: Callable[[], bool], server: ApiServer) -> None:
    """Poll the store until `check()` holds (the server keeps running meanwhile)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.proc.poll() is None, "the server ended early"
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"never saw: {condition}")


def test_jobs_continue_after_a_graceful_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, worker_id="w-restart")
    try:
        job_ids = asyncio.run(create_jobs(server, 3))
        wait_until("calls recorded", lambda: ok_count(server) >= 10, server)
    finally:
        server.stop()
    assert unfinished(server) > 0, "the jobs ended before the server stopped"
    again = start_server(data, worker_id="w-restart")
    try:
        streams = asyncio.run(follow_all(again, job_ids))
        assert_recovered(again, streams)
    finally:
        again.stop()


def test_kill_9_with_20_jobs_running_then_restart(tmp_path: Path) -> None:
    data, bills = tmp_path / "data", tmp_path / "billing.log"
    env = {"ORCH_SIM_BILLING_LOG": str(bills)}
    server = start_server(data, worker_id="w-crash", **env)
    try:
        job_ids = asyncio.run(create_jobs(server, 20))
        in_flight = kill_with_a_call_in_flight(
            server.proc,
            lambda: billed(bills) - recorded(server),  # started at the provider, not recorded
            lambda: ok_count(server) >= 60,
        )
    finally:
        if server.proc.poll() is None:
            server.kill()
    with server.db() as db:
        before = {job_id: ok_calls(db, job_id) for job_id in job_ids}
    assert billed(bills) - recorded(server) == in_flight
    assert unfinished(server) > 0

    again = start_server(data, worker_id="w-crash", **env)
    try:
        streams = asyncio.run(follow_all(again, job_ids))
    finally:
        again.stop()
    assert_recovered(again, streams)
    with again.db() as db:
        for job_id, calls in before.items():
            assert ok_calls(db, job_id)[: len(calls)] == calls  # kept as recorded
    # Only the calls in flight at the kill (at most concurrency 3 per job) ran again.
    assert 1 <= in_flight <= 3 * len(job_ids)
    assert billed(bills) - recorded(again) == in_flight


async def _follow_and_cancel(server: ApiServer, cli: subprocess.Popen[str]) -> list[Sse]:
    async with server.client() as client:
        while True:  # the CLI creates the job: wait for it to appear
            assert cli.poll() is None, "the CLI run ended before it was seen"
            listed = (await client.get("/api/jobs")).json()
            if listed:
                job_id = listed[0]["job_id"]
                break
            await asyncio.sleep(0.05)
        events = []
        cancelled: httpx.Response | None = None
        async for event in sse(client, f"/api/jobs/{job_id}/stream"):
            events.append(event)
            if event.type == "task" and event.data["status"] == "running" and not cancelled:
                assert cli.poll() is None  # live: the CLI process is still running it
                cancelled = await client.post(f"/api/jobs/{job_id}/cancel")
                assert cancelled.status_code == 202
        return events


def test_a_job_run_by_the_cli_is_followed_and_cancelled_through_the_server(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    server = start_server(data, worker_id="w-watch")
    cli = subprocess.Popen(
        [ORCHESTRATOR, "run", str(HELLO["project_description"]), "--budget", "0.5"],
        env=server_env(data),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        events = asyncio.run(_follow_and_cancel(server, cli))
        assert cli.wait(timeout=120) == 1  # the CLI saw the cancel: job not successful
    finally:
        if cli.poll() is None:
            cli.kill()
        server.stop()
    assert events[-1].type == "done" and events[-1].data["status"] == "CANCELLED"
    assert [e.id for e in events] == list(range(1, len(events) + 1))


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    done = subprocess.run(
        [ORCHESTRATOR, "serve", "--host", "0.0.0.0", "--port", "0"],
        env=server_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "ORCH_API_TOKEN" in done.stderr
    assert not (tmp_path / "data").exists()  # refused before opening anything
