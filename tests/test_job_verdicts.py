"""What a whole job concludes from its tasks' checks, through the durable runtime."""

from __future__ import annotations

from dataclasses import dataclass

from conftest import StartRuntime
from fakes import ScriptedClient

from orchestrator.config import Settings
from orchestrator.domain import JobSpec, ProjectStatus, Role, TaskStatus
from orchestrator.providers import ClientSet, LLMRequest, LLMResponse

# Runs as a script; its own test fails.
WRONG_ADD = "def add(a, b):\n    return a - b\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


@dataclass
class WrongCodeClient(ScriptedClient):
    """Every draft and revision is WRONG_ADD; every evaluator scores it 0.99."""

    async def complete(self, request: LLMRequest) -> LLMResponse:
        response = await super().complete(request)
        if request.role in (Role.GENERATE, Role.REVISE):
            return response.model_copy(update={"text": WRONG_ADD})
        return response


async def test_code_whose_tests_fail_never_makes_a_job_succeed(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    plan = [
        {
            "id": "add",
            "type": "code_generation",
            "prompt": "Write add(a, b) with a pytest test [[add]].",
            "acceptance_threshold": 0.5,
        }
    ]
    client = WrongCodeClient(settings.catalog, plan)
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    job_id = await runtime.submit(JobSpec(project_description="add two numbers"))
    assert await runtime.wait(job_id) is not ProjectStatus.SUCCESS
    (task,) = await runtime.store.list_tasks(job_id)
    assert task.acceptance_threshold == 0.5
    assert task.status is not TaskStatus.COMPLETED
    assert task.score is not None and task.score < 0.5
    iterations = await runtime.store.list_iterations(job_id, task.task_id)
    assert all(not v.passed for i in iterations for v in i.validators if v.name == "pytest")
