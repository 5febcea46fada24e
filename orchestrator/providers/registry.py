"""Which client answers which model: built once at start-up from settings and catalog."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.config import Catalog, Settings
from orchestrator.errors import ModelNotFound
from orchestrator.providers.base import LLMClient
from orchestrator.providers.simulator import SimulatedClient

__all__ = ["ClientSet", "build_clients"]


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


def build_clients(settings: Settings, catalog: Catalog) -> ClientSet:
    """The clients for this process.

    Real providers (pydantic-ai adapters, chosen by which API keys are set) will go first in
    the list; the simulator goes last and serves whatever they do not. Until the adapters
    exist, the simulator serves every catalog model.
    """
    clients: list[LLMClient] = [
        SimulatedClient(
            catalog,
            seed=settings.sim_seed,
            latency_scale=settings.sim_latency_scale,
            faults=settings.sim_faults,
            billing_log=settings.sim_billing_log,
        )
    ]
    return ClientSet(clients, catalog)
