"""Scale-out on the real PostgreSQL: an API server and a worker process share one job queue.

Both execute jobs from the queue; the server streams the events of jobs the worker runs;
when the worker is killed (`kill -9`) and never returns, the server takes its jobs over
once the worker's heartbeat is stale, without paying a completed call twice.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_fixtures import (
    ORCHESTRATOR,
    Sse,
    create_jobs,
    follow_all,
    server_env,
    start_process,
    start_server,
)
from store_fixtures import server_database

__all__ = ["server_database"]  # a fixture, used by name

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FINISHED = ("SUCCESS", "PARTIAL_SUCCESS")


@pytest.fixture
def database(server_database: str) -> str:
    return server_database


@dataclass
class Worker:
    proc: subprocess.Popen[str]
    output: list[str]

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


def start_worker(data_dir: Path, worker_id: str, **env: str) -> Worker:
    """Start `orchestrator worker` and return once it reports ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    proc, output, _ = start_process(
        [ORCHESTRATOR, "worker", "--worker-id", worker_id],
        server_env(data_dir, **env),
        data_dir,
        re.compile(f"worker {re.escape(worker_id)} ready"),
    )
    return Worker(proc, output)


def query(database: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database) as conn:
        return conn.execute(sql, args).fetchall()


def runners(database: str) -> dict[str, str]:
    """job id → executor id of its (first attempt's) job workflow, as DBOS recorded it."""
    rows = query(
        database,
        "select workflow_uuid, executor_id from dbos.workflow_status "
        "where workflow_uuid not like '%%:%%'",
    )
    return dict(rows)


def ok_keys(database: str, job_id: str) -> Counter[tuple[Any, ...]]:
    rows = query(
        database,
        "select task_id, iteration, role, slot from llm_calls where job_id = %s and outcome='ok'",
        job_id,
    )
    return Counter(rows)


def assert_finished_once(database: str, streams: dict[str, list[Sse]]) -> None:
    for job_id, events in streams.items():
        assert events[-1].type == "done" and events[-1].data["status"] in FINISHED, job_id
        ids = [e.id for e in events]
        assert ids == list(range(1, len(ids) + 1)), f"{job_id}: event ids with a gap"
        keys = ok_keys(database, job_id)
        assert keys and max(keys.values()) == 1, f"{job_id} paid a completed call twice"


def env_for(database: str, **extra: str) -> dict[str, str]:
    return {
        "ORCH_DATABASE_URL": database.replace("postgresql://", "postgresql+asyncpg://"),
        **extra,
    }


def test_a_server_and_a_worker_both_run_jobs_from_one_queue(database: str, tmp_path: Path) -> None:
    env = env_for(database)
    server = start_server(tmp_path / "a", worker_id="api-a", **env)
    worker = start_worker(tmp_path / "b", "worker-b", **env)
    try:
        job_ids = asyncio.run(create_jobs(server, 6))
        streams = asyncio.run(follow_all(server, job_ids))  # the server streams them all
    finally:
        worker.stop()
        server.stop()
    assert_finished_once(database, streams)
    ran = runners(database)
    assert set(ran[j] for j in job_ids) == {"api-a", "worker-b"}, ran
    beats = query(database, "select worker_id from workers order by worker_id")
    assert beats == [("api-a",), ("worker-b",)]


def test_the_jobs_of_a_killed_worker_continue_on_the_survivor(
    database: str, tmp_path: Path
) -> None:
    bills = tmp_path / "billing.log"
    env = env_for(
        database,
        ORCH_SIM_BILLING_LOG=str(bills),
        ORCH_SIM_LATENCY_SCALE="0.1",
        ORCH_WORKER_HEARTBEAT_S="0.2",
        ORCH_WORKER_DEAD_AFTER_S="2",
    )
    worker = start_worker(tmp_path / "b", "worker-b", **env)
    server = start_server(tmp_path / "a", worker_id="api-a", **env)
    try:
        job_ids = asyncio.run(create_jobs(server, 4))
        deadline = time.monotonic() + 120
        while True:  # until the worker has recorded calls of its jobs: kill it mid-job
            assert time.monotonic() < deadline, "the worker never took a job"
            taken = [j for j, who in runners(database).items() if who == "worker-b"]
            calls = query(
                database,
                "select count(*) from llm_calls where job_id = any(%s) and outcome='ok'",
                taken,
            )
            if taken and calls[0][0] >= 4:
                break
            time.sleep(0.05)
        worker.kill()
        left = query(
            database,
            "select workflow_uuid from dbos.workflow_status "
            "where executor_id = 'worker-b' and status = 'PENDING'",
        )
        unfinished = query(
            database,
            "select job_id from jobs where job_id = any(%s) and final_status is null",
            taken,
        )
        assert unfinished, "the worker's jobs ended before it was killed"
        streams = asyncio.run(follow_all(server, job_ids))
    finally:
        if worker.proc.poll() is None:
            worker.kill()
        server.stop()
    assert_finished_once(database, streams)
    for (job_id,) in unfinished:
        notes = [e.data["msg"] for e in streams[job_id] if e.type == "log"]
        assert any("worker worker-b stopped responding" in n for n in notes), notes
        assert runners(database)[job_id] == "api-a"  # recovered onto the survivor
    # Each workflow the killed worker left, a job's and its tasks', ran to its end on the
    # survivor: none was left to another process, none waits.
    ended = query(
        database,
        "select distinct executor_id, status from dbos.workflow_status "
        "where workflow_uuid = any(%s)",
        [w for (w,) in left],
    )
    assert ended == [("api-a", "SUCCESS")], ended
    billed = len(bills.read_text().splitlines())
    returned = "select count(*) from llm_calls where outcome not in ('in_flight', 'interrupted')"
    (recorded,) = query(database, returned)[0]
    # Only calls in flight in the killed worker (concurrency 3 per job) were paid again.
    assert 0 <= billed - recorded <= 3 * len(taken)
