"""The plan's file manifest: every path a task may write is checked, and a path has one owner."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.domain import TaskType
from orchestrator.plan import Plan, PlannedTask
from orchestrator.project_paths import path_problem

GOOD = ["main.py", "src/pkg/__init__.py", "docs/design.md", ".gitignore", "a b/c-d_e.txt"]
BAD = {
    "/etc/passwd": "absolute",
    "C:/x.py": "absolute",
    "\\\\server\\share": "absolute",
    "src\\main.py": "backslash",
    "../outside.py": "'..'",
    "src/../../x.py": "'..'",
    "src//main.py": "empty",
    "./main.py": "'.'",
    "src/": "empty",
    "": "empty",
    "a\x00b.py": "NUL",
    "a\nb.py": "control",
    "x" * 201: "more than 200",
    ".git/config": ".git/",
    ".orchestrator/summary.md": ".orchestrator/",
    "con.py": "device",
    "docs/LPT1": "device",
    "nul": "device",
    "notes.": "dot",
    "src/a:b.py": "':'",
}


@pytest.mark.parametrize("path", GOOD)
def test_plain_relative_paths_pass(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize(("path", "why"), BAD.items())
def test_bad_paths_are_refused_with_a_reason(path: str, why: str) -> None:
    problem = path_problem(path)
    assert problem is not None and why in problem


def _task(task_id: str, files: list[str], deps: list[str] | None = None) -> dict[str, object]:
    return {
        "id": task_id,
        "type": TaskType.CODE_GENERATION,
        "prompt": f"write {files}",
        "dependencies": deps or [],
        "files": files,
    }


def test_a_plan_refuses_a_bad_path_naming_it() -> None:
    with pytest.raises(ValidationError) as e:
        Plan.model_validate({"tasks": [_task("t1", ["main.py", "../x.py"])]})
    assert "../x.py" in str(e.value) and "'..'" in str(e.value)


def test_two_independent_tasks_cannot_write_one_path() -> None:
    with pytest.raises(ValidationError, match=r"task t2: files: 'main.py' is also written by"):
        Plan.model_validate({"tasks": [_task("t1", ["main.py"]), _task("t2", ["main.py"])]})


def test_a_task_building_on_the_owner_may_change_its_file() -> None:
    plan = Plan.model_validate(
        {
            "tasks": [
                _task("t1", ["main.py"]),
                _task("t2", ["test_main.py"], ["t1"]),
                _task("t3", ["main.py", "main.py"], ["t2"]),  # through t2; listed twice
            ]
        }
    )
    assert plan.tasks[2].files == ["main.py"]


def test_a_plan_without_files_is_still_a_plan() -> None:
    node = PlannedTask.model_validate({"id": "t1", "type": "code_generation", "prompt": "p"})
    assert node.files == []
