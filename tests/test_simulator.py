"""The offline simulator: deterministic, valid structured output, runnable code, rising
scores; and the client set. Faults, token counts and latency: test_simulator_faults.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sim_fixtures import (
    CATALOG,
    HELLO_PROJECT,
    client,
    mixed_requests,
    request,
)

import orchestrator.providers as providers
from orchestrator.config import FaultRates, Settings
from orchestrator.domain import Evaluation, Role, TaskType
from orchestrator.errors import (
    ModelNotFound,
    ProviderUnavailable,
)
from orchestrator.plan import Plan
from orchestrator.providers import (
    ClientSet,
    LLMClient,
    LLMRequest,
    LLMResponse,
    SimulatedClient,
    build_clients,
)

PROJECTS = [
    HELLO_PROJECT,
    "Project: A REST API in Python for a todo list, with tests\nSuccess criteria: all routes work",
    "Project: An essay on the history of the printing press\nSuccess criteria: 1500 words",
    "Project: Extract invoice records from a CSV export into JSON",
    "Project: Should our team move from a monolith to microservices?",
]


async def plan_for(prompt: str, seed: int) -> Plan:
    response = await client(seed=seed).complete(request(Role.DECOMPOSE, prompt))
    return Plan.model_validate_json(response.text)


def test_is_an_llm_client_that_serves_every_catalog_model() -> None:
    sim = client()
    assert isinstance(sim, LLMClient)
    assert sim.name == "simulated"
    assert sim.simulated is True
    assert all(sim.serves(model) for model in CATALOG.models)
    assert not sim.serves("not-a-model")


async def test_answers_as_the_models_catalog_provider() -> None:
    sim = client()
    for model, info in CATALOG.models.items():
        response = await sim.complete(request(Role.CRITIQUE, model=model))
        assert (response.model, response.provider, response.simulated) == (
            model,
            info.provider,
            True,
        )


async def test_unknown_model_is_model_not_found() -> None:
    with pytest.raises(ModelNotFound):
        await client().complete(request(Role.GENERATE, model="not-a-model"))


async def test_same_seed_gives_the_same_answers_and_another_seed_does_not() -> None:
    def key(r: LLMResponse) -> tuple[str, int, int, float]:
        return r.text, r.input_tokens, r.output_tokens, r.latency_ms

    first, again, other = client(seed=7), client(seed=7), client(seed=8)
    answers = [key(await first.complete(r)) for r in mixed_requests()]
    assert answers == [key(await again.complete(r)) for r in mixed_requests()]
    assert answers != [key(await other.complete(r)) for r in mixed_requests()]
    plans = {(await plan_for(HELLO_PROJECT, seed)).model_dump_json() for seed in range(8)}
    assert len(plans) > 1


async def test_arrival_order_of_concurrent_requests_changes_nothing() -> None:
    reqs = mixed_requests()
    in_order = [await client().complete(r) for r in reqs]
    sim = client()
    backwards = await asyncio.gather(*(sim.complete(r) for r in reversed(reqs)))
    assert [r.text for r in in_order] == [r.text for r in reversed(backwards)]


async def test_a_retry_of_the_same_request_gets_a_fresh_draw() -> None:
    async def outcomes(sim: SimulatedClient) -> list[bool]:
        results = []
        for _ in range(40):
            try:
                await sim.complete(request(Role.CRITIQUE))
                results.append(True)
            except ProviderUnavailable:
                results.append(False)
        return results

    faults = FaultRates(server_error=0.5)
    seen = await outcomes(client(faults=faults))
    assert True in seen and False in seen  # a retry can succeed where an attempt failed
    assert seen == await outcomes(client(faults=faults))  # and the sequence is reproducible


@pytest.mark.parametrize("prompt", PROJECTS)
async def test_decomposition_is_a_valid_plan_with_forks_and_joins(prompt: str) -> None:
    for seed in range(12):
        plan = await plan_for(prompt, seed)
        assert 3 <= len(plan.tasks) <= 8
        assert [t.id for t in plan.tasks] == [
            f"task_{i:03d}" for i in range(1, len(plan.tasks) + 1)
        ]
        deps = [d for t in plan.tasks for d in t.dependencies]
        assert any(len(t.dependencies) >= 2 for t in plan.tasks), "no join"
        assert any(deps.count(d) >= 2 for d in deps), "no fork"
        for task in plan.tasks:
            assert task.acceptance_threshold == CATALOG.policy(task.type).threshold
            assert prompt.splitlines()[0].removeprefix("Project: ") in task.prompt


async def test_task_types_follow_the_kind_of_project() -> None:
    def types(plan: Plan) -> set[TaskType]:
        return {t.type for t in plan.tasks}

    code = await plan_for(HELLO_PROJECT, 1)
    assert {TaskType.CODE_GENERATION, TaskType.CODE_REVIEW, TaskType.SUMMARIZATION} <= types(code)
    for task in code.tasks:
        assert '"Hello World"' in task.prompt
    assert TaskType.CREATIVE_WRITING in types(await plan_for(PROJECTS[2], 1))
    assert TaskType.DATA_EXTRACTION in types(await plan_for(PROJECTS[3], 1))
    assert TaskType.CODE_GENERATION not in types(await plan_for(PROJECTS[2], 1))


def run_python(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "main.py"
    script.write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )


async def test_hello_world_code_runs_and_prints_hello_world(tmp_path: Path) -> None:
    plan = await plan_for(HELLO_PROJECT, 3)
    code_task = next(t for t in plan.tasks if t.type is TaskType.CODE_GENERATION)
    sources = set()
    for seed in (1, 2):
        for role, iteration in [(Role.GENERATE, 1), (Role.REVISE, 1), (Role.REVISE, 2)]:
            response = await client(seed=seed).complete(
                request(
                    role,
                    code_task.prompt,
                    task_type=TaskType.CODE_GENERATION,
                    iteration=iteration,
                    model="gpt-4o",
                )
            )
            assert "```" not in response.text
            done = run_python(response.text, tmp_path)
            assert (done.returncode, done.stdout, done.stderr) == (0, "Hello World\n", "")
            sources.add(response.text)
    assert len(sources) >= 3  # revisions differ from first drafts


@pytest.mark.parametrize(
    "prompt",
    [
        "write a HELLO WORLD program, with tests",
        "Build a REST API endpoint for todo items",
        "Parse a CSV of sales records and print totals",
        "Print the first prime numbers",
        'A tool that counts the words of a "quoted" text with a \\ backslash',
    ],
)
async def test_generated_code_of_any_kind_runs_cleanly(prompt: str, tmp_path: Path) -> None:
    for level in (1, 3):
        response = await client().complete(
            request(Role.GENERATE, prompt, task_type=TaskType.CODE_GENERATION, iteration=level)
        )
        done = run_python(response.text, tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()
        if "hello world" in prompt.lower():
            assert done.stdout == "Hello World\n"


async def test_prose_and_critiques_are_plausible() -> None:
    sim = client()
    text = await sim.complete(
        request(Role.GENERATE, "Write an essay on tea", task_type=TaskType.CREATIVE_WRITING)
    )
    assert text.text.startswith("# ")
    assert 150 <= text.output_tokens <= 1_200
    review = await sim.complete(request(Role.CRITIQUE, task_type=TaskType.CODE_GENERATION))
    points = [line for line in review.text.splitlines() if line[:1].isdigit()]
    assert 2 <= len(points) <= 5


async def scores(iteration: int, model: str, task_type: TaskType | None) -> list[float]:
    sim = client()
    values = []
    for i in range(30):
        req = request(
            Role.EVALUATE, f"output {i}", iteration=iteration, model=model, task_type=task_type
        )
        values.append(Evaluation.model_validate_json((await sim.complete(req)).text).score)
    return values


@pytest.mark.parametrize("task_type", [None, TaskType.CODE_GENERATION])
async def test_evaluation_scores_rise_with_iterations(task_type: TaskType | None) -> None:
    means = []
    for iteration in (1, 2, 3):
        values = await scores(iteration, "gpt-4o-mini", task_type)
        assert all(0.0 <= v <= 0.98 for v in values)
        means.append(sum(values) / len(values))
    assert means[0] < means[1] < means[2]
    assert 0.70 <= means[0] <= 0.85


@pytest.mark.parametrize("task_type", list(TaskType))
async def test_a_task_passes_its_threshold_by_its_last_iteration(task_type: TaskType) -> None:
    policy = CATALOG.policy(task_type)
    for model in CATALOG.roles[Role.EVALUATE]:
        final = await scores(policy.max_iterations, model, task_type)
        assert min(final) >= policy.threshold


class OneModelClient:
    """A stand-in for a real provider adapter that serves one model."""

    name = "acme"
    simulated = False

    def __init__(self, model: str) -> None:
        self.model = model

    def serves(self, model: str) -> bool:
        return model == self.model

    async def complete(self, request: LLMRequest) -> LLMResponse:
        raise NotImplementedError


def test_build_clients_serves_every_catalog_model_with_the_simulator() -> None:
    settings = Settings(_env_file=None, sim_seed=3, sim_latency_scale=0.0)  # type: ignore[call-arg]
    clients = build_clients(settings, CATALOG)
    assert clients.simulated is True
    assert clients.available_models() == list(CATALOG.models)
    assert all(isinstance(clients.for_model(m), SimulatedClient) for m in CATALOG.models)
    with pytest.raises(ModelNotFound):
        clients.for_model("not-a-model")


def test_client_set_asks_clients_in_order() -> None:
    real = OneModelClient("gpt-4o")
    mixed = ClientSet([real, client()], CATALOG)
    assert mixed.for_model("gpt-4o") is real
    assert isinstance(mixed.for_model("claude-opus-4-6"), SimulatedClient)
    assert mixed.simulated is True
    only_real = ClientSet([real], CATALOG)
    assert only_real.simulated is False
    assert only_real.available_models() == ["gpt-4o"]
    with pytest.raises(ModelNotFound):
        only_real.for_model("claude-opus-4-6")


def test_providers_package_exports_a_sorted_all() -> None:
    assert providers.__all__ == sorted(providers.__all__)
    assert all(hasattr(providers, name) for name in providers.__all__)
