"""Tests written into the success criteria run against the job's final code, and only there."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from conftest import StartRuntime
from fakes import plan_task
from test_sandbox_job import CodeWriter, code_task

from orchestrator.config import Settings
from orchestrator.domain import JobSpec, Role, TaskState, TaskStatus, TaskType, ValidatorResult
from orchestrator.engine.acceptance import acceptance_tests, final_code_tasks
from orchestrator.providers import ClientSet, LLMRequest, LLMResponse

CRITERIA = """The library adds numbers.

```python
from main import add

def test_adds():
    assert add(2, 3) == 5
```
"""
RIGHT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"


@dataclass
class RecordingWriter(CodeWriter):
    """Writes the given code, and keeps the prompts of generation calls."""

    generated: list[str] = field(default_factory=list)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        if request.role is Role.GENERATE:
            self.generated.append(request.prompt)
        return await super().complete(request)


def task(task_id: str, kind: TaskType, deps: list[str] | None = None) -> TaskState:
    return TaskState(
        job_id="j",
        task_id=task_id,
        type=kind,
        prompt="p",
        dependencies=deps or [],
        acceptance_threshold=0.8,
    )


def test_final_code_tasks_are_those_no_code_task_builds_on() -> None:
    code, doc = TaskType.CODE_GENERATION, TaskType.SUMMARIZATION
    tasks = [
        task("lib", code),
        task("app", code, ["lib"]),
        task("docs", doc, ["app"]),
        task("tool", code, ["docs"]),  # builds on a document only: a deliverable too
    ]
    assert final_code_tasks(tasks) == {"app", "tool"}
    assert final_code_tasks([task("docs", doc)]) == set()


def test_criteria_without_python_tests_give_none() -> None:
    assert acceptance_tests("Prints Hello World; under 50 lines.") == ""
    assert "def test_adds" in acceptance_tests(CRITERIA)


@pytest.mark.parametrize(("app_code", "expected"), [(WRONG, "failed"), (RIGHT, "passed")])
async def test_the_final_code_task_is_held_to_the_criteria_tests(
    start_runtime: StartRuntime, settings: Settings, app_code: str, expected: str
) -> None:
    plan = [code_task("lib"), code_task("app") | {"dependencies": ["lib"]}]
    plan.append(plan_task("docs", ["app"]))
    # `lib` is wrong too, but it is not the deliverable: the criteria's tests are not its own.
    client = RecordingWriter(settings.catalog, plan, code={"lib": WRONG, "app": app_code})
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    spec = JobSpec(project_description="adder", success_criteria=CRITERIA, concurrency=1)
    job_id = await runtime.submit(spec)
    await runtime.wait(job_id)

    async def checks(task_id: str) -> dict[str, ValidatorResult]:
        first = (await runtime.store.list_iterations(job_id, task_id))[0]
        return {v.name: v for v in first.validators}

    app, lib = await checks("app"), await checks("lib")
    assert "pytest" not in lib
    assert ("1 passed" if expected == "passed" else "test_adds") in app["pytest"].detail
    tasks = {t.task_id: t for t in await runtime.store.list_tasks(job_id)}
    assert tasks["app"].status is (
        TaskStatus.COMPLETED if expected == "passed" else TaskStatus.DEGRADED
    )
    assert tasks["lib"].status is TaskStatus.COMPLETED
    assert "Acceptance tests" not in tasks["app"].prompt  # stored as planned
    generated = [p for p in client.generated if "[[app]]" in p]
    assert generated and all("def test_adds" in p for p in generated)
