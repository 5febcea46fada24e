"""Worker heartbeats on a real store: claims of dead workers and ids already in use."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from api_fixtures import ORCHESTRATOR, QUICK, server_env, start_process, start_server
from dbos import DBOS

from orchestrator.config import Settings
from orchestrator.domain import JobSpec
from orchestrator.errors import InvalidInput
from orchestrator.runtime import EventBus, EventLog, Runtime
from orchestrator.runtime.service import JOB_QUEUE
from orchestrator.runtime.workers import DECLARED_DEAD_EXIT, WorkerWatch, fair_share
from orchestrator.runtime.workflows import job_of_workflow, task_workflow_id, workflow_id
from orchestrator.store import Store

WORKER_READY = re.compile(r"worker \S+ ready")


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


def test_a_worker_declared_dead_while_it_lives_exits_at_once(tmp_path: Path) -> None:
    """A worker that stalled past the dead-after time and had its row claimed (its work handed
    to another) stops at its next heartbeat, rather than run that work in two places."""
    data = tmp_path / "data"
    beating = server_env(data, ORCH_WORKER_HEARTBEAT_S="0.2")
    proc, output, _ = start_process(
        [ORCHESTRATOR, "worker", "--worker-id", "w-stale"], beating, tmp_path, WORKER_READY
    )
    try:

        async def claim() -> None:
            store = await Store.open(f"sqlite+aiosqlite:///{data / 'orchestrator.db'}")
            try:
                [row] = [w for w in await store.list_workers() if w.worker_id == "w-stale"]
                assert await store.claim_dead_worker(row)  # what a survivor's watch does
            finally:
                await store.close()

        asyncio.run(claim())
        assert proc.wait(timeout=120) == DECLARED_DEAD_EXIT
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any("declared it dead" in line for line in output), output


def test_a_worker_takes_its_fair_share_of_the_jobs() -> None:
    assert fair_share(open_jobs=40, alive=1) is None  # alone: no limit
    assert [fair_share(open_jobs=n, alive=2) for n in (0, 1, 6, 7)] == [1, 2, 4, 5]
    assert fair_share(open_jobs=9, alive=3) == 4


async def test_a_worker_leaves_a_live_peer_its_share_of_queued_jobs(tmp_path: Path) -> None:
    """Four slow jobs, this worker and a live peer that takes nothing: this worker runs its
    share (ceil(4 / 2) + 1 = 3) and leaves the fourth on the queue for the peer."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        sim_latency_scale=1.0,  # each job runs for many seconds
        queue_poll_interval_s=0.02,
    )
    runtime = await Runtime.start(settings, executor_id="w-here", worker=True)
    try:
        assert runtime.watch is not None
        await runtime.store.beat("w-peer", host="elsewhere", pid=1, now=time.time())
        jobs = [await runtime.submit(JobSpec(project_description=QUICK)) for _ in range(4)]
        await runtime.watch.share_work()  # what every heartbeat does
        states = await workflow_states(jobs, until=lambda s: s.count("PENDING") >= 3)
        assert sorted(states) == ["ENQUEUED", "PENDING", "PENDING", "PENDING"], states
        queue = await DBOS.retrieve_queue_async(JOB_QUEUE)
        assert queue is not None and await queue.get_worker_concurrency_async() == 3
    finally:
        await runtime.stop()


async def workflow_states(jobs: list[str], *, until: Callable[[list[str]], bool]) -> list[str]:
    """The DBOS status of each job's workflow, once `until(statuses)` holds (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        found = [await DBOS.get_workflow_status_async(workflow_id(job, 0)) for job in jobs]
        states = [s.status if s is not None else "NONE" for s in found]
        if until(states) or time.monotonic() > deadline:
            return states
        await asyncio.sleep(0.02)  # polling a condition, with a deadline
