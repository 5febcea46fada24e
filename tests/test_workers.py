"""Worker heartbeats on a real store: claims of dead workers and ids already in use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from api_fixtures import ORCHESTRATOR, server_env, start_server

from orchestrator.config import Settings
from orchestrator.errors import InvalidInput
from orchestrator.runtime import EventBus, EventLog
from orchestrator.runtime.workers import WorkerWatch
from orchestrator.runtime.workflows import job_of_workflow, task_workflow_id, workflow_id
from orchestrator.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'orchestrator.db'}")
    yield opened
    await opened.close()


def watch(store: Store, worker_id: str, tmp_path: Path) -> WorkerWatch:
    settings = Settings(data_dir=tmp_path, worker_dead_after_s=30)
    return WorkerWatch(store, EventLog(store, EventBus()), settings, worker_id)


async def test_a_dead_worker_is_claimed_once_and_a_live_one_never(store: Store) -> None:
    await store.beat("dead", host="h", pid=1, now=100.0)
    await store.beat("slow", host="h", pid=2, now=100.0)
    dead, slow = await store.list_workers()
    assert await store.claim_dead_worker(dead)
    assert not await store.claim_dead_worker(dead)  # the second survivor loses the claim
    await store.beat("slow", host="h", pid=2, now=200.0)  # it beat again meanwhile
    assert not await store.claim_dead_worker(slow)
    [still] = await store.list_workers()
    assert (still.worker_id, still.started_at, still.seen_at) == ("slow", 100.0, 200.0)


async def test_an_id_held_by_a_running_process_here_is_refused(
    store: Store, tmp_path: Path
) -> None:
    holder = subprocess.Popen(  # noqa: ASYNC220  (a process that just stays alive)
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        host = socket.gethostname()
        await store.beat("w1", host=host, pid=holder.pid, now=0.0)  # long silent, yet alive
        with pytest.raises(InvalidInput, match="worker id 'w1' is in use by process"):
            await watch(store, "w1", tmp_path).check_id_free()
    finally:
        holder.kill()
        holder.wait()
    # The holder is gone: the id is free again (a restart after kill -9).
    await watch(store, "w1", tmp_path).check_id_free()
    await watch(store, "w2", tmp_path).check_id_free()


async def test_an_id_another_machine_used_recently_is_refused(store: Store, tmp_path: Path) -> None:
    await store.beat("w1", host="elsewhere", pid=os.getpid() + 1, now=time.time())
    with pytest.raises(InvalidInput, match="give each worker its own id"):
        await watch(store, "w1", tmp_path).check_id_free()
    await store.beat("w1", host="elsewhere", pid=os.getpid() + 1, now=time.time() - 60)
    await watch(store, "w1", tmp_path).check_id_free()


def test_job_workflows_are_told_from_task_workflows() -> None:
    for attempt in (0, 2):
        job_workflow = workflow_id("ab12cd34", attempt)
        assert job_of_workflow(job_workflow) == "ab12cd34"
        assert job_of_workflow(task_workflow_id(job_workflow, "t1")) is None


@pytest.mark.slow
def test_a_second_process_under_a_live_worker_id_exits_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, worker_id="w-dup")
    try:
        for command in (["worker"], ["serve", "--port", "0"]):
            done = subprocess.run(
                [ORCHESTRATOR, *command, "--worker-id", "w-dup"],
                env=server_env(data),
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 2, done.stderr
            [line] = done.stderr.strip().splitlines()
            assert "worker id 'w-dup' is in use by process" in line
        assert server.proc.poll() is None  # the first one is unharmed
    finally:
        server.stop()
