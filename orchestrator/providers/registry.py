"""Which client answers which model: built once at start-up from settings and catalog."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrator.config import Catalog, Settings
from orchestrator.errors import ModelNotFound
from orchestrator.providers._pydantic_ai import PydanticAIClient, Vendor
from orchestrator.providers.anthropic import anthropic_vendor
from orchestrator.providers.base import LLMClient
from orchestrator.providers.deepseek import deepseek_vendor
from orchestrator.providers.gemini import gemini_vendor
from orchestrator.providers.moonshot import moonshot_vendor
from orchestrator.providers.openai import openai_vendor
from orchestrator.providers.openai_compat import openai_compat_vendor
from orchestrator.providers.openrouter import openrouter_vendor
from orchestrator.providers.simulator import SimulatedClient

__all__ = ["VENDORS", "ClientSet", "build_clients", "configured_vendors"]

# Every real provider, in the order their clients are asked. Each returns None when its
# settings (API key, or base URL for the OpenAI-compatible one) are not set.
VENDORS: tuple[Callable[[Settings], Vendor | None], ...] = (
    anthropic_vendor,
    openai_vendor,
    gemini_vendor,
    deepseek_vendor,
    moonshot_vendor,
    openrouter_vendor,
    openai_compat_vendor,
)


class ClientSet:
    """The configured clients, asked in order: the first that serves a model answers it."""

    def __init__(self, clients: Sequence[LLMClient], catalog: Catalog) -> None:
        self._clients = tuple(clients)
        self._catalog = catalog
        self._by_model: dict[str, LLMClient] = {}
        for model in catalog.models:
            client = next((c for c in self._clients if c.serves(model)), None)
            if client is not None:
                self._by_model[model] = client

    @property
    def clients(self) -> tuple[LLMClient, ...]:
        return self._clients

    @property
    def simulated(self) -> bool:
        """True when the simulator answers at least one model (label the job simulated)."""
        return any(c.simulated for c in self._by_model.values())

    def serves(self, model: str) -> bool:
        """Whether some configured client answers `model`."""
        return model in self._by_model or any(c.serves(model) for c in self._clients)

    def for_model(self, model: str) -> LLMClient:
        client = self._by_model.get(model)
        if client is None:
            # A model outside the catalog may still be served (e.g. an ad hoc endpoint).
            client = next((c for c in self._clients if c.serves(model)), None)
        if client is None:
            raise ModelNotFound(f"no configured client serves model {model!r}", model=model)
        return client

    def available_models(self) -> list[str]:
        """Catalog models some client serves, in catalog order."""
        return [m for m in self._catalog.models if m in self._by_model]


def configured_vendors(settings: Settings) -> list[Vendor]:
    """The real providers whose settings are present, in `VENDORS` order."""
    return [vendor for make in VENDORS if (vendor := make(settings)) is not None]


def build_clients(settings: Settings, catalog: Catalog) -> ClientSet:
    """The clients for this process.

    One pydantic-ai client per configured provider; a catalog model is available only when
    its provider is configured. With no provider configured at all, the offline simulator
    answers every catalog model instead, and `ClientSet.simulated` says so.
    """
    clients: list[LLMClient] = [
        PydanticAIClient(vendor, catalog, timeout_s=settings.call_timeout_s)
        for vendor in configured_vendors(settings)
    ]
    if not clients:
        clients.append(
            SimulatedClient(
                catalog,
                seed=settings.sim_seed,
                latency_scale=settings.sim_latency_scale,
                faults=settings.sim_faults,
                billing_log=settings.sim_billing_log,
            )
        )
    return ClientSet(clients, catalog)
