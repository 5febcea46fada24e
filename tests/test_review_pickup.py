"""An approval whose process died before starting the run is picked up by a live worker,
without a restart, and its run is started once.

A child process (crash_child.py) plans the crash harness's job for review, approves it, and
is killed right after the approval is stored (`approve.end`), before it starts the run. A
worker runtime, started in this process on the same databases before the child ran, runs
the job to its end: its plan once approved, once run, one `done`, nothing paid twice.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import crash_child
import pytest
from dbos import DBOS
from fake_llm_servers import FakeLLMServer
from fault_scenario import ENDED_WELL, Expect, answer, check_approved_run, check_bill

from orchestrator.runtime import Runtime
from orchestrator.runtime.workflows import workflow_id

pytestmark = pytest.mark.slow

CHILDREN = multiprocessing.get_context("forkserver")
CHILDREN.set_forkserver_preload(["crash_child"])


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(answer, api_key=crash_child.KEY) as fake:
        yield fake


def test_a_live_worker_starts_the_run_of_an_approval_whose_process_died(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    settings = crash_child.crash_settings(tmp_path, server.url).model_copy(
        update={"worker_heartbeat_s": 0.05}
    )

    async def scenario() -> None:
        worker = await Runtime.start(settings, executor_id="live-worker", worker=True)
        try:
            child = CHILDREN.Process(
                target=crash_child.main,
                args=(tmp_path, server.url, "job1", "approve.end", 1, True, True),
            )
            child.start()
            await asyncio.to_thread(child.join, 120)
            assert child.exitcode == -9, "the child was not killed after the approval"
            deadline = time.monotonic() + 120
            while not (await worker.store.get_job("job1")).status.is_terminal():
                assert time.monotonic() < deadline, "the approved job never ran"
                await asyncio.sleep(0.05)
            await worker.wait("job1")
            run = await DBOS.get_workflow_status_async(workflow_id("job1", 1))
            assert run is not None and run.executor_id == "live-worker"
            # Started again, by a look for unstarted runs or by hand: nothing runs twice.
            assert await worker.unstarted.start_all() == []
            await worker._start_attempt("job1", 1)
            await worker.wait("job1")
            tasks = {t.task_id: t.status for t in await worker.store.list_tasks("job1")}
            stored = await worker.store.read_events("job1")
            await check_bill(worker, ["job1"], server, Expect())
        finally:
            await worker.stop()
        assert tasks == ENDED_WELL
        check_approved_run(stored)

    server.bill.clear()
    asyncio.run(scenario())
