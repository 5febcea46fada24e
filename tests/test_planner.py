"""Decomposition: structured plans accepted (repaired where they can be: tests/
test_plan_repair.py), unusable ones retried, then the fallback."""

from __future__ import annotations

import json

import pytest

from orchestrator.config import DEFAULT_CATALOG, Catalog, FaultRates, load_catalog
from orchestrator.domain import JobSpec, Role, TaskType
from orchestrator.engine.calls_api import Caller, CallResult, CallSpec, CallStatus
from orchestrator.engine.planner import make_plan, plan_to_tasks
from orchestrator.plan import Plan
from orchestrator.providers.base import LLMRequest
from orchestrator.providers.simulator import SimulatedClient

SPEC = JobSpec(
    project_description="Write a Python script that prints Hello World",
    success_criteria="It prints Hello World",
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_CATALOG)


def task(tid: str, deps: list[str] | None = None, **extra: object) -> dict[str, object]:
    return {
        "id": tid,
        "type": "code_generation",
        "prompt": f"do {tid}",
        "dependencies": deps or [],
        **extra,
    }


def plan_json(*tasks: dict[str, object]) -> str:
    return json.dumps({"tasks": list(tasks)})


VALID = plan_json(task("task_001"), task("task_002", ["task_001"]), task("task_003", ["task_002"]))
# Answers no repair can use: no task has a prompt, no task at all, no list of tasks.
NO_PROMPT = json.dumps({"tasks": [{"id": "task_001", "type": "code_generation"}]})
EMPTY = plan_json()
NO_TASKS = json.dumps({"answer": "Sure! Here is the plan."})


class ScriptedCaller:
    """Answers decomposition calls from a list; records every CallSpec it sees."""

    def __init__(self, *answers: str | CallResult) -> None:
        self.answers = list(answers)
        self.specs: list[CallSpec] = []

    async def __call__(self, spec: CallSpec) -> CallResult:
        self.specs.append(spec)
        answer = self.answers.pop(0)
        if isinstance(answer, CallResult):
            return answer
        return CallResult(status=CallStatus.OK, text=answer, model="planner-x", cost_usd=0.01)


async def test_a_valid_plan_is_accepted(catalog: Catalog) -> None:
    call = ScriptedCaller(VALID)
    outcome = await make_plan(SPEC, call=call, catalog=catalog)
    assert outcome.plan == Plan.model_validate_json(VALID)
    assert not outcome.fallback
    assert outcome.errors == []
    assert outcome.call_status is CallStatus.OK
    assert not outcome.stopped
    assert outcome.model == "planner-x"
    (spec,) = call.specs
    assert spec.role is Role.DECOMPOSE
    assert spec.slot == 0
    assert spec.json_schema == Plan.model_json_schema()
    assert spec.schema_name == "plan"
    assert SPEC.project_description in spec.prompt
    assert SPEC.success_criteria in spec.prompt


async def test_a_fenced_plan_is_accepted(catalog: Catalog) -> None:
    outcome = await make_plan(SPEC, call=ScriptedCaller(f"```json\n{VALID}\n```"), catalog=catalog)
    assert outcome.plan == Plan.model_validate_json(VALID)
    assert not outcome.fallback


async def test_an_invalid_plan_is_retried_with_the_error(catalog: Catalog) -> None:
    call = ScriptedCaller(NO_PROMPT, VALID)
    outcome = await make_plan(SPEC, call=call, catalog=catalog)
    assert outcome.plan == Plan.model_validate_json(VALID)
    assert outcome.attempts == 2
    assert [s.slot for s in call.specs] == [0, 1]
    assert "no usable task is left" in call.specs[1].prompt
    assert "no usable task is left" not in call.specs[0].prompt
    assert len(outcome.errors) == 1
    assert outcome.cost_usd == pytest.approx(0.02)


async def test_repeated_invalid_plans_fall_back_to_one_task(catalog: Catalog) -> None:
    call = ScriptedCaller(NO_PROMPT, EMPTY, NO_TASKS)
    outcome = await make_plan(SPEC, call=call, catalog=catalog)
    assert outcome.fallback
    assert [s.slot for s in call.specs] == [0, 1, 2]
    assert "task 'task_001' had no prompt (dropped)" in outcome.errors[0]
    assert "no usable task is left" in outcome.errors[1]
    assert "holds no list of tasks" in outcome.errors[2]
    (only,) = outcome.plan.tasks
    assert only.id == "task_001"
    assert only.type is TaskType.CODE_GENERATION
    assert SPEC.project_description in only.prompt
    assert SPEC.success_criteria in only.prompt


async def test_text_that_is_not_json_is_retried(catalog: Catalog) -> None:
    call = ScriptedCaller("Here is my plan: first design, then code.", VALID)
    outcome = await make_plan(SPEC, call=call, catalog=catalog)
    assert not outcome.fallback
    assert "not JSON" in outcome.errors[0]


async def test_the_fallback_guesses_reasoning_for_non_code_projects(catalog: Catalog) -> None:
    spec = JobSpec(project_description="Compare three marketing strategies for a bakery")
    outcome = await make_plan(spec, call=ScriptedCaller("no", "no", "no"), catalog=catalog)
    assert outcome.plan.tasks[0].type is TaskType.COMPLEX_REASONING
    assert outcome.plan.tasks[0].prompt == spec.project_description


@pytest.mark.parametrize(
    "status", [CallStatus.BUDGET_EXHAUSTED, CallStatus.TIMEOUT, CallStatus.CANCELLED]
)
async def test_a_stopping_status_ends_decomposition_without_a_plan(
    catalog: Catalog, status: CallStatus
) -> None:
    call = ScriptedCaller(EMPTY, CallResult(status=status, error="no money left"), VALID)
    outcome = await make_plan(SPEC, call=call, catalog=catalog)
    assert outcome.stopped
    assert outcome.call_status is status
    assert len(call.specs) == 2
    assert "no money left" in outcome.errors[-1]


async def test_every_provider_failing_falls_back_at_once(catalog: Catalog) -> None:
    call = ScriptedCaller(CallResult(status=CallStatus.FAILED, error="all 5xx"), VALID)
    outcome = await make_plan(SPEC, call=call, catalog=catalog)
    assert outcome.fallback
    assert outcome.call_status is CallStatus.FAILED
    assert len(call.specs) == 1
    assert "all 5xx" in outcome.errors[0]


def test_plan_to_tasks_clamps_thresholds_and_uses_the_policy(catalog: Catalog) -> None:
    plan = Plan.model_validate(
        {
            "tasks": [
                task("task_001", acceptance_threshold=0.3),
                task("task_002", ["task_001"], acceptance_threshold=0.95),
                {**task("task_003", ["task_001", "task_002"]), "type": "summarization"},
            ]
        }
    )
    tasks = plan_to_tasks("job1", plan, catalog)
    assert [t.task_id for t in tasks] == ["task_001", "task_002", "task_003"]
    assert [t.acceptance_threshold for t in tasks] == [
        0.5,
        0.95,
        catalog.policy(TaskType.SUMMARIZATION).threshold,
    ]
    assert tasks[2].dependencies == ["task_001", "task_002"]
    assert all(t.job_id == "job1" for t in tasks)


def simulator_caller(catalog: Catalog) -> tuple[Caller, list[CallSpec]]:
    """A minimal Caller over the real simulator: the first preferred model answers."""
    client = SimulatedClient(catalog, seed=3, latency_scale=0, faults=FaultRates())
    seen: list[CallSpec] = []

    async def call(spec: CallSpec) -> CallResult:
        seen.append(spec)
        model = (spec.prefer or catalog.roles[spec.role])[0]
        request = LLMRequest(
            model=model,
            role=spec.role,
            system=spec.system,
            prompt=spec.prompt,
            max_tokens=catalog.model(model).max_output_tokens,
            json_schema=spec.json_schema,
            schema_name=spec.schema_name,
            task_type=spec.task_type,
            iteration=spec.iteration,
        )
        response = await client.complete(request)
        return CallResult(
            status=CallStatus.OK,
            text=response.text,
            model=response.model,
            provider=response.provider,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            latency_ms=response.latency_ms,
        )

    return call, seen


async def test_the_simulator_plans_the_project(catalog: Catalog) -> None:
    call, seen = simulator_caller(catalog)
    outcome = await make_plan(SPEC, call=call, catalog=catalog)
    assert not outcome.fallback, outcome.errors
    assert 3 <= len(outcome.plan.tasks) <= 8
    assert any(t.type is TaskType.CODE_GENERATION for t in outcome.plan.tasks)
    # The simulator found the project in our prompt: every task repeats it.
    assert all(SPEC.project_description in t.prompt for t in outcome.plan.tasks)
    tasks = plan_to_tasks("job1", outcome.plan, catalog)
    assert all(0.5 <= t.acceptance_threshold <= 1.0 for t in tasks)
    assert len(seen) == 1


async def test_tasks_have_titles_from_the_plan_or_their_prompt(catalog: Catalog) -> None:
    long = "Parse the CSV input, validate every row and report the bad ones with line numbers"
    answer = plan_json(
        task("task_001", title="Parse the input file"),
        task("task_002", ["task_001"], title=long),
        task("task_003", ["task_002"]),
    )
    caller = ScriptedCaller(answer)
    outcome = await make_plan(SPEC, call=caller, catalog=catalog)
    assert not outcome.fallback, outcome.errors
    # The structured output asks for a title.
    assert "title" in caller.specs[0].json_schema["$defs"]["PlannedTask"]["properties"]
    titles = [t.title for t in plan_to_tasks("job1", outcome.plan, catalog)]
    assert titles[0] == "Parse the input file"
    # A long title is shortened at a word, not a reason to reject the plan.
    assert len(titles[1]) <= 60 and titles[1].endswith("…")
    assert titles[1].startswith("Parse the CSV input, validate every row")
    # No title given: the prompt's opening words stand in.
    assert titles[2] == "do task_003"


async def test_the_simulator_and_the_fallback_give_titles(catalog: Catalog) -> None:
    call, _ = simulator_caller(catalog)
    outcome = await make_plan(SPEC, call=call, catalog=catalog)
    titles = [t.title for t in outcome.plan.tasks]
    assert all(0 < len(t) <= 60 for t in titles), titles
    assert len(set(titles)) == len(titles), titles
    fallback = await make_plan(SPEC, call=ScriptedCaller("no", "no", "no"), catalog=catalog)
    assert fallback.fallback
    assert fallback.plan.tasks[0].title == SPEC.project_description
