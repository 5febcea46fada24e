"""Checks of a task that answers with files, run on the project tree it would leave.

The tree is the task's starting tree (what its ancestors wrote) with its files on top, so a
test file is run against the code it tests. In order: the answer's files (paths, the
manifest, the tree's limits); the syntax of its Python files; then, concurrently in the
sandbox, an import of its modules, pytest on every test file of the tree (and the tests the
task's prompt gives), ruff on its Python files; placeholders. Deterministic for the same
answer and starting tree, like `validators.run_validators`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from orchestrator.domain import TaskState, ValidatorResult
from orchestrator.engine.code_checks import given_tests, run_python, run_ruff_files, run_tree_pytest
from orchestrator.engine.sandbox import SandboxLimits, isolation_of
from orchestrator.engine.validators import check_placeholders, check_python_syntax
from orchestrator.workspace import parse_files, tree_problem

__all__ = ["check_tree", "is_test_file", "normalize_answer"]

GIVEN_TESTS = "test_given_by_task.py"
IMPORT_CHECK = "_orchestrator_import_check.py"  # beside the tree's files, never one of them


def normalize_answer(
    task: TaskState, text: str, existing: Mapping[str, str]
) -> tuple[str, list[str], dict[str, str]]:
    """What a files task stores of an answer, what was fixed on the way, and the files it
    gave (whole, its edits of `existing` applied): the canonical files document when the
    answer is usable as it is; else the answer itself, so that its checks (and so the
    critique) say what is wrong with it."""
    parsed = parse_files(text, task.files, existing)
    if parsed.problems or not parsed.files:
        return text, [], parsed.files
    return parsed.canonical(), parsed.notes, parsed.files


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


async def check_tree(
    task: TaskState,
    output: str,
    base: Mapping[str, str],
    limits: SandboxLimits,
    existing: Mapping[str, str] | None = None,
) -> list[ValidatorResult]:
    """The checks of `output` over `base`; its edits apply to `existing` (default: `base`)."""
    parsed = parse_files(output, task.files, base if existing is None else existing)
    tree = {**base, **parsed.files}
    problems = list(parsed.problems)
    too_big = tree_problem(tree)
    if too_big:
        problems.append(too_big)
    shown = ", ".join(parsed.files) or "none"
    files = ValidatorResult(
        name="files",
        passed=not problems,
        detail="; ".join([*problems, *parsed.notes]) or f"wrote {shown}",
    )
    if not parsed.files or too_big:
        return [files]
    results = [files]
    python = {p: c for p, c in parsed.files.items() if p.endswith(".py")}
    for path, code in python.items():
        syntax = check_python_syntax(code)
        if not syntax.passed:
            detail = f"{path} {syntax.detail}"
            return [*results, syntax.model_copy(update={"detail": detail})]
    if python:
        results.append(ValidatorResult(name="python_syntax", passed=True))
        results += await _run_checks(task, tree, python, limits)
    text = "\n".join(parsed.files.values())
    results.append(check_placeholders(text))
    return results


async def _run_checks(
    task: TaskState, tree: dict[str, str], python: Mapping[str, str], limits: SandboxLimits
) -> list[ValidatorResult]:
    isolation = await asyncio.to_thread(isolation_of, limits)
    modules = [m for p in python if not is_test_file(p) and (m := _module_name(p))]
    runs = []
    if modules:
        runs.append(run_python(_import_script(modules), limits, tree=tree, script=IMPORT_CHECK))
    tests = sorted(p for p in tree if is_test_file(p))
    given = given_tests(task.prompt)
    if given and GIVEN_TESTS not in tree:
        tree = {**tree, GIVEN_TESTS: given}
        tests.append(GIVEN_TESTS)
    if tests:
        runs.append(run_tree_pytest(tree, tests, limits))
    runs.append(run_ruff_files(python, limits))
    sandbox = ValidatorResult(
        name="isolation", passed=isolation.backend != "none", detail=isolation.label
    )
    return [*await asyncio.gather(*runs), sandbox]


def _module_name(path: str) -> str | None:
    """The dotted module a .py path imports as from the tree's root (None: not importable)."""
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def _import_script(modules: list[str]) -> str:
    """A script that imports each module from the tree's root: its top level runs, what is
    under `if __name__ == "__main__":` does not (a CLI may need arguments)."""
    lines = ["import importlib", "import sys", "", "sys.path.insert(0, '.')"]
    lines += [f"importlib.import_module({m!r})" for m in modules]
    lines.append(f"print('imported: {', '.join(modules)}')")
    return "\n".join(lines) + "\n"
