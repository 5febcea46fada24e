"""The forecast of a plan: a pure function of the tasks, their routes, the real catalog and
prices (genai-prices) and the recorded history; its numbers are checked against the price of
the calls the task loop makes, computed here by hand."""

from __future__ import annotations

import random

import pytest

from orchestrator.config import DEFAULT_CATALOG, load_catalog
from orchestrator.domain import CallSize, Role, TaskRun, TaskState, TaskType
from orchestrator.engine.calibration import MIN_OUTCOMES, Calibration, conformal_band
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
from orchestrator.plan import ForecastOutcome
from orchestrator.providers.pricing import Pricing

CATALOG = load_catalog(DEFAULT_CATALOG)
PRICING = Pricing(CATALOG)
ROUTE = Route(
    generator="gpt-4o", critic="deepseek-chat", evaluators=("claude-opus-4-6", "deepseek-reasoner")
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
        + sizes("deepseek-chat", Role.CRITIQUE, 200)
        + sizes("gpt-4o", Role.REVISE, 400)
        + sizes("claude-opus-4-6", Role.EVALUATE, 100),
        [TaskRun(task_type=TaskType.SUMMARIZATION, iterations=n) for n in (1, 1, 2, 2, 2)],
    )
    t = task()
    result = forecast([t], history)
    prompt = 1000  # as recorded: longer than the task's own text
    iterations = 1.6
    per_iteration = (
        price("deepseek-chat", prompt, 200)
        + price("gpt-4o", prompt, 400)
        + price("claude-opus-4-6", prompt, 100)
        + price("deepseek-reasoner", prompt, 100)
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
        + price("deepseek-chat", prompt + low_out, low_critique)
        + price("gpt-4o", prompt + low_out + low_critique, low_out)
        + price("claude-opus-4-6", prompt + low_out, low_eval)
        + price("deepseek-reasoner", prompt + low_out, low_eval)
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
        [task()], route=Route("claude-opus-4-6", "deepseek-chat", ("gpt-4o", "deepseek-reasoner"))
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


# --- the band learnt from past forecasts' errors ----------------------------------------------


def outcomes(
    ratios: list[float],
    task_type: TaskType | None = TaskType.SUMMARIZATION,
    model: str | None = "gpt-4o",
    expected: float = 0.5,
    recorded_calls: int = 20,
) -> list[ForecastOutcome]:
    return [
        ForecastOutcome(
            task_type=task_type,
            model=model,
            expected=expected,
            actual=expected * r,
            recorded_calls=recorded_calls,
        )
        for r in ratios
    ]


def test_the_band_is_the_conformal_interval_of_past_ratios() -> None:
    # 39 ratios at 90 %: ranks ⌊40 × 0.05⌋ = 2 and ⌈40 × 0.95⌉ = 38, not the extremes.
    ratios = [n / 10 for n in range(39, 0, -1)]
    band = conformal_band(ratios, 0.90)
    assert (band.low, band.high, band.outcomes) == (0.2, 3.8, 39)
    # 99 ratios at 80 %: ranks 10 and 90.
    band = conformal_band([n / 100 for n in range(1, 100)], 0.80)
    assert (band.low, band.high) == (0.10, 0.90)
    # Too few for those ranks: the extremes seen. MIN_OUTCOMES is the fewest that reach them.
    small = conformal_band([0.9, 1.3, 1.1, 0.7, 1.0, 1.2, 0.8, 1.05])
    assert (small.low, small.high) == (0.7, 1.3)
    assert conformal_band(range(1, MIN_OUTCOMES + 1)).high == MIN_OUTCOMES
    assert conformal_band(range(1, MIN_OUTCOMES + 21)).high < MIN_OUTCOMES + 20


def test_the_band_holds_the_share_it_promises_of_new_costs() -> None:
    """Ratios drawn from one skewed distribution: a band learnt from 200 of them holds about
    90 % of the next 4,000, where the extremes of the sizes would hold them all or too few."""
    rng = random.Random(7)
    draw = [rng.lognormvariate(0.1, 0.35) for _ in range(4200)]
    band = conformal_band(draw[:200])
    inside = sum(band.low <= r <= band.high for r in draw[200:]) / 4000
    assert 0.87 <= inside <= 0.95
    assert band.high < max(draw[:200])  # not simply the widest seen


def test_calibration_narrows_to_type_and_model_then_widens() -> None:
    few = outcomes([2.0] * (MIN_OUTCOMES - 1))
    others = outcomes([1.0] * MIN_OUTCOMES, model="claude-opus-4-6")
    coding = outcomes([3.0] * MIN_OUTCOMES, task_type=TaskType.CODE_GENERATION)
    calibration = Calibration(few + others + coding)
    # Too few of gpt-4o's own summaries: every summary counts (ratios 1.0 and 2.0).
    mixed = calibration.task(TaskType.SUMMARIZATION, "gpt-4o")
    assert mixed is not None and (mixed.low, mixed.high) == (1.0, 2.0)
    assert mixed.outcomes == 2 * MIN_OUTCOMES - 1
    own = Calibration(outcomes([2.0] * MIN_OUTCOMES) + others).task(
        TaskType.SUMMARIZATION, "gpt-4o"
    )
    assert own is not None and (own.low, own.high) == (2.0, 2.0)
    # A type with no ratios of its own: all tasks'.
    review = calibration.task(TaskType.CODE_REVIEW, "gpt-4o")
    assert review is not None and (review.low, review.high) == (1.0, 3.0)
    assert Calibration(few).task(TaskType.SUMMARIZATION, "gpt-4o") is None
    assert calibration.job() is None  # no job's ratio among them
    # A forecast of $0 (no model could answer) teaches nothing.
    assert Calibration(outcomes([1.0] * MIN_OUTCOMES, expected=0.0)).jobs == 0


WARM_CALLS = (
    sizes("gpt-4o", Role.GENERATE, 300)
    + sizes("deepseek-chat", Role.CRITIQUE, 200)
    + sizes("gpt-4o", Role.REVISE, 400)
    + sizes("claude-opus-4-6", Role.EVALUATE, 100)
)  # 20 calls
WARM_RUNS = [TaskRun(task_type=TaskType.SUMMARIZATION, iterations=n) for n in (1, 1, 2, 2, 2)]


def warm_history(ratios: list[float], job_ratios: list[float]) -> History:
    """20 recorded calls, and ratios of past forecasts made from as many."""
    return History(
        WARM_CALLS,
        WARM_RUNS,
        outcomes(ratios) + outcomes(job_ratios, task_type=None, model=None),
    )


def test_a_forecast_from_history_takes_its_band_from_past_errors() -> None:
    task_ratios = [0.8, 1.5] + [1.0] * (MIN_OUTCOMES - 2)
    job_ratios = [0.9, 1.2] + [1.0] * (MIN_OUTCOMES - 2)
    plain = forecast([task("a"), task("b")], warm_history([], [])).tasks[0]
    result = forecast([task("a"), task("b")], warm_history(task_ratios, job_ratios))
    f = result.tasks[0]
    # The expected cost is the same; the band is expected × the extremes of the 8 ratios.
    assert f.cost.expected == plain.cost.expected
    assert f.cost.low == pytest.approx(f.cost.expected * 0.8, abs=2e-6)
    assert f.cost.high == pytest.approx(f.cost.expected * 1.5, abs=2e-6)
    assert f"band from {MIN_OUTCOMES} past forecast errors" in f.basis
    # The job's band: its own past ratios, narrower than the sum of its tasks' bands.
    total = result.total
    assert total.expected == pytest.approx(sum(t.cost.expected for t in result.tasks), abs=2e-6)
    assert total.low == pytest.approx(total.expected * 0.9, abs=2e-6)
    assert total.high == pytest.approx(total.expected * 1.2, abs=2e-6)
    assert total.high < sum(t.cost.high for t in result.tasks)
    assert result.basis.endswith(f"band from {MIN_OUTCOMES} past jobs' forecast errors")
    # Errors of forecasts made from far less history than this one's do not count.
    thin = outcomes(task_ratios, recorded_calls=5) + outcomes(
        job_ratios, task_type=None, model=None, recorded_calls=5
    )
    assert forecast([task("a")], History(WARM_CALLS, WARM_RUNS, thin)) == forecast(
        [task("a")], warm_history([], [])
    )


def test_the_band_always_holds_expected_and_priors_are_not_calibrated() -> None:
    history = warm_history([1.5] * MIN_OUTCOMES, [2.0] * MIN_OUTCOMES)
    result = forecast([task()], history)
    assert result.total.low == result.total.expected  # every past job cost more
    assert result.total.high == pytest.approx(result.total.expected * 2.0, abs=2e-6)
    # Without recorded sizes the forecast comes from priors: past errors of forecasts from
    # history do not apply to it.
    cold = History(
        outcomes=outcomes([1.5] * MIN_OUTCOMES) + outcomes([2.0] * MIN_OUTCOMES, None, None)
    )
    prior = forecast([task()], cold)
    assert prior.basis == "no history: priors"
    assert prior.total == forecast([task()]).total


def _recorded(role: Role, prompt: int, answer: int, model: str) -> list[CallSize]:
    return [
        CallSize(
            task_type=TaskType.SUMMARIZATION,
            role=role,
            model=model,
            input_tokens=prompt,
            output_tokens=answer,
        )
        for _ in range(MIN_SAMPLES)
    ]


@pytest.mark.parametrize(
    ("answers", "iterations"),
    [
        # A terse provider (a few lines per answer, one iteration: what the simulator writes)...
        ({Role.GENERATE: 250, Role.REVISE: 250, Role.CRITIQUE: 150, Role.EVALUATE: 60}, "fewest"),
        # ...and a verbose one (pages per answer, every iteration the type allows).
        (
            {Role.GENERATE: 1800, Role.REVISE: 1800, Role.CRITIQUE: 900, Role.EVALUATE: 360},
            "most",
        ),
    ],
)
def test_a_forecast_from_priors_holds_terse_and_verbose_providers(
    answers: dict[Role, int], iterations: str
) -> None:
    """Priors are generic: the cold band holds what a task costs on a provider whose answers
    are a few lines as well as on one whose answers are pages (each cost: the forecast of a
    history made only of such calls, in which every size is the same)."""
    t = task()
    text = SYSTEM_TOKENS + round(len(t.prompt) / CHARS_PER_TOKEN)
    out, critique = answers[Role.GENERATE], answers[Role.CRITIQUE]
    most = CATALOG.policy(t.type).max_iterations
    history = History(
        _recorded(Role.GENERATE, text, out, "gpt-4o")
        + _recorded(Role.CRITIQUE, text + out, critique, "deepseek-chat")
        + _recorded(Role.REVISE, text + out + critique, answers[Role.REVISE], "gpt-4o")
        + _recorded(Role.EVALUATE, text + out, answers[Role.EVALUATE], "claude-opus-4-6"),
        [
            TaskRun(task_type=t.type, iterations=1 if iterations == "fewest" else most)
            for _ in range(MIN_SAMPLES)
        ],
    )
    cost = forecast([t], history).total.expected
    cold = forecast([t]).total
    assert forecast([t]).basis == "no history: priors"
    assert cold.low <= cost <= cold.high, (cold, cost)
