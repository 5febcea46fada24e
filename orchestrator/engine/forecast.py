"""What a plan will cost before it runs: a low / expected / high range per task and per job.

A pure function of the plan's tasks, the models they are routed to, the catalog's prices
(`Pricing`, the one the ledger charges with) and the sizes of calls recorded in past jobs: no
LLM call, no I/O. The task loop (engine/loop.py) makes one generation, then per iteration a
critique, a revision and two evaluations; so a task's cost is

    generate + iterations × (critique + revise + 2 × evaluate)

with each call priced at its model's price for its input and answer sizes. Prompts are known,
so input sizes are computed (about four characters a token, with the candidate output and the
dependencies' outputs the prompts carry); answer sizes and iteration counts come from the
recorded history per role, task type and model, or from priors when there is none yet.

The band: low = every answer at the 10th percentile of its history and a single iteration;
high = the 90th percentile, every iteration the type allows and one evaluation retried per
iteration; expected = the means.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from orchestrator.config import Catalog
from orchestrator.domain import CallSize, Role, TaskRun, TaskState, TaskType
from orchestrator.engine.calls_api import CallSpec
from orchestrator.engine.loop import ROLE_MAX_TOKENS
from orchestrator.engine.prompts import DEPENDENCY_CHARS
from orchestrator.engine.routing import Router
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
# Answer sizes (tokens) before any history: a generation or revision is the deliverable, a
# critique a list of defects, an evaluation a score with a few lines of reasons.
PRIOR_ANSWER: dict[Role, int] = {
    Role.GENERATE: 1200,
    Role.REVISE: 1200,
    Role.CRITIQUE: 500,
    Role.EVALUATE: 150,
}
PRIOR_CODE_ANSWER = 1800  # code_generation writes whole modules
# The band of a prior answer size: from 0.35× to 2.5× the prior.
PRIOR_LOW, PRIOR_HIGH = 0.35, 2.5
TASK_ROLES = (Role.GENERATE, Role.CRITIQUE, Role.REVISE, Role.EVALUATE)


class Estimate(BaseModel):
    """A cost range in USD."""

    low: float
    expected: float
    high: float

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            low=self.low + other.low,
            expected=self.expected + other.expected,
            high=self.high + other.high,
        )


ZERO = Estimate(low=0.0, expected=0.0, high=0.0)


class TaskForecast(BaseModel):
    task_id: str
    model: str | None  # the generator (None: no configured model can answer the type)
    critic: str | None
    evaluators: list[str]
    iterations: Estimate  # low / expected / high iteration counts
    cost: Estimate
    basis: str  # what the numbers rest on


class Forecast(BaseModel):
    tasks: list[TaskForecast]
    total: Estimate
    recorded_calls: int  # answered calls of past jobs the answer sizes come from
    basis: str


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
        low=float(ordered[int(0.1 * (n - 1))]),
        mean=statistics.fmean(ordered),
        high=float(ordered[round(0.9 * (n - 1))]),
        samples=n,
    )


class History:
    """Answer sizes and iteration counts of past jobs, grouped for look-up."""

    def __init__(self, calls: Iterable[CallSize] = (), runs: Iterable[TaskRun] = ()) -> None:
        exact: dict[tuple[Role, TaskType, str], list[int]] = defaultdict(list)
        by_type: dict[tuple[Role, TaskType], list[int]] = defaultdict(list)
        by_role: dict[Role, list[int]] = defaultdict(list)
        self.calls = 0
        for c in calls:
            exact[(c.role, c.task_type, c.model)].append(c.output_tokens)
            by_type[(c.role, c.task_type)].append(c.output_tokens)
            by_role[c.role].append(c.output_tokens)
            self.calls += 1
        self._exact, self._by_type, self._by_role = exact, by_type, by_role
        iterations: dict[TaskType, list[int]] = defaultdict(list)
        for r in runs:
            if r.iterations > 0:
                iterations[r.task_type].append(r.iterations)
        self._iterations = iterations

    def answer(self, role: Role, task_type: TaskType, model: str | None) -> _Sizes:
        """Answer sizes of `role` for `task_type` by `model`, from the narrowest group with
        enough samples: that model, any model for the type, any for the role; else the prior."""
        for group in (
            self._exact.get((role, task_type, model or "")),
            self._by_type.get((role, task_type)),
            self._by_role.get(role),
        ):
            if group and len(group) >= MIN_SAMPLES:
                return _quantiles(group)
        prior = PRIOR_ANSWER[role]
        if task_type is TaskType.CODE_GENERATION and role in (Role.GENERATE, Role.REVISE):
            prior = PRIOR_CODE_ANSWER
        return _Sizes(low=prior * PRIOR_LOW, mean=prior, high=prior * PRIOR_HIGH, samples=0)

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
        generator = task.pinned_model or _first(router, usable, Role.GENERATE, task_type=task.type)
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
        sizes = {
            role: history.answer(role, task.type, _model_of(role, route)) for role in TASK_ROLES
        }
        answers[task.task_id] = sizes[Role.REVISE]
        lo_it, mean_it, hi_it, known_it = history.iterations(task.type, policy.max_iterations)
        prompt = SYSTEM_TOKENS + len(task.prompt) / CHARS_PER_TOKEN
        cost = Estimate(
            low=_task_cost(pricing, route, prompt, deps_tokens.low, sizes, "low", lo_it, 0),
            expected=_task_cost(
                pricing, route, prompt, deps_tokens.mean, sizes, "mean", mean_it, 0
            ),
            high=_task_cost(pricing, route, prompt, deps_tokens.high, sizes, "high", hi_it, 1),
        )
        samples = sum(s.samples for s in sizes.values())
        recorded += samples
        forecasts.append(
            TaskForecast(
                task_id=task.task_id,
                model=route.generator,
                critic=route.critic,
                evaluators=list(route.evaluators),
                iterations=Estimate(low=lo_it, expected=round(mean_it, 2), high=hi_it),
                cost=_rounded(cost),
                basis=_basis(samples, known_it),
            )
        )
    total = sum((f.cost for f in forecasts), ZERO)
    basis = f"from {history.calls} recorded calls" if recorded else "no history: priors"
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


def _task_cost(
    pricing: Pricing,
    route: Route,
    prompt: float,
    deps: float,
    sizes: Mapping[Role, _Sizes],
    point: str,
    iterations: float,
    eval_retries: int,
) -> float:
    def size(role: Role) -> float:
        answer = getattr(sizes[role], point)
        cap = ROLE_MAX_TOKENS.get(role)
        return float(min(answer, cap) if cap else answer)

    def price(model: str | None, input_tokens: float, output_tokens: float) -> float:
        if model is None:
            return 0.0
        return float(pricing.cost(model, round(input_tokens), round(output_tokens)))

    out = size(Role.GENERATE)
    critique = size(Role.CRITIQUE)
    evaluators: list[str | None] = [*route.evaluators] or [None]
    per_eval = [price(m, prompt + out, size(Role.EVALUATE)) for m in evaluators]
    # Two evaluations per iteration (the second by another provider when there is one).
    evaluations = per_eval[0] + per_eval[-1] + eval_retries * max(per_eval)
    iteration = (
        price(route.critic, prompt + out, critique)
        + price(route.generator, prompt + out + critique, size(Role.REVISE))
        + evaluations
    )
    return price(route.generator, prompt + deps, out) + iterations * iteration


def _rounded(e: Estimate) -> Estimate:
    return Estimate(low=round(e.low, 6), expected=round(e.expected, 6), high=round(e.high, 6))


def _basis(samples: int, known_iterations: bool) -> str:
    if samples and known_iterations:
        return f"from {samples} recorded calls"
    if samples:
        return f"answer sizes from {samples} recorded calls; iterations: priors"
    if known_iterations:
        return "iterations from history; answer sizes: priors"
    return "no history: priors"
