"""Recovered workflows run where they are recovered (runtime/recovery.py): a CLI process takes
no other process's work from DBOS's internal queue, and the work of a process that died, once
handed to a live one, is run there to the job's end.

A real child process runs a job on SQLite files and is killed (SIGKILL) inside a task's
workflow; the test process is a CLI's runtime on the same databases, under its own executor id.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import crash_child
import pytest
from dbos import DBOS
from dbos._dbos import _get_dbos_instance
from dbos._utils import GlobalParams
from fake_llm_servers import FakeLLMServer
from fault_scenario import Expect, answer, check_job

from orchestrator.runtime import Runtime
from orchestrator.runtime.recovery import requeue_for

CHILDREN = multiprocessing.get_context("forkserver")
CHILDREN.set_forkserver_preload(["crash_child"])


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(answer, api_key=crash_child.KEY) as fake:
        yield fake


def kill_child_mid_task(tmp_path: Path, server: FakeLLMServer) -> None:
    """Run job1 in a child (executor id "local") that dies in its first task's first call,
    after the answer came back and before it was recorded."""
    child = CHILDREN.Process(
        target=crash_child.main,
        args=(tmp_path, server.url, "job1", "llm_call.answered", 3, False, False),
    )
    child.start()
    child.join(timeout=120)
    if child.exitcode is None:
        child.kill()
    log = (tmp_path / "child.log").read_text(errors="replace")
    assert child.exitcode == -9, f"the child was not killed mid-task:\n{log[-3000:]}"


def claim_from_internal_queue() -> list[str]:
    """What this process's next claim on DBOS's internal queue takes (as its queue thread)."""
    dbos = _get_dbos_instance()
    queue = dbos._registry.get_internal_queue()
    claimed, _ = dbos._sys_db.start_queued_workflows(
        queue, GlobalParams.executor_id, GlobalParams.app_version, None
    )
    return claimed


async def states(workflows: set[str]) -> dict[str, tuple[str, str | None]]:
    found = {w: await DBOS.get_workflow_status_async(w) for w in workflows}
    return {w: (s.status, s.executor_id) for w, s in found.items() if s is not None}


@pytest.mark.slow
def test_a_cli_takes_no_other_process_work_and_handed_over_work_runs_to_the_end(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    kill_child_mid_task(tmp_path, server)

    async def go() -> None:
        settings = crash_child.crash_settings(tmp_path, server.url)
        runtime = await Runtime.start(settings, executor_id="cli-other")  # a CLI's runtime
        try:
            left = await DBOS.list_workflows_async(status=["PENDING"], executor_id="local")
            ids = {w.workflow_id for w in left}
            assert "job1" in ids and any(w.startswith("job1:") for w in ids), ids
            # DBOS's own recovery of the dead executor (its restart does this): back on the
            # internal queue, which every process serves, this CLI too.
            await asyncio.to_thread(DBOS._recover_pending_workflows, ["local"])
            assert await asyncio.to_thread(claim_from_internal_queue) == []
            assert set((await states(ids)).values()) == {("ENQUEUED", "local")}

            # Handed over to this live process, as a takeover does: it runs the job to its end.
            taken = await asyncio.to_thread(requeue_for, "local", "cli-other")
            assert set(taken) == ids
            await asyncio.wait_for(runtime.wait("job1"), timeout=120)
            await check_job(runtime, "job1", server, Expect(in_flight_left=1, answers_lost=1))
            ran = await states(ids)
            assert set(ran.values()) == {("SUCCESS", "cli-other")}, ran
        finally:
            await runtime.stop()

    asyncio.run(go())
