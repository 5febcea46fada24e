"""The forecast of a plan: a pure function of the tasks, their routes, the real catalog and
prices (genai-prices) and the recorded history; its numbers are checked against the price of
the calls the task loop makes, computed here by hand."""

from __future__ import annotations

import pytest

from orchestrator.config import DEFAULT_CATALOG, load_catalog
from orchestrator.domain import CallSize, Role, TaskRun, TaskState, TaskType
from orchestrator.engine.forecast import (
    CHARS_PER_TOKEN,
    MIN_SAMPLES,
    PRIOR_ANSWER,
    PRIOR_CODE_ANSWER,
    PRIOR_HIGH,
    PRIOR_LOW,
    SYSTEM_TOKENS,
    History,
    Route,
    forecast_plan,
    route_tasks,
)
from orchestrator.engine.health import HealthBook
from orchestrator.engine.routing import Router
from orchestrator.providers.pricing import Pricing

CATALOG = load_catalog(DEFAULT_CATALOG)
PRICING = Pricing(CATALOG)
ROUTE = Route(
    generator="gpt-4o", critic="gemini-2.5-flash", evaluators=("claude-opus-4-6", "gemini-2.5-pro")
)


def task(
    task_id: str = "t1",
    *,
    type: TaskType = TaskType.SUMMARIZATION,
    prompt: str = "Summarise the design in five sentences.",
    dependencies: tuple[str, ...] = (),
    pinned: str | None = None,
) -> TaskState:
    return TaskState(
        job_id="job1",
        task_id=task_id,
        type=type,
        prompt=prompt,
        dependencies=list(dependencies),
        acceptance_threshold=0.8,
        pinned_model=pinned,
    )


def forecast(tasks: list[TaskState], history: History | None = None, route: Route = ROUTE):
    return forecast_plan(
        tasks,
        routes={t.task_id: route for t in tasks},
        catalog=CATALOG,
        pricing=PRICING,
        history=history or History(),
    )


def price(model: str, input_tokens: float, output_tokens: float) -> float:
    return float(PRICING.cost(model, round(input_tokens), round(output_tokens)))


def sizes(model: str, role: Role, tokens: int, n: int = MIN_SAMPLES) -> list[CallSize]:
    return [
        CallSize(
            task_type=TaskType.SUMMARIZATION,
            role=role,
            model=model,
            input_tokens=1000,
            output_tokens=tokens,
        )
        for _ in range(n)
    ]


def test_expected_is_the_price_of_the_calls_the_loop_makes() -> None:
    """One generation, then per iteration a critique, a revision and two evaluations."""
    history = History(
        sizes("gpt-4o", Role.GENERATE, 300)
        + sizes("gemini-2.5-flash", Role.CRITIQUE, 200)
        + sizes("gpt-4o", Role.REVISE, 400)
        + sizes("claude-opus-4-6", Role.EVALUATE, 100),
        [TaskRun(task_type=TaskType.SUMMARIZATION, iterations=n) for n in (1, 1, 2, 2, 2)],
    )
    t = task()
    result = forecast([t], history)
    prompt = 1000  # as recorded: longer than the task's own text
    iterations = 1.6
    per_iteration = (
        price("gemini-2.5-flash", prompt, 200)
        + price("gpt-4o", prompt, 400)
        + price("claude-opus-4-6", prompt, 100)
        + price("gemini-2.5-pro", prompt, 100)
    )
    expected = price("gpt-4o", prompt, 300) + iterations * per_iteration
    assert result.tasks[0].cost.expected == pytest.approx(expected, abs=2e-6)
    assert result.tasks[0].iterations.expected == iterations
    assert result.total.expected == result.tasks[0].cost.expected
    assert result.tasks[0].basis.startswith("from ")
    assert result.basis == f"from {history.calls} recorded calls"
    # A task whose own text is longer than the prompts recorded is counted by its length.
    long = forecast([task(prompt="Summarise this. " * 2000)], history)
    assert long.total.low > result.total.high


def test_without_history_priors_give_an_ordered_band_and_say_so() -> None:
    t = task(type=TaskType.CODE_GENERATION)
    result = forecast([t])
    f = result.tasks[0]
    assert result.basis == "no history: priors" and f.basis == "no history: priors"
    assert 0 < f.cost.low < f.cost.expected < f.cost.high
    prompt = SYSTEM_TOKENS + len(t.prompt) / CHARS_PER_TOKEN
    # Low: every answer at its low prior and a single iteration.
    low_out = PRIOR_CODE_ANSWER * PRIOR_LOW
    low_critique = PRIOR_ANSWER[Role.CRITIQUE] * PRIOR_LOW
    low_eval = PRIOR_ANSWER[Role.EVALUATE] * PRIOR_LOW
    low = (
        price("gpt-4o", prompt, low_out)
        + price("gemini-2.5-flash", prompt + low_out, low_critique)
        + price("gpt-4o", prompt + low_out + low_critique, low_out)
        + price("claude-opus-4-6", prompt + low_out, low_eval)
        + price("gemini-2.5-pro", prompt + low_out, low_eval)
    )
    assert f.cost.low == pytest.approx(low, abs=2e-6)
    assert f.iterations.high == CATALOG.policy(TaskType.CODE_GENERATION).max_iterations
    # High: answers at PRIOR_HIGH times the prior, critiques and evaluations within their caps.
    assert f.cost.high > f.cost.expected * 2


def test_a_job_is_the_sum_of_its_tasks_and_outputs_feed_dependents() -> None:
    alone = forecast([task("b")]).tasks[0]
    plan = [task("a", type=TaskType.CODE_GENERATION), task("b", dependencies=("a",))]
    result = forecast(plan)
    after = result.tasks[1]
    assert after.cost.expected > alone.cost.expected  # a's output is in b's prompt
    for point in ("low", "expected", "high"):
        total = sum(getattr(f.cost, point) for f in result.tasks)
        assert getattr(result.total, point) == pytest.approx(total, abs=1e-6)


def test_dearer_models_and_longer_prompts_cost_more() -> None:
    base = forecast([task()]).total
    dear = forecast(
        [task()], route=Route("claude-opus-4-6", "gemini-2.5-flash", ("gpt-4o", "gemini-2.5-pro"))
    ).total
    long = forecast([task(prompt="Summarise this. " * 2000)]).total
    assert dear.expected > base.expected
    assert long.low > base.low and long.expected > base.expected


def test_history_narrows_to_the_model_then_widens_to_the_type() -> None:
    few = sizes("gpt-4o", Role.GENERATE, 50, n=MIN_SAMPLES - 1)
    others = sizes("gpt-4o-mini", Role.GENERATE, 5000)
    # Too few of gpt-4o's own: every generation of the type counts.
    wide = History(few + others).answer(Role.GENERATE, TaskType.SUMMARIZATION, "gpt-4o")
    assert wide.samples == len(few) + len(others)
    assert wide.mean == pytest.approx((50 * len(few) + 5000 * len(others)) / wide.samples)
    enough = sizes("gpt-4o", Role.GENERATE, 50)
    mine = History(enough + others).answer(Role.GENERATE, TaskType.SUMMARIZATION, "gpt-4o")
    assert (mine.low, mine.mean, mine.high, mine.samples) == (50, 50, 50, MIN_SAMPLES)
    prior = History().answer(Role.CRITIQUE, TaskType.SUMMARIZATION, "gpt-4o")
    assert prior.samples == 0 and prior.high == PRIOR_ANSWER[Role.CRITIQUE] * PRIOR_HIGH


def test_routes_pin_the_generator_and_review_by_other_providers() -> None:
    router = Router(CATALOG, PRICING, HealthBook())
    everything = list(CATALOG.models)
    plan = [task("a"), task("b", pinned="deepseek-chat")]
    routes = route_tasks(plan, router, CATALOG, everything)
    assert routes["b"].generator == "deepseek-chat"
    for route in routes.values():
        providers = [CATALOG.models[m].provider for m in (route.generator, route.critic)]
        assert providers[0] != providers[1]
        assert len(route.evaluators) == 2
        evaluator_providers = {CATALOG.models[m].provider for m in route.evaluators}
        assert providers[0] not in evaluator_providers and len(evaluator_providers) == 2
    only_openai = [m for m, info in CATALOG.models.items() if info.provider == "openai"]
    narrow = route_tasks([task("a")], router, CATALOG, only_openai)["a"]
    assert {narrow.generator, narrow.critic, *narrow.evaluators} <= set(only_openai)
