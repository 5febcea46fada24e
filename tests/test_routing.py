"""Routing and model health: ranking, breaker, trust, telemetry, provider interleaving."""

from __future__ import annotations

from typing import NoReturn

import pytest

from orchestrator.config import DEFAULT_CATALOG, Catalog, ModelInfo, load_catalog
from orchestrator.domain import CallOutcome, CallRecord, Role, TaskType
from orchestrator.engine.calls_api import CallSpec
from orchestrator.engine.health import BreakerState, HealthBook
from orchestrator.engine.routing import Router, interleave_providers
from orchestrator.providers.pricing import Pricing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def no_genai_price(info: ModelInfo) -> NoReturn:
    raise LookupError("test catalog: explicit prices only")


def make_catalog(models: dict[str, tuple[str, float, float]]) -> Catalog:
    """models: name -> (provider, quality, USD per 1M tokens for input and output alike)."""
    names = list(models)
    return Catalog.model_validate(
        {
            "models": {
                name: {
                    "provider": provider,
                    "quality": quality,
                    "price": {"input_per_mtok": price, "output_per_mtok": price},
                }
                for name, (provider, quality, price) in models.items()
            },
            "task_types": {
                t.value: {"threshold": 0.8, "max_iterations": 2, "models": names} for t in TaskType
            },
            "roles": {r.value: names for r in (Role.DECOMPOSE, Role.CRITIQUE, Role.EVALUATE)},
        }
    )


def make_router(catalog: Catalog, health: HealthBook | None = None) -> Router:
    if all(m.price for m in catalog.models.values()):
        pricing = Pricing(catalog, lookup=no_genai_price)
    else:
        pricing = Pricing(catalog)  # the real catalog: genai-prices
    return Router(catalog, pricing, health or HealthBook(Clock()))


def spec(role: Role = Role.GENERATE, **kw: object) -> CallSpec:
    return CallSpec(role=role, system="s", prompt="p", **kw)  # type: ignore[arg-type]


def names(models: list[ModelInfo]) -> list[str]:
    return [m.name for m in models]


def test_a_cheaper_model_of_equal_quality_wins() -> None:
    catalog = make_catalog({"dear": ("a", 0.9, 10.0), "cheap": ("b", 0.9, 1.0)})
    assert names(make_router(catalog).candidates(spec(prefer=["dear", "cheap"]))) == [
        "cheap",
        "dear",
    ]


def test_a_strong_model_beats_a_tiny_cheap_weak_one() -> None:
    catalog = make_catalog({"strong": ("a", 0.97, 20.0), "tiny": ("b", 0.80, 0.4)})
    assert names(make_router(catalog).candidates(spec()))[0] == "strong"


def test_equal_scores_keep_the_preference_order() -> None:
    catalog = make_catalog({"x": ("a", 0.9, 1.0), "y": ("b", 0.9, 1.0)})
    router = make_router(catalog)
    assert names(router.candidates(spec(prefer=["y", "x"]))) == ["y", "x"]
    assert names(router.candidates(spec(prefer=["x", "y"]))) == ["x", "y"]


def test_a_failing_model_sinks() -> None:
    catalog = make_catalog({"cheap": ("a", 0.9, 1.0), "dear": ("b", 0.9, 2.0)})
    health = HealthBook(Clock())
    router = make_router(catalog, health)
    assert names(router.candidates(spec()))[0] == "cheap"
    for _ in range(5):  # never 3 in a row: the breaker stays closed, only trust decays
        health.record("cheap", ok=False, latency_ms=5, cost=0)
        health.record("cheap", ok=False, latency_ms=5, cost=0)
        health.record("cheap", ok=True, latency_ms=5, cost=0)
    assert health.state("cheap") is BreakerState.CLOSED
    assert names(router.candidates(spec())) == ["dear", "cheap"]


def test_an_open_breaker_is_skipped_until_its_cool_down_ends() -> None:
    catalog = make_catalog({"m1": ("a", 0.95, 1.0), "m2": ("b", 0.9, 1.0)})
    clock = Clock()
    health = HealthBook(clock, cooldown_s=30)
    router = make_router(catalog, health)
    for _ in range(3):
        health.record("m1", ok=False, latency_ms=1, cost=0)
    assert names(router.candidates(spec())) == ["m2"]
    clock.now += 30
    assert "m1" in names(router.candidates(spec()))  # half-open: a probe may go


def test_a_critic_avoids_the_generators_provider_when_another_exists() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)
    router = make_router(catalog)
    for provider in {m.provider for m in catalog.models.values()}:
        critics = router.candidates(spec(Role.CRITIQUE, avoid_providers=[provider]))
        assert critics
        assert all(m.provider != provider for m in critics)
    only_google = spec(Role.CRITIQUE, prefer=["gemini-3.5-flash-lite"], avoid_providers=["google"])
    assert names(router.candidates(only_google)) == ["gemini-3.5-flash-lite"]  # better than none


def test_an_avoided_provider_answers_when_every_other_is_down() -> None:
    catalog = make_catalog({"g": ("google", 0.9, 1.0), "o": ("openai", 0.9, 1.0)})
    health = HealthBook(Clock())
    for _ in range(3):
        health.record("o", ok=False, latency_ms=1, cost=0)
    router = make_router(catalog, health)
    assert names(router.candidates(spec(Role.CRITIQUE, avoid_providers=["google"]))) == ["g"]


def test_preference_sources() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)
    router = make_router(catalog)
    gen = router.preferred(spec(Role.GENERATE, task_type=TaskType.SUMMARIZATION))
    assert names(gen) == catalog.policy(TaskType.SUMMARIZATION).models
    assert names(router.preferred(spec(Role.EVALUATE))) == catalog.roles[Role.EVALUATE]
    chosen = router.preferred(spec(prefer=["gpt-4o", "no-such-model", "gpt-4o"]))
    assert names(chosen) == ["gpt-4o"]


def test_excluded_and_unavailable_models_are_left_out() -> None:
    catalog = make_catalog({"m1": ("a", 0.9, 1.0), "m2": ("b", 0.9, 1.0), "m3": ("c", 0.9, 1.0)})
    health = HealthBook(Clock())
    health.mark_unavailable("m2", "401 bad key")
    router = make_router(catalog, health)
    assert names(router.candidates(spec(), exclude={"m1"})) == ["m3"]
    assert health.models() == []  # queries add no model to the book
    assert health.snapshot("m2").unavailable_reason == "401 bad key"


def test_fallbacks_change_provider() -> None:
    models = [ModelInfo(name=n, provider=n[0]) for n in ["a1", "a2", "b1", "c1", "a3", "a4"]]
    assert names(interleave_providers(models)) == ["a1", "b1", "a2", "c1", "a3", "a4"]
    catalog = make_catalog({"a1": ("a", 0.95, 1.0), "a2": ("a", 0.94, 1.0), "b1": ("b", 0.9, 1.0)})
    assert names(make_router(catalog).candidates(spec())) == ["a1", "b1", "a2"]
    catalog = load_catalog(DEFAULT_CATALOG)
    router = make_router(catalog)
    for task_type in TaskType:
        ranked = router.candidates(spec(task_type=task_type))
        providers = [m.provider for m in ranked]
        assert len(ranked) == len(set(catalog.policy(task_type).models))
        assert providers[0] != providers[1]


# -- health ---------------------------------------------------------------------------------


def test_breaker_half_open_allows_one_probe_then_closes_or_reopens() -> None:
    clock = Clock()
    health = HealthBook(clock, cooldown_s=30)
    health.record("m", ok=False, latency_ms=1, cost=0)
    health.record("m", ok=False, latency_ms=1, cost=0)
    assert health.acquire("m")  # two failures: still closed
    health.record("m", ok=False, latency_ms=1, cost=0)
    assert health.state("m") is BreakerState.OPEN
    assert not health.acquire("m")
    clock.now += 30
    assert health.state("m") is BreakerState.HALF_OPEN
    assert health.acquire("m")  # the probe
    assert not health.acquire("m")  # only one
    health.record("m", ok=False, latency_ms=1, cost=0)
    assert health.state("m") is BreakerState.OPEN  # failed probe: another cool-down
    clock.now += 29
    assert not health.available("m")
    clock.now += 1
    assert health.acquire("m")
    health.record("m", ok=True, latency_ms=1, cost=0)
    assert health.state("m") is BreakerState.CLOSED
    assert health.acquire("m") and health.acquire("m")


def test_a_lost_probe_stops_blocking_after_another_cool_down() -> None:
    clock = Clock()
    health = HealthBook(clock, cooldown_s=30)
    for _ in range(3):
        health.record("m", ok=False, latency_ms=1, cost=0)
    clock.now += 30
    assert health.acquire("m")  # its caller never reports (cancelled)
    clock.now += 29
    assert not health.acquire("m")
    clock.now += 1
    assert health.acquire("m")


def test_trust_factor_bounds() -> None:
    health = HealthBook(Clock())
    health.record("m", ok=True, latency_ms=1, cost=0)
    assert health.trust("m") == 1.0
    health.record("m", ok=False, latency_ms=1, cost=0)
    assert health.trust("m") == pytest.approx(0.95)
    health.record("m", ok=True, latency_ms=1, cost=0)
    assert health.trust("m") == pytest.approx(0.95 * 1.001)
    for _ in range(200):
        health.record("m", ok=False, latency_ms=1, cost=0)
    assert health.trust("m") == pytest.approx(0.05)


def test_latency_and_success_telemetry() -> None:
    health = HealthBook(Clock())
    health.record("m", ok=True, latency_ms=100, cost=0.01)
    health.record("m", ok=True, latency_ms=200, cost=0.03)
    health.record("m", ok=False, latency_ms=9999, cost=0)  # failures do not count as latency
    stats = health.snapshot("m")
    assert stats.avg_latency_ms == pytest.approx(100 + 0.2 * 100)
    assert stats.latency_p95_ms == 200
    assert stats.success_rate == pytest.approx(2 / 3)
    assert (stats.call_count, stats.failure_count) == (3, 1)
    assert stats.total_cost_usd == pytest.approx(0.04)
    assert stats.avg_cost_usd == pytest.approx(0.04 / 3)
    for i in range(1, 101):  # only the last 50 count
        health.record("w", ok=i > 50, latency_ms=float(i), cost=0)
    stats = health.snapshot("w")
    assert stats.success_rate == 1.0
    assert stats.latency_p95_ms == 98  # nearest rank: the 48th of 51..100


def test_seed_from_rebuilds_telemetry_but_not_the_breaker() -> None:
    def rec(at: float, outcome: CallOutcome, latency: float) -> CallRecord:
        return CallRecord(
            job_id="j", role=Role.GENERATE, model="m", provider="a", request_hash="h",
            outcome=outcome, latency_ms=latency, cost_usd=0.5, created_at=at,
        )  # fmt: skip

    records = [rec(3, CallOutcome.ERROR, 0)] * 3 + [rec(1, CallOutcome.OK, 40)]
    live = HealthBook(Clock())
    for r in sorted(records, key=lambda r: r.created_at):
        live.record(r.model, ok=r.outcome is CallOutcome.OK, latency_ms=r.latency_ms, cost=0.5)
    seeded = HealthBook(Clock())
    seeded.seed_from(records)
    got, want = seeded.snapshot("m"), live.snapshot("m")
    assert got.trust_factor == want.trust_factor == pytest.approx(0.95**3)
    assert (got.call_count, got.failure_count, got.total_cost_usd) == (4, 3, 2.0)
    assert got.avg_latency_ms == want.avg_latency_ms == 40
    assert want.breaker is BreakerState.OPEN
    assert got.breaker is BreakerState.CLOSED
