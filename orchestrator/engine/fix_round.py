"""A fix round: the code task that repairs a tree whose tests fail at acceptance.

It is routed, budgeted and critiqued like any code task (`loop.run_task`), on the whole
tree as its starting tree, so its checks run every test of the project. Its prompt gives
the failing tests, pytest's report and the current contents of the files involved (the
failing test files and the project's modules they import); it answers with those files,
whole or as SEARCH/REPLACE edits. Pure: the same acceptance run gives the same task.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from orchestrator.domain import TaskState, TaskType
from orchestrator.engine.acceptance import with_acceptance_tests
from orchestrator.engine.prompts import shown_files, truncate
from orchestrator.engine.tree_acceptance import AcceptanceRun, named
from orchestrator.engine.tree_checks import GIVEN_TESTS, is_test_file

__all__ = ["FIX_HEADER", "fix_task", "fix_task_id", "involved_files"]

FIX_HEADER = "Fix the project so that its tests pass."
MAX_FILES = 8
SHOWN_CHARS = 60_000  # the files shown, in all: whole, the largest outlined past it
REPORT_CHARS = 6_000


def fix_task_id(round_no: int) -> str:
    return f"fix_{round_no}"


def involved_files(
    tree: Mapping[str, str], run: AcceptanceRun, criteria_tests: str = ""
) -> list[str]:
    """The failing test files, then the tree's modules they import (the code under test);
    every Python module of the tree when no failing file can be named. At most MAX_FILES."""
    failing = {f.split("::", 1)[0] for f in run.failing}
    test_files = sorted(p for p in failing if p in tree and is_test_file(p))
    modules = {_module_of(p): p for p in tree if p.endswith(".py") and not is_test_file(p)}
    imported: list[str] = []
    sources = [tree[p] for p in test_files]
    if GIVEN_TESTS in failing or not test_files:
        sources.append(criteria_tests)
    for source in sources:
        for name in _imports(source):
            path = modules.get(name)
            if path is not None and path not in imported:
                imported.append(path)
    if not imported:
        imported = sorted(modules.values())
    return (sorted(imported) + test_files)[:MAX_FILES]


def fix_task(
    job_id: str,
    round_no: int,
    *,
    project: str,
    run: AcceptanceRun,
    criteria_tests: str,
    threshold: float,
) -> TaskState:
    """The code task of fix round `round_no` for the failing acceptance `run`."""
    files = involved_files(run.tree, run, criteria_tests)
    shown = shown_files({path: run.tree[path] for path in files}, SHOWN_CHARS)
    prompt = (
        f"{FIX_HEADER} Fix round {round_no}: the project's tests fail on the assembled tree. "
        "Find the cause in the files below and change what is wrong (the code under test, or "
        "a test that is itself wrong); keep everything else as it is. For a file you change, "
        "prefer SEARCH/REPLACE edits; give a file you leave as it is with no edits.\n"
        f"Project: {project}\n"
        f"Failing tests: {named(run.failing)}\n\n"
        f"<pytest_report>\n{truncate(run.output, REPORT_CHARS)}\n</pytest_report>\n\n"
        f"Current contents of the files involved:\n{shown}"
    )
    task = TaskState(
        job_id=job_id,
        task_id=fix_task_id(round_no),
        type=TaskType.CODE_GENERATION,
        title=f"Fix round {round_no}",
        prompt=prompt,
        acceptance_threshold=threshold,
        files=files,
    )
    return with_acceptance_tests(task, criteria_tests) if criteria_tests else task


def _module_of(path: str) -> str:
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(source: str) -> list[str]:
    """Modules `source` imports (each dotted prefix too); [] when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    found: list[str] = []
    for name in names:
        parts = name.split(".")
        found += [".".join(parts[: i + 1]) for i in range(len(parts))]
    return list(dict.fromkeys(found))
