"""Per-model telemetry from the recorded calls (the runtime's health book) and prices."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import RuntimeDep
from orchestrator.api.schemas import ModelStatsPublic
from orchestrator.errors import ModelNotFound
from orchestrator.providers.retirement import Retirements
from orchestrator.runtime import Runtime

router = APIRouter(prefix="/api/models", tags=["models"])


def model_stats(runtime: Runtime, model: str, retirements: Retirements) -> ModelStatsPublic:
    deps = runtime.deps
    retirement = retirements.of(model)
    info = deps.catalog.models.get(model)
    stats = deps.health.snapshot(model)
    price = deps.pricing.per_mtok(model) if info is not None else None
    try:
        simulated = deps.clients.for_model(model).simulated
    except ModelNotFound:
        simulated = False
    return ModelStatsPublic(
        model=model,
        provider=info.provider if info is not None else "unknown",
        success_rate=stats.success_rate,
        trust_factor=stats.trust_factor,
        avg_latency_ms=stats.avg_latency_ms,
        latency_p95_ms=stats.latency_p95_ms,
        avg_cost_usd=stats.avg_cost_usd,
        call_count=stats.call_count,
        failure_count=stats.failure_count,
        cost_per_1m_input=price.input_per_mtok if price else 0.0,
        cost_per_1m_output=price.output_per_mtok if price else 0.0,
        simulated=simulated,
        available=stats.available,
        lifecycle=retirement.lifecycle,
        retirement_date=retirement.retirement_date,
        replacement=retirement.replacement,
        rerouted_to=retirement.rerouted_to,
        retirement_notice=retirement.source_url,
    )


@router.get("")
async def list_models(runtime: RuntimeDep) -> list[ModelStatsPublic]:
    """Every catalog model (and any other model with recorded calls), sorted by provider.

    Telemetry covers every call recorded when this server started plus the calls it made
    since: success rate, trust factor, latency EMA and p95, average cost, counts; and whether
    its provider has retired or deprecated it (as of today, UTC), with the date and replacement."""
    names = dict.fromkeys([*runtime.deps.catalog.models, *runtime.deps.health.models()])
    retirements = Retirements(runtime.deps.catalog)
    stats = [model_stats(runtime, name, retirements) for name in names]
    return sorted(stats, key=lambda s: (s.provider, s.model))
