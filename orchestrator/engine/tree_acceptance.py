"""Acceptance of a job's project tree: its tests run on the whole tree, after the last task.

Every test file of the tree, and the tests the user wrote into the success criteria (see
`acceptance.acceptance_tests`), run with pytest on the assembled tree in the sandbox. The
verdict decides the final status of a job with a file manifest: SUCCESS only when the tree's
tests pass; PARTIAL_SUCCESS, with the failing tests named, when they do not. A job whose
tree has no test at all keeps the status its tasks gave it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from orchestrator.domain import IterationRecord, ProjectStatus, TaskState, TaskStatus
from orchestrator.engine.code_checks import run_tree_pytest
from orchestrator.engine.sandbox import SandboxLimits
from orchestrator.engine.tree_checks import GIVEN_TESTS, is_test_file
from orchestrator.engine.validators import hard_failures

__all__ = [
    "AcceptanceRun",
    "accepted_status",
    "failing_tests",
    "named",
    "plural",
    "run_acceptance",
    "tests_only",
]

_FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
SHOWN_FAILURES = 5  # a log line names the first ones


class AcceptanceRun(BaseModel):
    """One run of the tree's tests: which ran, which failed, pytest's report, and the tree
    they ran on (path -> contents), which a fix round starts from."""

    ran: bool = False  # False: the tree has no test to run
    passed: bool = False
    tests: list[str] = Field(default_factory=list)
    failing: list[str] = Field(default_factory=list)
    output: str = ""
    tree: dict[str, str] = Field(default_factory=dict)

    def said(self) -> str:
        """How the log says it: "2 failing tests: a, b" or "3 test files pass"."""
        if not self.ran:
            return "no test in the tree"
        if self.passed:
            n = len(self.tests)
            return f"tests pass ({n} test file{'s' if n != 1 else ''})"
        return f"{plural(max(len(self.failing), 1))}: {named(self.failing)}"


def named(failing: Sequence[str]) -> str:
    shown = ", ".join(failing[:SHOWN_FAILURES])
    more = len(failing) - SHOWN_FAILURES
    return shown + (f" and {more} more" if more > 0 else "") if failing else "(unnamed)"


def plural(failing: int) -> str:
    return f"{failing} failing test{'s' if failing != 1 else ''}"


def failing_tests(report: str) -> list[str]:
    """The ids pytest's short summary names as failed or in error ("test_x.py::test_y")."""
    return list(dict.fromkeys(_FAILED_LINE.findall(report)))


async def run_acceptance(
    tree: Mapping[str, str], criteria_tests: str, limits: SandboxLimits
) -> AcceptanceRun:
    """pytest on every test file of `tree`, plus the success criteria's tests."""
    files = dict(tree)
    tests = sorted(p for p in files if is_test_file(p))
    if criteria_tests and GIVEN_TESTS not in files:
        files[GIVEN_TESTS] = criteria_tests
        tests.append(GIVEN_TESTS)
    if not tests:
        return AcceptanceRun(tree=dict(tree))
    result = await run_tree_pytest(files, tests, limits)
    failing = [] if result.passed else failing_tests(result.detail)
    return AcceptanceRun(
        ran=True,
        passed=result.passed,
        tests=tests,
        failing=failing,
        output=result.detail,
        tree=dict(tree),
    )


def tests_only(task: TaskState, best: IterationRecord | None) -> bool:
    """Whether a task fell short only because the tree's tests failed (its best iteration's
    one hard failure is pytest): the acceptance run judges that instead."""
    if task.status is TaskStatus.COMPLETED:
        return True
    if task.status is not TaskStatus.DEGRADED or best is None:
        return False
    failed = hard_failures(best.validators)
    return bool(failed) and all(v.name == "pytest" for v in failed)


def accepted_status(status: ProjectStatus, run: AcceptanceRun, tasks_ok: bool) -> ProjectStatus:
    """The final status of a job with a manifest once its tree's tests ran: SUCCESS only when
    they pass (and every task passed or fell short only on those tests); PARTIAL_SUCCESS
    when they fail. Other statuses, and a tree without tests, keep what the tasks gave."""
    if not run.ran or status not in (ProjectStatus.SUCCESS, ProjectStatus.PARTIAL_SUCCESS):
        return status
    if not run.passed:
        return ProjectStatus.PARTIAL_SUCCESS
    return ProjectStatus.SUCCESS if tasks_ok else ProjectStatus.PARTIAL_SUCCESS
