"""`probe`: one tiny real call per configured provider, to tell what works before a job runs.

Each probe asks the provider's cheapest catalog model for a one-field structured answer, so it
exercises what jobs need: the key, the model name, and structured output (for an
OpenAI-compatible endpoint in `auto`, the probe is where its mode is found and shown).
Nothing is recorded: a probe is not part of any job and does not move model statistics.
"""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel

from orchestrator.config import Catalog
from orchestrator.domain import Role
from orchestrator.errors import ProviderError
from orchestrator.providers.base import LLMClient, LLMRequest
from orchestrator.providers.pricing import Pricing

__all__ = ["PROBE_SCHEMA", "ProbeResult", "probe"]

PROBE_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
}
# Room for a model that thinks before it answers (Gemini 2.5 does by default): a few hundred
# tokens cost well under a tenth of a cent on every catalog model.
PROBE_MAX_TOKENS = 256


class ProbeResult(BaseModel):
    provider: str
    model: str
    ok: bool
    error_type: str = ""  # the orchestrator.errors class name when it failed
    detail: str = ""
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    output_mode: str = ""  # how structured output was asked for, when the endpoint chooses


def cheapest_model(client: LLMClient, catalog: Catalog, pricing: Pricing) -> str | None:
    """The catalog model `client` serves with the lowest blended price (3 output : 1 input)."""
    served = [name for name in catalog.models if client.serves(name)]

    def blended(name: str) -> float:
        price = pricing.per_mtok(name)
        return price.input_per_mtok + 3 * price.output_per_mtok

    return min(served, key=blended, default=None)


async def probe(
    clients: tuple[LLMClient, ...], catalog: Catalog, pricing: Pricing, *, timeout_s: float
) -> list[ProbeResult]:
    """Probe every real client at once (the simulator is skipped); one result per client."""
    real = [c for c in clients if not c.simulated]
    return list(await asyncio.gather(*(_probe_one(c, catalog, pricing, timeout_s) for c in real)))


async def _probe_one(
    client: LLMClient, catalog: Catalog, pricing: Pricing, timeout_s: float
) -> ProbeResult:
    model = cheapest_model(client, catalog, pricing)
    if model is None:
        detail = f"no catalog model has provider {client.name!r}: add one to the catalog"
        return ProbeResult(provider=client.name, model="-", ok=False, detail=detail)
    request = LLMRequest(
        model=model,
        role=Role.EVALUATE,
        system="You are a health check. Answer with ok set to true.",
        prompt="Are you there?",
        max_tokens=min(PROBE_MAX_TOKENS, catalog.models[model].max_output_tokens),
        json_schema=PROBE_SCHEMA,
        schema_name="probe",
    )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            response = await client.complete(request)
    except TimeoutError:
        detail = f"no answer within {timeout_s:g}s"
        return _failed(client.name, model, "ProviderTimeout", detail, started)
    except ProviderError as e:
        return _failed(client.name, model, type(e).__name__, str(e), started)
    cost = pricing.cost(model, response.input_tokens, response.output_tokens)
    return ProbeResult(
        provider=client.name,
        model=model,
        ok=True,
        detail=response.text[:200],
        latency_ms=response.latency_ms,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cost_usd=float(cost),
        output_mode=response.output_mode,
    )


def _failed(provider: str, model: str, error_type: str, detail: str, started: float) -> ProbeResult:
    latency_ms = (time.perf_counter() - started) * 1000
    return ProbeResult(
        provider=provider,
        model=model,
        ok=False,
        error_type=error_type,
        detail=detail,
        latency_ms=round(latency_ms, 3),
    )
