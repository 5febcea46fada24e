"""Acceptance tests from the job's success criteria, given to the tasks that deliver its code.

A user may write pytest tests into the success criteria (in a fenced ```python block). They
test the project's deliverable, not every piece of it, so they go to the *final* code tasks
only: code-generation tasks that no other code-generation task builds on. Such a task gets the
tests appended to its prompt, so the generator writes code that passes them and the pytest
validator runs them on every iteration (see `code_checks.given_tests`).
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.domain import TaskState, TaskType
from orchestrator.engine.code_checks import given_tests

__all__ = ["acceptance_tests", "final_code_tasks", "with_acceptance_tests"]

_HEADER = "Acceptance tests from the project's success criteria (the code must pass them):"


def acceptance_tests(success_criteria: str) -> str:
    """The criteria's fenced Python blocks that define tests, or "" when there are none."""
    return given_tests(success_criteria)


def final_code_tasks(tasks: Sequence[TaskState]) -> set[str]:
    """Ids of the code-generation tasks on which no other code-generation task depends."""
    code = {t.task_id for t in tasks if t.type is TaskType.CODE_GENERATION}
    built_on = {d for t in tasks if t.task_id in code for d in t.dependencies}
    return code - built_on


def with_acceptance_tests(task: TaskState, tests: str) -> TaskState:
    """The task as its calls and validators see it (the stored prompt stays as planned)."""
    prompt = f"{task.prompt}\n\n{_HEADER}\n```python\n{tests.rstrip()}\n```"
    return task.model_copy(update={"prompt": prompt})
