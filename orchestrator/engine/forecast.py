"""What a plan will cost before it runs: a low / expected / high range per task and per job.

A pure function of the plan's tasks, the models they are routed to, the catalog's prices
(`Pricing`, the one the ledger charges with) and the sizes of calls recorded in past jobs: no
LLM call, no I/O. The task loop (engine/loop.py) makes one generation, then per iteration a
critique, a revision and two evaluations; so a task's cost is

    generate + iterations × (critique + revise + 2 × evaluate)

with each call priced at its model's price for its prompt and answer sizes. Answer sizes,
prompt sizes and iteration counts come from the recorded history per role, task type and
model (a task whose own text is longer than the prompts recorded counts by its length), or,
with no history yet, from priors (prompts from their text, about four characters a token).

The band, once enough past jobs have run against a forecast: the expected cost times the
spread of past forecasts' errors (actual ÷ expected per task type and model, and for whole
jobs), as engine/calibration.py reads it. Before that, the spread of the sizes: low = every
prompt and answer the smallest recorded, the fewest iterations recorded; high = the largest
recorded, every iteration the type allows and one evaluation retried per iteration. (That
band held 71 % of warm simulated jobs' costs; the calibrated one is measured in
bench/README.md.)
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from orchestrator.config import Catalog
from orchestrator.domain import CallSize, Role, TaskRun, TaskState, TaskType
from orchestrator.engine.calibration import Band, Calibration
from orchestrator.engine.calls_api import CallSpec
from orchestrator.engine.loop import ROLE_MAX_TOKENS
from orchestrator.engine.prompts import DEPENDENCY_CHARS
from orchestrator.engine.routing import Router
from orchestrator.plan import Estimate, Forecast, ForecastOutcome, TaskForecast
from orchestrator.providers.pricing import Pricing

__all__ = [
    "Estimate",
    "Forecast",
    "History",
    "Route",
    "TaskForecast",
    "forecast_plan",
    "route_tasks",
]

CHARS_PER_TOKEN = 4.0
# The system prompt, format rules and framing each call of a task carries besides its material.
SYSTEM_TOKENS = 400
# Fewer recorded answers than this for a (role, type, model) and the wider group is used.
MIN_SAMPLES = 5
# Answer sizes (tokens) before any history: a generation or revision is one task's share of a
# plan (a section, a function or two, a review's findings: some 450 words), a critique a list
# of defects, an evaluation a score with a few lines of reasons. Generic guesses, not any
# provider's: answers run from a few lines to pages, so the band around them is wide.
PRIOR_ANSWER: dict[Role, int] = {
    Role.GENERATE: 600,
    Role.REVISE: 600,
    Role.CRITIQUE: 300,
    Role.EVALUATE: 120,
}
PRIOR_CODE_ANSWER = 900  # code_generation writes whole modules
# The band of a prior answer size: from 0.15× to 3× the prior (a 90-token answer to a
# 1,800-token one for a text task).
PRIOR_LOW, PRIOR_HIGH = 0.15, 3.0
TASK_ROLES = (Role.GENERATE, Role.CRITIQUE, Role.REVISE, Role.EVALUATE)


ZERO = Estimate(low=0.0, expected=0.0, high=0.0)


@dataclass(frozen=True)
class Route:
    """The models a task's calls go to when every model answers."""

    generator: str | None
    critic: str | None
    evaluators: tuple[str, ...]


@dataclass(frozen=True)
class _Sizes:
    low: float
    mean: float
    high: float
    samples: int  # 0: a prior


def _quantiles(values: Sequence[int]) -> _Sizes:
    ordered = sorted(values)
    n = len(ordered)
    return _Sizes(
        low=float(ordered[0]),
        mean=statistics.fmean(ordered),
        high=float(ordered[-1]),
        samples=n,
    )


class History:
    """Answer sizes and iteration counts of past jobs, grouped for look-up, and how far
    their forecasts were off (`calibration`)."""

    def __init__(
        self,
        calls: Iterable[CallSize] = (),
        runs: Iterable[TaskRun] = (),
        outcomes: Iterable[ForecastOutcome] = (),
    ) -> None:
        exact: dict[tuple[Role, TaskType, str], list[CallSize]] = defaultdict(list)
        by_type: dict[tuple[Role, TaskType], list[CallSize]] = defaultdict(list)
        by_role: dict[Role, list[CallSize]] = defaultdict(list)
        self.calls = 0
        for c in calls:
            exact[(c.role, c.task_type, c.model)].append(c)
            by_type[(c.role, c.task_type)].append(c)
            by_role[c.role].append(c)
            self.calls += 1
        self._exact, self._by_type, self._by_role = exact, by_type, by_role
        self.calibration = Calibration(outcomes, self.calls)
        iterations: dict[TaskType, list[int]] = defaultdict(list)
        for r in runs:
            if r.iterations > 0:
                iterations[r.task_type].append(r.iterations)
        self._iterations = iterations

    def answer(self, role: Role, task_type: TaskType, model: str | None) -> _Sizes:
        """Answer sizes of `role` for `task_type` by `model`, from the narrowest group with
        enough samples: that model, any model for the type, any for the role; else the prior."""
        group = self._group(role, task_type, model)
        if group:
            return _quantiles([c.output_tokens for c in group])
        prior = PRIOR_ANSWER[role]
        if task_type is TaskType.CODE_GENERATION and role in (Role.GENERATE, Role.REVISE):
            prior = PRIOR_CODE_ANSWER
        return _Sizes(low=prior * PRIOR_LOW, mean=prior, high=prior * PRIOR_HIGH, samples=0)

    def prompt(self, role: Role, task_type: TaskType, model: str | None) -> _Sizes | None:
        """Prompt sizes of `role` for `task_type` by `model` as recorded (from the same group
        as `answer`), or None without history: the prompt is then estimated from its text."""
        group = self._group(role, task_type, model)
        return _quantiles([c.input_tokens for c in group]) if group else None

    def _group(self, role: Role, task_type: TaskType, model: str | None) -> list[CallSize]:
        for group in (
            self._exact.get((role, task_type, model or "")),
            self._by_type.get((role, task_type)),
            self._by_role.get(role),
        ):
            if group and len(group) >= MIN_SAMPLES:
                return group
        return []

    def iterations(self, task_type: TaskType, most: int) -> tuple[float, float, float, bool]:
        """Low, expected and high iteration counts (at most `most`), and whether recorded."""
        runs = [min(n, most) for n in self._iterations.get(task_type, [])]
        if len(runs) >= MIN_SAMPLES:
            return float(min(runs)), statistics.fmean(runs), float(most), True
        return 1.0, (1 + most) / 2, float(most), False


def route_tasks(
    tasks: Sequence[TaskState], router: Router, catalog: Catalog, usable: Collection[str]
) -> dict[str, Route]:
    """Where each task's calls go now: its pinned model or the best routed one, a critic and
    two evaluators of other providers, as the loop asks for them (only `usable` models)."""
    routes: dict[str, Route] = {}
    for task in tasks:
        generator = (
            router.answering(task.pinned_model)  # a retired pin is answered by its stand-in
            if task.pinned_model
            else _first(router, usable, Role.GENERATE, task_type=task.type)
        )
        provider = _provider(catalog, generator)
        critic = _first(router, usable, Role.CRITIQUE, avoid=[provider])
        first = _first(router, usable, Role.EVALUATE, avoid=[provider])
        second = _first(router, usable, Role.EVALUATE, avoid=[provider, _provider(catalog, first)])
        routes[task.task_id] = Route(
            generator=generator,
            critic=critic,
            evaluators=tuple(m for m in (first, second) if m is not None),
        )
    return routes


def _provider(catalog: Catalog, model: str | None) -> str:
    info = catalog.models.get(model or "")
    return info.provider if info is not None else ""


def _spec(role: Role, task_type: TaskType | None = None, avoid: Sequence[str] = ()) -> CallSpec:
    return CallSpec(
        role=role,
        task_type=task_type,
        system="",
        prompt="",
        avoid_providers=[p for p in avoid if p],
    )


def _first(
    router: Router,
    usable: Collection[str],
    role: Role,
    *,
    task_type: TaskType | None = None,
    avoid: Sequence[str] = (),
) -> str | None:
    # As the executor asks: models no client serves are excluded before providers are avoided.
    unusable = [m.name for m in router.preferred(_spec(role, task_type)) if m.name not in usable]
    found = router.candidates(_spec(role, task_type, avoid), exclude=unusable)
    return found[0].name if found else None


def forecast_plan(
    tasks: Sequence[TaskState],
    *,
    routes: Mapping[str, Route],
    catalog: Catalog,
    pricing: Pricing,
    history: History,
) -> Forecast:
    """The cost range of running `tasks` (a job's plan) from scratch."""
    answers: dict[str, _Sizes] = {}
    forecasts: list[TaskForecast] = []
    recorded = 0
    for task in tasks:
        route = routes.get(task.task_id, Route(None, None, ()))
        policy = catalog.policy(task.type)
        deps_tokens = _Sizes(
            low=0,
            mean=sum(_capped(answers[d].mean) for d in task.dependencies if d in answers),
            high=sum(_capped(answers[d].high) for d in task.dependencies if d in answers),
            samples=0,
        )
        models = {role: _model_of(role, route) for role in TASK_ROLES}
        calls = _TaskCalls(
            route=route,
            text=len(task.prompt) / CHARS_PER_TOKEN,
            answers={r: history.answer(r, task.type, m) for r, m in models.items()},
            prompts={r: history.prompt(r, task.type, m) for r, m in models.items()},
        )
        sizes = calls.answers
        answers[task.task_id] = sizes[Role.REVISE]
        lo_it, mean_it, hi_it, known_it = history.iterations(task.type, policy.max_iterations)
        expected = calls.cost(pricing, "mean", deps_tokens.mean, mean_it, 0)
        samples = sum(s.samples for s in sizes.values())
        recorded += samples
        # Errors of past forecasts from history say nothing of one from priors.
        band = history.calibration.task(task.type, route.generator) if samples else None
        if band is not None:
            cost = _scaled(expected, band)
        else:
            cost = Estimate(
                low=calls.cost(pricing, "low", deps_tokens.low, lo_it, 0),
                expected=expected,
                high=calls.cost(pricing, "high", deps_tokens.high, hi_it, 1),
            )
        forecasts.append(
            TaskForecast(
                task_id=task.task_id,
                model=route.generator,
                critic=route.critic,
                evaluators=list(route.evaluators),
                iterations=Estimate(low=lo_it, expected=round(mean_it, 2), high=hi_it),
                cost=_rounded(cost),
                basis=_basis(samples, known_it, band),
            )
        )
    total = sum((f.cost for f in forecasts), ZERO)
    basis = f"from {history.calls} recorded calls" if recorded else "no history: priors"
    # A job's tasks are not all off in the same direction: its own past ratios, when there
    # are enough, give a narrower band than the sum of its tasks' bands.
    job_band = history.calibration.job() if recorded else None
    if job_band is not None:
        total = _scaled(total.expected, job_band)
        basis += f", band from {job_band.outcomes} past jobs' forecast errors"
    return Forecast(
        tasks=forecasts, total=_rounded(total), recorded_calls=history.calls, basis=basis
    )


def _model_of(role: Role, route: Route) -> str | None:
    if role is Role.CRITIQUE:
        return route.critic
    if role is Role.EVALUATE:
        return route.evaluators[0] if route.evaluators else None
    return route.generator


def _capped(tokens: float) -> float:
    """A dependency's output as a dependent's prompt carries it (cut to DEPENDENCY_CHARS)."""
    return min(tokens, DEPENDENCY_CHARS / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class _TaskCalls:
    """What one task's calls are made of: their models, the task's own text (tokens), and
    per role the answer sizes and, when recorded, the prompt sizes."""

    route: Route
    text: float
    answers: Mapping[Role, _Sizes]
    prompts: Mapping[Role, _Sizes | None]

    def cost(
        self, pricing: Pricing, point: str, deps: float, iterations: float, eval_retries: int
    ) -> float:
        """The task's cost with every size at `point` (low / mean / high)."""

        def answer(role: Role) -> float:
            size = float(getattr(self.answers[role], point))
            cap = ROLE_MAX_TOKENS.get(role)
            return min(size, cap) if cap else size

        def prompt(role: Role, material: float) -> float:
            # Recorded prompts carry the system text and typical material; a task whose own
            # text and material are longer than that is counted by its own length.
            own = self.text + material
            recorded = self.prompts[role]
            if recorded is None:
                return SYSTEM_TOKENS + own
            return max(float(getattr(recorded, point)), own)

        route = self.route
        out, critique = answer(Role.GENERATE), answer(Role.CRITIQUE)
        evaluators: list[str | None] = [*route.evaluators] or [None]
        per_eval = [
            _price(pricing, m, prompt(Role.EVALUATE, out), answer(Role.EVALUATE))
            for m in evaluators
        ]
        # Two evaluations per iteration (the second by another provider when there is one).
        evaluations = per_eval[0] + per_eval[-1] + eval_retries * max(per_eval)
        iteration = (
            _price(pricing, route.critic, prompt(Role.CRITIQUE, out), critique)
            + _price(
                pricing, route.generator, prompt(Role.REVISE, out + critique), answer(Role.REVISE)
            )
            + evaluations
        )
        first = _price(pricing, route.generator, prompt(Role.GENERATE, deps), out)
        return first + iterations * iteration


def _price(pricing: Pricing, model: str | None, input_tokens: float, output_tokens: float) -> float:
    if model is None:
        return 0.0
    return float(pricing.cost(model, round(input_tokens), round(output_tokens)))


def _scaled(expected: float, band: Band) -> Estimate:
    """The band `band` around `expected`, never excluding expected itself."""
    return Estimate(
        low=expected * min(band.low, 1.0), expected=expected, high=expected * max(band.high, 1.0)
    )


def _rounded(e: Estimate) -> Estimate:
    return Estimate(low=round(e.low, 6), expected=round(e.expected, 6), high=round(e.high, 6))


def _basis(samples: int, known_iterations: bool, band: Band | None = None) -> str:
    if band is not None:
        return f"from {samples} recorded calls; band from {band.outcomes} past forecast errors"
    if samples and known_iterations:
        return f"from {samples} recorded calls"
    if samples:
        return f"answer sizes from {samples} recorded calls; iterations: priors"
    if known_iterations:
        return "iterations from history; answer sizes: priors"
    return "no history: priors"
