"""A job never waits on a process that is gone: CLI runs and servers hand jobs to each other.

A CLI `run` beats in the store like a worker: killed, its job is taken over by a live server
once it is silent for the dead-after time; stopped by its user (Ctrl-C), its job is resumed
through the server. A server's job whose server died is finished by a CLI `resume`. Real
processes on one SQLite store; the simulator's billing log is the provider's bill: only the
calls in flight at a kill are paid again.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from api_fixtures import (
    ORCHESTRATOR,
    QUICK,
    ApiServer,
    Sse,
    billed,
    kill_with_a_call_in_flight,
    ok_calls,
    ok_count,
    read_all,
    recorded,
    server_env,
    start_server,
)

pytestmark = pytest.mark.slow

DEAD_AFTER_S = 3.0
FINISHED = ("SUCCESS", "PARTIAL_SUCCESS")
# Every process of a test: quick heartbeats, a short dead-after time, one billing log.
WATCH = {"ORCH_WORKER_DEAD_AFTER_S": str(DEAD_AFTER_S), "ORCH_WORKER_HEARTBEAT_S": "0.3"}


def wait_for(condition: str, check: Callable[[], bool], *procs: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"a process ended before: {condition}"
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"never saw: {condition}")


def the_job(server: ApiServer) -> str:
    with server.db() as db:
        rows = db.execute("select job_id from jobs").fetchall()
    assert len(rows) == 1
    return str(rows[0][0])


def has_job(server: ApiServer) -> bool:
    try:
        with server.db() as db:
            return db.execute("select count(*) from jobs").fetchone()[0] == 1
    except Exception:  # the CLI has not created the tables yet
        return False


def cli(args: list[str], data: Path, bills: Path, cwd: Path) -> subprocess.Popen[str]:
    """`orchestrator ARGS` on the test's store, its output in `cwd/cli.log`."""
    with (cwd / "cli.log").open("w") as log:
        return subprocess.Popen(
            [ORCHESTRATOR, *args],
            env=server_env(data, ORCH_SIM_BILLING_LOG=str(bills), **WATCH),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


async def stream_until_done(server: ApiServer, job_id: str) -> list[Sse]:
    async with server.client() as client:
        return await asyncio.wait_for(read_all(client, f"/api/jobs/{job_id}/stream"), 120)


def assert_finished_once(server: ApiServer, job_id: str, events: list[Sse]) -> None:
    assert events[-1].type == "done" and events[-1].data["status"] in FINISHED, events[-1]
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    with server.db() as db:
        keys = Counter(call[:4] for call in ok_calls(db, job_id))
    assert max(keys.values()) == 1, "a completed call was paid twice"


@contextmanager
def cli_run_beside_a_server(
    tmp_path: Path,
) -> Iterator[tuple[ApiServer, subprocess.Popen[str], Path]]:
    """A server, and a CLI `run` of one job beside it on the same store, both live; the
    provider's bill. Both are stopped on the way out."""
    data, bills = tmp_path / "data", tmp_path / "billing.log"
    server = start_server(data, worker_id="w-live", ORCH_SIM_BILLING_LOG=str(bills), **WATCH)
    run = cli(
        ["run", QUICK, "--budget", "0.5", "--out", str(tmp_path / "out")], data, bills, tmp_path
    )
    try:
        yield server, run, bills
    finally:
        if run.poll() is None:
            run.kill()
        server.stop()


def test_a_killed_cli_run_is_taken_over_by_a_live_server(tmp_path: Path) -> None:
    with cli_run_beside_a_server(tmp_path) as (server, run, bills):
        wait_for("the CLI's job", lambda: has_job(server), run, server.proc)
        in_flight = kill_with_a_call_in_flight(
            run, lambda: billed(bills) - recorded(server), lambda: ok_count(server) >= 8
        )
        job_id = the_job(server)
        events = asyncio.run(stream_until_done(server, job_id))
    assert_finished_once(server, job_id, events)
    logs = [e.data["msg"] for e in events if e.type == "log"]
    assert any(f"worker cli-{job_id} stopped responding" in line for line in logs), logs
    assert billed(bills) - recorded(server) == in_flight  # only the calls cut off ran again


def test_a_cli_run_stopped_by_its_user_is_cancelled_then_resumed_through_the_server(
    tmp_path: Path,
) -> None:
    with cli_run_beside_a_server(tmp_path) as (server, run, bills):
        wait_for("calls of the CLI's job", lambda: has_job(server) and ok_count(server) >= 8, run)
        run.send_signal(signal.SIGINT)  # Ctrl-C: the CLI stops, its job unfinished
        run.wait(timeout=120)
        job_id = the_job(server)

        async def resume_and_follow() -> list[Sse]:
            async with server.client() as client:
                # A cancel first, as from the dashboard, which shows the job running: no run
                # notices it, and the resume after it still starts the next run.
                cancelled = await client.post(f"/api/jobs/{job_id}/cancel")
                assert cancelled.status_code == 202, cancelled.text
                resumed = await client.post(f"/api/jobs/{job_id}/resume", json={})
                assert resumed.status_code == 202, resumed.text
            return await stream_until_done(server, job_id)

        events = asyncio.run(resume_and_follow())
    assert_finished_once(server, job_id, events)
    logs = [e.data["msg"] for e in events if e.type == "log"]
    assert any(f"(cli-{job_id}) stopped without ending it" in line for line in logs), logs
    # Calls in flight at the stop were cut off (closed `interrupted` by the resume, charged
    # their reservation); the provider may have billed them, and nothing else went unrecorded.
    with server.db() as db:
        query = "select count(*) from llm_calls where outcome = 'interrupted'"
        cut_off = int(db.execute(query).fetchone()[0])
    assert 0 <= billed(bills) - recorded(server) <= cut_off


def test_a_dead_servers_job_is_finished_by_a_cli_resume(tmp_path: Path) -> None:
    data, bills = tmp_path / "data", tmp_path / "billing.log"
    server = start_server(data, worker_id="w-dead", ORCH_SIM_BILLING_LOG=str(bills), **WATCH)
    try:

        async def create() -> str:
            async with server.client() as client:
                body = {"project_description": QUICK, "budget_usd": 0.5}
                created = await client.post("/api/jobs", json=body)
                assert created.status_code == 201, created.text
                return str(created.json()["job_id"])

        job_id = asyncio.run(create())
        in_flight = kill_with_a_call_in_flight(
            server.proc, lambda: billed(bills) - recorded(server), lambda: ok_count(server) >= 8
        )
    finally:
        if server.proc.poll() is None:
            server.kill()

    def server_silent() -> bool:
        with server.db() as db:
            seen = db.execute("select seen_at from workers where worker_id = 'w-dead'").fetchone()
        return seen is not None and time.time() - seen[0] > DEAD_AFTER_S

    wait_for("the server's heartbeat gone stale", server_silent)
    resume = cli(["resume", job_id, "--out", str(tmp_path / "out")], data, bills, tmp_path)
    try:
        resume.wait(timeout=180)
    finally:
        if resume.poll() is None:
            resume.kill()
    assert resume.returncode == 0, (tmp_path / "cli.log").read_text()
    with server.db() as db:
        status = db.execute("select final_status from jobs where job_id = ?", (job_id,))
        assert status.fetchone()[0] in FINISHED
        keys = Counter(call[:4] for call in ok_calls(db, job_id))
        lines = [r[0] for r in db.execute("select data from events where job_id = ?", (job_id,))]
    assert max(keys.values()) == 1, "a completed call was paid twice"
    assert any("(w-dead) stopped without ending it" in line for line in lines)
    assert billed(bills) - recorded(server) == in_flight
