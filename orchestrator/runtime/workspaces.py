"""Where a job's project tree is kept on disk, and the commit of each task's accepted files.

The workspace of job J is `<data dir>/workspaces/J`, a git repository (see
`orchestrator.workspace.Workspace`). A finished task's files are committed by the step that
stores its end (`JobSteps.finish_task`), under that step's key: the step run again after a
crash finds its commit and adds none, so a resumed job continues one history.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from pathlib import Path

from orchestrator.config import Settings
from orchestrator.domain import TaskResult, TaskState
from orchestrator.errors import InvalidInput
from orchestrator.events import LogLevel
from orchestrator.money import usd
from orchestrator.workspace import Workspace, parse_files, task_files, tree_of, tree_problem
from orchestrator.workspace import answers_with_files as _answers_with_files

__all__ = [
    "commit_message",
    "commit_task",
    "restore_missing",
    "score_text",
    "with_committed",
    "workspace_of",
]

Line = tuple[str, LogLevel]


def workspace_of(settings: Settings, job_id: str) -> Workspace:
    return Workspace(Path(settings.data_dir) / "workspaces" / job_id)


def remove_workspace(workspace: Workspace) -> None:
    """Delete the job's tree, its history and its lock file (a deleted job's)."""
    shutil.rmtree(workspace.root, ignore_errors=True)
    workspace.root.with_name(f"{workspace.root.name}.lock").unlink(missing_ok=True)


def with_committed(files: list[tuple[str, bytes]], workspace: Workspace) -> list[tuple[str, bytes]]:
    """The result `files` (path, contents) with the workspace's committed tree over them: a
    fix round's changes are in the tree, not in any task's output. Unchanged when this
    machine has no workspace for the job."""
    committed = workspace.read()
    if not committed:
        return files
    merged = dict(files)
    merged.update(committed)
    return sorted(merged.items())


def history_files(workspace: Workspace) -> list[tuple[str, bytes]]:
    """The files of the workspace's `.git` folder (path under the tree's root, contents), so
    a download carries the history; [] when this machine has no workspace for the job."""
    git = workspace.root / ".git"
    if not git.is_dir():
        return []
    found = []
    for path in sorted(git.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.endswith(".lock"):
            found.append((path.relative_to(workspace.root).as_posix(), path.read_bytes()))
    return found


def commit_message(task_id: str, score: float | None, cost_usd: float, body: str) -> str:
    """A commit's message: the task (or fix round) that wrote it, its score and cost, then
    `body`; the history API reads the task id back from its first line."""
    return f"{task_id}: score {score_text(score)}, cost {usd(cost_usd)}\n\n{body}"


def score_text(score: float | None) -> str:
    return f"{score:.2f}" if score is not None else "-"


async def commit_task(
    workspace: Workspace,
    task: TaskState,
    result: TaskResult,
    *,
    step: str,
    now: float,
    legacy: bool = False,
) -> list[Line]:
    """Commit the files of a usable result (`legacy`: its plan has no manifest, see
    `task_files`); the log lines that say what happened (a file refused is said, and the
    job goes on)."""
    if not result.status.is_usable() or not result.output:
        return []
    lines: list[Line] = []
    if _answers_with_files(task):
        problems = parse_files(result.output, task.files).problems
        if problems:
            lines.append((f"{task.task_id} files refused: {'; '.join(problems)}", "WARNING"))
    files = task_files(task, result.output, legacy=legacy)
    if not files:
        return lines
    current = await asyncio.to_thread(workspace.read)
    too_big = tree_problem(
        {**{p: c.decode("utf-8", "replace") for p, c in current.items()}, **files}
    )
    if too_big:
        return [*lines, (f"{task.task_id} files not kept: {too_big}", "WARNING")]
    message = commit_message(task.task_id, result.score, result.cost_usd, task.title)
    try:
        commit = await asyncio.to_thread(
            workspace.commit,
            files,
            author=result.model or "unknown model",
            message=message,
            step=step,
            now=now,
        )
    except InvalidInput as e:
        return [*lines, (f"{task.task_id} files not kept: {e}", "WARNING")]
    if commit is not None:
        lines.append((f"{task.task_id} committed {', '.join(files)} ({commit[:8]})", "INFO"))
    return lines


def restore_missing(workspace: Workspace, tasks: Sequence[TaskState], *, now: float) -> list[str]:
    """Commit the files the job's finished tasks wrote that this machine's tree lacks: they
    were committed on another machine before a takeover. Each writer's files are one commit,
    authored by its model, in the order the tree applies them; a file the tree could not take
    (too large, a refused path) is left out as it was there. The lines saying what was restored.
    Blocking: call it from a thread."""
    present = workspace.read()
    missing: dict[str, dict[str, str]] = {}
    for path, written in tree_of(tasks).items():
        if path not in present:
            missing.setdefault(written.task_id, {})[path] = written.content
    by_id = {t.task_id: t for t in tasks}
    tree = {p: c.decode("utf-8", "replace") for p, c in present.items()}
    said = []
    for task_id, files in missing.items():
        task = by_id[task_id]
        if tree_problem({**tree, **files}):
            continue
        message = commit_message(
            task_id,
            task.score,
            task.cost_usd,
            f"{task.title}\n\nRestored from the job's stored results: first committed on "
            "another machine.",
        )
        try:
            workspace.commit(
                files,
                author=task.model or "unknown model",
                message=message,
                step=f"restore:{task.job_id}:{task_id}",
                now=now,
            )
        except InvalidInput:
            continue
        tree.update(files)
        said.append(f"{task_id}'s files restored from its stored result: {', '.join(files)}")
    return said
