"""A cancel of a job whose run's process is gone ends the job at once, from the cancelling one.

A CLI `run` stopped with Ctrl-C leaves its job `running`, with nothing running it; the
dashboard offers Cancel. Real processes on one SQLite store: the CLI, stopped mid-job, then a
server beside the same data directory; the simulator's billing log is the provider's bill.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from api_fixtures import (
    ORCHESTRATOR,
    QUICK,
    ApiServer,
    Sse,
    billed,
    ok_calls,
    read_all,
    recorded,
    server_env,
    start_server,
)

pytestmark = pytest.mark.slow

# Quick heartbeats and a short dead-after time in every process of the test.
DEAD_AFTER_S, HEARTBEAT_S = "3", "0.3"
WATCH = {"ORCH_WORKER_DEAD_AFTER_S": DEAD_AFTER_S, "ORCH_WORKER_HEARTBEAT_S": HEARTBEAT_S}
# The CLI's calls take a few tenths of a second: its stop cuts one off.
SLOW_CALLS = {"ORCH_SIM_LATENCY_SCALE": "0.5"}
SUMMARY = ".orchestrator/summary.md"


@dataclass
class StoppedRun:
    """The job of a CLI `run` stopped by its user, and what its store held at the stop."""

    job_id: str
    in_flight: int  # attempts the stop cut off, left in flight
    interrupted: int  # attempts closed as cut off (none yet: nothing closed them)
    billed: int


def scalar(data: Path, query: str, *args: object) -> object:
    with sqlite3.connect(data / "orchestrator.db", timeout=30) as db:
        row = db.execute(query, args).fetchone()
    return None if row is None else row[0]


def calls_of(data: Path, outcome: str) -> int:
    return int(str(scalar(data, "select count(*) from llm_calls where outcome = ?", outcome)))


def until(condition: str, check: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the CLI ended before: {condition}"
        try:
            if check():
                return
        except sqlite3.OperationalError:
            pass  # its tables are not created yet
        time.sleep(0.02)
    raise AssertionError(f"never saw: {condition}")


def stop_a_cli_run_mid_job(tmp_path: Path, data: Path, bills: Path) -> StoppedRun:
    """A CLI `run` of a quick job, stopped with Ctrl-C (SIGINT) once 8 calls are recorded,
    with a call in flight when one is caught (the process is frozen while it is looked at)."""
    with (tmp_path / "cli.log").open("w") as log:
        run = subprocess.Popen(
            [ORCHESTRATOR, "run", QUICK, "--budget", "0.5", "--out", str(tmp_path / "out")],
            env=server_env(data, ORCH_SIM_BILLING_LOG=str(bills), **WATCH, **SLOW_CALLS),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        until("8 calls recorded", lambda: calls_of(data, "ok") >= 8, run)

        def frozen_with_a_call_in_flight() -> bool:
            run.send_signal(signal.SIGSTOP)
            if calls_of(data, "in_flight") > 0:
                return True
            run.send_signal(signal.SIGCONT)
            return False

        until("a call in flight", frozen_with_a_call_in_flight, run)
        run.send_signal(signal.SIGINT)  # Ctrl-C, handled once the process goes on
        run.send_signal(signal.SIGCONT)
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGCONT)
            run.kill()
    job_id = str(scalar(data, "select job_id from jobs"))
    state = scalar(data, "select status || '/' || coalesce(final_status, '') from jobs")
    assert state == "running/", f"the CLI's job did not stop mid-job: {state}"
    return StoppedRun(
        job_id, calls_of(data, "in_flight"), calls_of(data, "interrupted"), billed(bills)
    )


async def cancel_twice_at_once(server: ApiServer, job_id: str) -> list[int]:
    """Two cancels at once, as a double click on the dashboard's Cancel."""
    async with server.client() as client:
        answers = await asyncio.gather(
            *(client.post(f"/api/jobs/{job_id}/cancel") for _ in range(2))
        )
    return sorted(a.status_code for a in answers)


async def history(server: ApiServer, job_id: str) -> list[Sse]:
    async with server.client() as client:
        return await asyncio.wait_for(read_all(client, f"/api/jobs/{job_id}/stream"), 180)


async def resume(server: ApiServer, job_id: str) -> httpx.Response:
    async with server.client() as client:
        return await client.post(f"/api/jobs/{job_id}/resume", json={})


def assert_billed_once(server: ApiServer, job_id: str, bills: Path) -> None:
    """No call answered twice, and nothing billed but recorded calls and those cut off."""
    with server.db() as db:
        keys = Counter(call[:4] for call in ok_calls(db, job_id))
    assert max(keys.values()) == 1, "a completed call was paid twice"
    cut_off = calls_of(server.data_dir, "interrupted")
    assert 0 <= billed(bills) - recorded(server) <= cut_off


def test_a_cancel_ends_a_job_whose_cli_run_was_stopped_and_a_resume_then_runs_it(
    tmp_path: Path,
) -> None:
    data, bills = tmp_path / "data", tmp_path / "billing.log"
    stopped = stop_a_cli_run_mid_job(tmp_path, data, bills)
    job_id = stopped.job_id
    server = start_server(
        data,
        worker_id="w-cancel",
        ORCH_SIM_BILLING_LOG=str(bills),
        ORCH_WORKER_DEAD_AFTER_S=DEAD_AFTER_S,
        ORCH_WORKER_HEARTBEAT_S=HEARTBEAT_S,
    )
    try:
        codes = asyncio.run(cancel_twice_at_once(server, job_id))
        # The second finds the job ending (it waits for the same end) or ended (409).
        assert codes in ([202, 202], [202, 409]), codes
        # Ended by the time the cancel answered: no resume, no process running the job.
        ended = "select status || '/' || coalesce(final_status, '') from jobs where job_id = ?"
        assert scalar(data, ended, job_id) == "cancelled/CANCELLED"
        events = asyncio.run(history(server, job_id))
        assert [e.type for e in events].count("done") == 1
        assert events[-1].type == "done" and events[-1].data["status"] == "CANCELLED"
        finals = [e for e in events if e.type == "status" and e.data.get("final_status")]
        assert [e.data["final_status"] for e in finals] == ["CANCELLED"]
        assert finals[0].id < events[-1].id
        lines = [e.data["msg"] for e in events if e.type == "log"]
        assert any(f"(cli-{job_id}) stopped without ending it" in line for line in lines)
        assert any("cancelled with no process running it" in line for line in lines), lines
        # The attempts the stop cut off are closed, each charged its reservation.
        assert calls_of(data, "in_flight") == 0
        assert calls_of(data, "interrupted") == stopped.interrupted + stopped.in_flight
        uncharged = "outcome = 'interrupted' and cost_usd != reserved_usd"
        assert scalar(data, f"select count(*) from llm_calls where {uncharged}") == 0
        summary = scalar(data, "select content from artifacts where path = ?", SUMMARY)
        assert isinstance(summary, bytes), "no result files"
        assert "Final status: CANCELLED" in summary.decode()
        assert billed(bills) == stopped.billed  # the end called no provider
        assert_billed_once(server, job_id, bills)

        resumed = asyncio.run(resume(server, job_id))
        assert resumed.status_code == 202, resumed.text
        events = asyncio.run(history(server, job_id))
        assert [e.type for e in events].count("done") == 2  # one per run
        assert events[-1].data["status"] in ("SUCCESS", "PARTIAL_SUCCESS"), events[-1]
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        assert_billed_once(server, job_id, bills)
    finally:
        server.stop()
