"""The project tree of a job: which files its finished tasks wrote, and the tree's limits.

Pure functions of the tasks: the job workflow computes a task's starting tree from its
ancestors' results (deterministic, so a replay builds the same prompts and checks), and the
result files are the tree of every usable task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.domain import TaskResult, TaskState, TaskType
from orchestrator.plan import MAX_TREE_FILES
from orchestrator.workspace._answer import answers_with_files, parse_files

__all__ = [
    "MAX_TREE_BYTES",
    "WrittenFile",
    "has_manifest",
    "legacy_path",
    "starting_tree",
    "task_files",
    "tree_of",
    "tree_problem",
]

MAX_TREE_BYTES = 2_000_000


@dataclass(frozen=True)
class WrittenFile:
    content: str
    task_id: str  # the task that wrote it last


def legacy_path(task: TaskState) -> str:
    """Where the output of a task planned without a manifest goes: named after the task."""
    suffix = ".py" if task.type is TaskType.CODE_GENERATION else ".md"
    return f"{task.task_id}{suffix}"


def task_files(
    task: TaskState, output: str | None = None, *, legacy: bool = False
) -> dict[str, str]:
    """The files a task's output (its stored one unless given) writes into the tree; only
    those that passed every check of the path (see `parse_files`). A task without files
    writes none, unless its plan has no manifest at all (`legacy`): then its output is a
    file named after it."""
    text = task.output if output is None else output
    if not text:
        return {}
    if answers_with_files(task):
        return parse_files(text, task.files).files
    if task.files:  # a text task owning one file: its answer is the file
        return {task.files[0]: text}
    return {legacy_path(task): text} if legacy else {}


def has_manifest(tasks: Sequence[TaskState]) -> bool:
    """Whether the plan names its files (else every task's output is a file of its own)."""
    return any(t.files for t in tasks)


def tree_of(tasks: Sequence[TaskState]) -> dict[str, WrittenFile]:
    """The tree the usable ones of `tasks` write, applied in dependency order (a task that
    changes a file after its owner comes after it), plan order among equals."""
    done = [t for t in tasks if t.status.is_usable() and t.output]
    legacy = not has_manifest(tasks)
    tree: dict[str, WrittenFile] = {}
    for task in _dependency_order(done):
        for path, content in task_files(task, legacy=legacy).items():
            tree[path] = WrittenFile(content, task.task_id)
    return tree


def starting_tree(
    tasks: Sequence[TaskState], finished: Mapping[str, TaskResult], task_id: str
) -> dict[str, str]:
    """The tree task `task_id` starts from: what its ancestors (its dependencies, theirs,
    and so on) wrote, by their results in `finished`. Empty for a task that answers with no
    files: nothing of the tree is checked for it."""
    by_id = {t.task_id: t for t in tasks}
    task = by_id[task_id]
    if not answers_with_files(task):
        return {}
    ancestors: set[str] = set()
    stack = list(task.dependencies)
    while stack:
        dep = stack.pop()
        if dep not in ancestors and dep in by_id:
            ancestors.add(dep)
            stack.extend(by_id[dep].dependencies)
    states = [
        t.model_copy(
            update={"status": finished[t.task_id].status, "output": finished[t.task_id].output}
        )
        for t in tasks
        if t.task_id in ancestors and t.task_id in finished
    ]
    return {path: f.content for path, f in tree_of(states).items()}


def tree_problem(tree: Mapping[str, str]) -> str | None:
    """Why a tree is too big to keep, or None."""
    if len(tree) > MAX_TREE_FILES:
        return f"the project would have {len(tree)} files, more than {MAX_TREE_FILES}"
    size = sum(len(c.encode("utf-8")) for c in tree.values())
    if size > MAX_TREE_BYTES:
        return f"the project would weigh {size} bytes, more than {MAX_TREE_BYTES}"
    return None


def _dependency_order(tasks: Sequence[TaskState]) -> list[TaskState]:
    by_id = {t.task_id: t for t in tasks}
    ordered: list[TaskState] = []
    placed: set[str] = set()

    def place(task: TaskState, trail: frozenset[str]) -> None:
        if task.task_id in placed or task.task_id in trail:
            return
        for dep in task.dependencies:
            if dep in by_id:
                place(by_id[dep], trail | {task.task_id})
        placed.add(task.task_id)
        ordered.append(task)

    for task in tasks:
        place(task, frozenset())
    return ordered
