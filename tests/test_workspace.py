"""A job's workspace: a git history with one commit per accepted task, written once per step."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from dulwich.repo import Repo

from orchestrator.domain import TaskResult, TaskState, TaskStatus, TaskType
from orchestrator.engine.sandbox import SandboxLimits
from orchestrator.engine.tree_checks import check_tree
from orchestrator.errors import InvalidInput
from orchestrator.runtime.workspaces import commit_task
from orchestrator.workspace import MAX_TREE_BYTES, Workspace
from orchestrator.workspace._repo import locked

MAIN = 'def greet() -> str:\n    return "Hello World"\n'
TEST = (
    "from main import greet\n\n\ndef test_greet() -> None:\n    assert greet() == 'Hello World'\n"
)


def _answer(files: dict[str, str]) -> str:
    return json.dumps({"files": [{"path": p, "content": c} for p, c in files.items()]})


def _task(task_id: str, files: list[str]) -> TaskState:
    return TaskState(
        job_id="j1",
        task_id=task_id,
        title=f"Write {', '.join(files)}",
        type=TaskType.CODE_GENERATION,
        prompt="p",
        acceptance_threshold=0.8,
        files=files,
    )


def _result(task_id: str, files: dict[str, str], model: str = "gpt-4o") -> TaskResult:
    return TaskResult(
        task_id=task_id,
        status=TaskStatus.COMPLETED,
        score=0.91,
        model=model,
        output=_answer(files),
        cost_usd=0.0123,
    )


def _authors_and_messages(root: Path) -> list[tuple[str, str]]:
    with Repo(str(root)) as repo:
        head = repo.refs[b"refs/heads/main"]
        return [
            (e.commit.author.decode(), e.commit.message.decode().splitlines()[0])
            for e in repo.get_walker(include=[head])
        ]


async def test_one_commit_per_task_authored_by_its_model(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "j1")
    said = await commit_task(
        ws, _task("task_002", ["main.py"]), _result("task_002", {"main.py": MAIN}),
        step="j1:task_002#9", now=1_800_000_000,
    )  # fmt: skip
    assert said[0][0].startswith("task_002 committed main.py (")
    await commit_task(
        ws, _task("task_003", ["test_main.py"]),
        _result("task_003", {"test_main.py": TEST}, model="claude-sonnet-4-6"),
        step="j1:task_003#9", now=1_800_000_001,
    )  # fmt: skip
    assert _authors_and_messages(ws.root) == [
        (
            "claude-sonnet-4-6 <claude-sonnet-4-6@models.invalid>",
            "task_003: score 0.91, cost $0.0123",
        ),
        ("gpt-4o <gpt-4o@models.invalid>", "task_002: score 0.91, cost $0.0123"),
    ]
    # The folder is the tree, checked out: what a user opens.
    assert (ws.root / "main.py").read_text() == MAIN
    assert (ws.root / "test_main.py").read_text() == TEST
    assert ws.log()[0].files == ("test_main.py",)


def test_the_same_step_run_again_makes_no_second_commit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "j1")
    first = ws.commit({"main.py": MAIN}, author="gpt-4o", message="task_002", step="s#3", now=1)
    # A crash between the commit and the step's record: the step runs again, with the
    # answer it got, and finds its commit; even the checkout is repaired.
    (ws.root / "main.py").unlink()
    again = ws.commit({"main.py": MAIN}, author="gpt-4o", message="task_002", step="s#3", now=2)
    assert again == first and len(ws.log()) == 1
    assert (ws.root / "main.py").read_text() == MAIN
    # Another step that changes nothing commits nothing.
    assert ws.commit({"main.py": MAIN}, author="x", message="task_009", step="t#1", now=3) is None
    assert len(ws.log()) == 1


def test_a_symbolic_link_in_the_tree_is_never_followed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "j1")
    ws.commit({"pkg/a.py": "a = 1\n"}, author="m", message="t1", step="s1", now=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws.root / "pkg" / "a.py").unlink()
    (ws.root / "pkg").rmdir()
    os.symlink(outside, ws.root / "pkg")
    with pytest.raises(InvalidInput, match="symbolic link"):
        ws.commit({"pkg/b.py": "b = 1\n"}, author="m", message="t2", step="s2", now=2)
    assert not list(outside.iterdir())


async def test_a_tree_over_the_limits_is_refused_with_the_reason(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "j1")
    many = {f"m{i}.py": "x = 1\n" for i in range(201)}
    said = await commit_task(
        ws, _task("task_002", list(many)), _result("task_002", many), step="s1", now=1
    )
    assert said == [("task_002 files not kept: the project would have 201 files, more than 200",
                     "WARNING")]  # fmt: skip
    big = {"data.py": "x" * (MAX_TREE_BYTES + 1)}
    said = await commit_task(
        ws, _task("task_003", ["data.py"]), _result("task_003", big), step="s2", now=1
    )
    assert "more than 2000000" in said[0][0] and said[0][1] == "WARNING"
    assert ws.log() == [] and not (ws.root / "data.py").exists()


async def test_a_test_file_is_checked_against_the_code_its_ancestors_wrote() -> None:
    task = _task("task_003", ["test_main.py"])
    limits = SandboxLimits()
    checks = await check_tree(task, _answer({"test_main.py": TEST}), {"main.py": MAIN}, limits)
    assert {c.name: c.passed for c in checks}["pytest"]
    broken = MAIN.replace("Hello World", "Hello")
    checks = await check_tree(task, _answer({"test_main.py": TEST}), {"main.py": broken}, limits)
    failed = next(c for c in checks if c.name == "pytest")
    assert not failed.passed and "test_greet" in failed.detail
    bad = await check_tree(task, _answer({"../x.py": TEST}), {}, limits)
    assert [c.name for c in bad] == ["files"] and "'..'" in bad[0].detail


async def test_the_tasks_modules_are_imported_from_the_tree() -> None:
    task = _task("task_002", ["main.py"])
    broken = MAIN + "\nraise RuntimeError('broken at import')\n"
    checks = await check_tree(task, _answer({"main.py": broken}), {}, SandboxLimits())
    run = next(c for c in checks if c.name == "python_run")
    assert not run.passed and "broken at import" in run.detail
    fine = await check_tree(task, _answer({"main.py": MAIN}), {}, SandboxLimits())
    assert {c.name: c.passed for c in fine}["python_run"]


def test_a_reader_waits_for_the_repository_being_created(tmp_path: Path) -> None:
    """Two tasks of a job finishing together: one creates the repository (its `.git` folder
    exists before dulwich has written what makes it one), the other reads the tree for its own
    commit. The reader waits for the creator instead of failing (NotGitRepository ended the
    job SYSTEM_FAILURE)."""
    workspace = Workspace(tmp_path / "ws")
    read: list[object] = []

    def reader() -> None:
        try:
            read.append(workspace.read())
        except Exception as e:  # what the reader met, for the assertion below
            read.append(e)

    thread = threading.Thread(target=reader)
    with locked(workspace.root):  # a creator in the middle of Repo.init
        (workspace.root / ".git").mkdir(parents=True)
        thread.start()
        # With the lock taken by readers, the reader is still waiting: without it, it has
        # met the half-made repository and ended.
        thread.join(timeout=2)
        assert thread.is_alive(), read
        (workspace.root / ".git").rmdir()
        Repo.init(str(workspace.root)).close()
    thread.join()
    assert read == [{}]
