"""Acceptance on the whole tree and the bounded fix loop, on the simulator's hello job.

With the simulator's `bug` fault, the code of main.py is written with a bug its test
catches: the tree's tests fail at acceptance after the last task. A fix round (a code task,
given the failing output and the files involved) repairs it, one commit in the workspace,
and the job ends SUCCESS; without a round left, or without money for one, it ends
PARTIAL_SUCCESS naming the failing test.
"""

from __future__ import annotations

import asyncio
import sys

from conftest import StartRuntime
from test_project_job import HELLO, _run

from orchestrator.config import FaultRates, Settings
from orchestrator.domain import ProjectStatus
from orchestrator.engine.fix_round import FIX_HEADER
from orchestrator.events import LogEvent
from orchestrator.providers.sim_code import BUG_MARK
from orchestrator.providers.sim_files import FIX_HEADER as SIM_FIX_HEADER
from orchestrator.runtime import Runtime
from orchestrator.runtime.tree_steps import ACCEPTANCE_PATH
from orchestrator.runtime.workspaces import workspace_of

BUG = FaultRates(bug=1.0)
FAILING = "test_main.py::test_hello"


async def _log(runtime: Runtime, job_id: str) -> list[str]:
    events = await runtime.store.read_events(job_id)
    return [e.event.msg for e in events if isinstance(e.event, LogEvent)]


async def test_a_bug_the_tests_catch_is_repaired_by_a_fix_round(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    runtime = await start_runtime(sim_faults=BUG)
    job_id = await runtime.submit(HELLO)
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    log = await _log(runtime, job_id)
    assert f"acceptance: 1 failing test: {FAILING}" in log
    assert "fix round 1: 1 failing test → tests pass (1 test file)" in log
    committed = [m for m in log if m.startswith("fix round 1 (1 failing test) by ")]
    assert len(committed) == 1 and "committed main.py" in committed[0], log

    # The fix is one commit of the workspace, authored by the model that wrote it.
    workspace = workspace_of(settings, job_id)
    history = await asyncio.to_thread(workspace.log)
    fixes = [c for c in history if c.message.startswith("fix_1: score ")]
    assert len(fixes) == 1 and history[0] == fixes[0]
    assert fixes[0].files == ("main.py",)
    calls = await runtime.store.list_calls(job_id=job_id)
    fix_models = {c.model for c in calls if c.task_id == "fix_1" and c.role == "generate"}
    assert fixes[0].author.split(" <")[0] in fix_models

    # The tree, and the result files, are the repaired project: its tests pass.
    tree = await asyncio.to_thread(workspace.read)
    assert BUG_MARK.encode() not in tree["main.py"]
    assert await runtime.store.read_artifact(job_id, "main.py") == tree["main.py"]
    report = (await runtime.store.read_artifact(job_id, ACCEPTANCE_PATH)).decode()
    assert "after fix round 1: tests pass" in report
    root = str(workspace.root)
    tested = await asyncio.to_thread(
        _run, [sys.executable, "-B", "-m", "pytest", "-q", "-p", "no:cacheprovider"], root
    )
    assert tested.returncode == 0, tested.stdout


async def test_without_a_fix_round_the_job_is_partial_and_names_the_failing_test(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    runtime = await start_runtime(sim_faults=BUG, fix_rounds=0)
    job_id = await runtime.submit(HELLO)
    assert await runtime.wait(job_id) is ProjectStatus.PARTIAL_SUCCESS
    log = await _log(runtime, job_id)
    assert f"acceptance: 1 failing test: {FAILING}" in log
    assert not [m for m in log if m.startswith("fix round")]
    report = (await runtime.store.read_artifact(job_id, ACCEPTANCE_PATH)).decode()
    assert f"- `{FAILING}`" in report and "1 failed" in report
    history = await asyncio.to_thread(workspace_of(settings, job_id).log)
    assert not [c for c in history if c.message.startswith("fix_")]


async def test_a_fix_round_the_budget_cannot_afford_ends_the_loop_partial(
    start_runtime: StartRuntime,
) -> None:
    # Enough for the tasks (routed to cheaper models as the money runs low), not for a
    # round: one costs about what a code task of the job cost, more than is left.
    runtime = await start_runtime(sim_faults=BUG)
    job_id = await runtime.submit(HELLO.model_copy(update={"budget_usd": 0.016}))
    assert await runtime.wait(job_id) is ProjectStatus.PARTIAL_SUCCESS
    log = await _log(runtime, job_id)
    said = [m for m in log if m.startswith(f"acceptance: 1 failing test: {FAILING}; ")]
    assert len(said) == 1 and "no fix round: about $" in said[0], log
    assert not [m for m in log if m.startswith("fix round")]
    calls = await runtime.store.list_calls(job_id=job_id)
    assert not [c for c in calls if c.task_id.startswith("fix_")]


def test_the_simulator_knows_a_fix_round_by_the_header_the_engine_writes() -> None:
    assert SIM_FIX_HEADER == FIX_HEADER
