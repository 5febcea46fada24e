"""The job the crash harness runs for acceptance and the fix loop, and what must hold after.

The simulator's hello job with its `bug` fault: main.py is written with a bug its test
catches, the first acceptance fails, fix round 1 repairs it (one commit) and the second
acceptance passes. `check_fixed_job` asserts, after any crash and recovery: the job ended
SUCCESS; the workspace has exactly one commit per file-writing task and one for the fix
round (none twice); each acceptance and the round are told once; and every simulated call
(the simulator's billing log, appended by every process) is a call recorded once: nothing
paid twice.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

from orchestrator.config import FaultRates, Settings
from orchestrator.domain import CallOutcome, JobSpec, ProjectStatus, Role
from orchestrator.events import LogEvent
from orchestrator.runtime import Runtime
from orchestrator.runtime.workspaces import workspace_of
from orchestrator.workspace import STEP_TRAILER

FIX_CALL = 60  # the occurrence of llm_call.answered that is fix round 1's generation
# (point, which time it is reached): every point of runtime/tree_steps.py.
FIX_FAULTS = [
    ("accept_tree.start", 1),  # the first acceptance
    ("accept_tree.end", 1),
    ("commit_fix.start", 1),  # the fix round's calls are recorded; nothing committed
    ("commit_fix.committed", 1),  # committed; the round not told
    ("commit_fix.end", 1),
    ("accept_tree.start", 2),  # the acceptance after the fix round
    ("accept_tree.end", 2),
    # Inside the fix round: its first call (the 60th of this job, run one task at a time)
    # answered and billed, not recorded; the recovered job checks it was a fix_1 call.
    ("llm_call.answered", FIX_CALL),
]
SPEC = JobSpec(
    project_description="Write a hello world Python script, with tests",
    success_criteria="python main.py prints Hello World",
    budget_usd=0.5,
    concurrency=1,
)


def fix_settings(data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        sim_latency_scale=0,
        sim_faults=FaultRates(bug=1.0),
        sim_billing_log=data_dir / "billing.log",
        queue_poll_interval_s=0.02,
    )


def child_main(data_dir: Path, job_id: str, point: str, n: int) -> None:
    """Run the job in this process, which dies the n-th time it reaches `point`."""
    from crash_child import die_at, run

    log = os.open(data_dir / "child.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, sys.stderr.fileno())
    die_at(point, n)
    asyncio.run(run(fix_settings(data_dir), job_id, SPEC))


async def check_fixed_job(
    runtime: Runtime, job_id: str, data_dir: Path, lost: list[tuple[str, Role]]
) -> None:
    """`lost`: the calls whose answer the crash lost (task, role)."""
    store = runtime.store
    job = await store.get_job(job_id)
    assert job.final_status is ProjectStatus.SUCCESS

    log = [e.event.msg for e in await store.read_events(job_id) if isinstance(e.event, LogEvent)]
    told = Counter(log)
    assert told["acceptance: 1 failing test: test_main.py::test_hello"] == 1
    assert told["fix round 1: 1 failing test → tests pass (1 test file)"] == 1
    rounds = [m for m in log if m.startswith("fix round 1 (1 failing test) by ")]
    assert len(rounds) == 1 and "committed main.py" in rounds[0], log

    history = await asyncio.to_thread(workspace_of(runtime.deps.settings, job_id).log)
    tasks = await store.list_tasks(job_id)
    writers = [t for t in tasks if t.files and t.status.is_usable()]
    assert len([c for c in history if c.message.startswith("fix_1: ")]) == 1
    assert len(history) == len(writers) + 1
    steps = [c.message.split(STEP_TRAILER, 1)[1] for c in history]
    assert len(set(steps)) == len(steps)

    # Every simulated call started (in either process) was recorded, once; an answer lost
    # to the crash is an interrupted attempt, asked again as the next one.
    billed = (data_dir / "billing.log").read_text().splitlines()
    calls = await store.list_calls(job_id=job_id)
    keys = Counter((c.task_id, c.iteration, c.role, c.slot, c.attempt) for c in calls)
    assert max(keys.values()) == 1
    assert len(billed) == len(calls), (len(billed), len(calls))
    assert [c for c in calls if c.task_id == "fix_1"]
    interrupted = [c for c in calls if c.outcome is CallOutcome.INTERRUPTED]
    assert [(c.task_id, c.role) for c in interrupted] == lost
