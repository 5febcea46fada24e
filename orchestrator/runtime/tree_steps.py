"""The durable steps of a job's acceptance: its tree's tests, and each fix round's commit.

`JobRunner` (workflows.py) wraps each method in a DBOS step: a completed one is replayed
from its record after a crash, never run again. One in flight at a crash runs again: the
tests are only read, a fix round's commit is found by its step key in the workspace's
history (no second commit), and the log line is stored under the step's key (told once).
Each is a `crashpoints.step`, so the crash harness kills a process at its start, its end
and (for a commit) between the commit and its log line.
"""

from __future__ import annotations

import asyncio

from orchestrator import crashpoints
from orchestrator.domain import TaskResult, TaskState, TaskType
from orchestrator.engine.sandbox import SandboxLimits
from orchestrator.engine.tree_acceptance import (
    AcceptanceRun,
    plural,
    run_acceptance,
    tests_only,
)
from orchestrator.errors import InvalidInput
from orchestrator.events import JobEvent, LogLevel
from orchestrator.money import usd
from orchestrator.runtime.jobrun import RuntimeDeps, now
from orchestrator.runtime.steps import _step_key as step_key
from orchestrator.runtime.workspaces import (
    commit_message,
    restore_missing,
    score_text,
    workspace_of,
)
from orchestrator.workspace import task_files

__all__ = ["ACCEPTANCE_PATH", "Accepted", "TreeSteps"]

ACCEPTANCE_PATH = ".orchestrator/acceptance.md"  # beside the summary, outside the tree


class Accepted(AcceptanceRun):
    """An acceptance run; whether every task passed or fell short only on the tests; and
    whether the budget left can pay for a fix round (about what a code task of the job cost)."""

    tasks_ok: bool = False
    affordable: bool = False


class TreeSteps:
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps

    @crashpoints.step
    async def accept_tree(
        self, job_id: str, round_no: int, criteria_tests: str, failing_before: int
    ) -> Accepted:
        """Run the tests of the workspace's tree (after fix round `round_no`, 0: before any)
        and say the verdict."""
        settings, store = self.deps.settings, self.deps.store
        workspace = workspace_of(settings, job_id)
        tasks = await store.list_tasks(job_id)
        # A takeover may have left earlier tasks' commits on another machine's disk.
        restored = await asyncio.to_thread(restore_missing, workspace, tasks, now=now())
        raw = await asyncio.to_thread(workspace.read)
        tree = {p: c.decode("utf-8", "replace") for p, c in raw.items()}
        limits = SandboxLimits(isolation=settings.sandbox, bwrap=settings.sandbox_bwrap)
        run = await run_acceptance(tree, criteria_tests, limits)
        tasks_ok = True
        for task in tasks:
            iterations = await store.list_iterations(job_id, task.task_id)
            best = max(iterations, key=lambda i: i.score, default=None)
            tasks_ok = tasks_ok and tests_only(task, best)
        left = float((await store.job_budget(job_id)).available_usd)
        code = [t.cost_usd for t in tasks if t.type is TaskType.CODE_GENERATION and t.cost_usd]
        needed = sum(code) / len(code) if code else 0.0
        affordable = left >= needed
        if round_no == 0:
            line = f"acceptance: {run.said()}"
        else:
            line = f"fix round {round_no}: {plural(failing_before)} → {run.said()}"
        if run.ran and not run.passed and round_no < settings.fix_rounds and not affordable:
            line += f"; no fix round: about {usd(needed)} needed, {usd(left)} left"
        if run.ran and (not run.passed or round_no > 0):
            # The result names the failing tests (and says when a fix round made them pass).
            report = _report(run, round_no).encode("utf-8")
            await store.save_artifact(job_id, ACCEPTANCE_PATH, report, now=now())
        level: LogLevel = "INFO" if run.passed or not run.ran else "WARNING"
        said: list[JobEvent] = [self.deps.events.line(job_id, r, "WARNING") for r in restored]
        said.append(self.deps.events.line(job_id, line, level))
        await self.deps.events.store_once(job_id, step_key(), said)
        return Accepted(**run.model_dump(), tasks_ok=tasks_ok, affordable=affordable)

    @crashpoints.step
    async def commit_fix(
        self,
        job_id: str,
        round_no: int,
        task: TaskState,
        result: TaskResult,
        failing: int,
        changed: list[str],
    ) -> None:
        """Commit the files fix round `round_no` changed (`changed`: it may give a file as it
        is) once, under this step's key, and say it."""
        key = step_key() or f"{job_id}:{task.task_id}"
        workspace = workspace_of(self.deps.settings, job_id)
        head = f"fix round {round_no} ({plural(failing)})"
        cost = usd(result.cost_usd)
        given = task_files(task, result.output) if result.status.is_usable() else {}
        files = {p: c for p, c in given.items() if p in changed}
        level: LogLevel = "INFO"
        if not files and result.status.is_usable() and result.output:
            line = f"{head} by {result.model}: changed no file, {cost}"
            level = "WARNING"
        elif not files:
            line = f"{head}: no usable answer ({result.reason or result.status}), {cost}"
            level = "WARNING"
        else:
            message = commit_message(
                task.task_id,
                result.score,
                result.cost_usd,
                f"Fix round {round_no}: {failing} failing tests",
            )
            try:
                commit = await asyncio.to_thread(
                    workspace.commit,
                    files,
                    author=result.model or "unknown model",
                    message=message,
                    step=key,
                    now=now(),
                )
            except InvalidInput as e:
                commit, level = None, "WARNING"
                said = f"files not kept: {e}"
            else:
                said = f"committed {', '.join(files)} ({commit[:8]})" if commit else "no change"
            crashpoints.reach("committed")
            line = f"{head} by {result.model}: {said}, score {score_text(result.score)}, {cost}"
        told: list[JobEvent] = [self.deps.events.line(job_id, line, level)]
        await self.deps.events.store_once(job_id, key, told)


def _report(run: AcceptanceRun, round_no: int) -> str:
    when = f"after fix round {round_no}" if round_no else "after the last task"
    lines = ["# The project's tests", "", f"Run on the assembled tree {when}: {run.said()}."]
    if run.failing:
        lines += ["", "Failing tests:", *[f"- `{t}`" for t in run.failing]]
    if not run.passed:
        lines += ["", "```", run.output.rstrip(), "```"]
    return "\n".join(lines) + "\n"
