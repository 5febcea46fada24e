"""LLM providers: the client seam, pricing, the offline simulator and the client registry."""

from orchestrator.providers.base import LLMClient, LLMRequest, LLMResponse
from orchestrator.providers.pricing import Pricing, input_token_bound
from orchestrator.providers.registry import ClientSet, build_clients
from orchestrator.providers.simulator import SimulatedClient

__all__ = [
    "ClientSet",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "Pricing",
    "SimulatedClient",
    "build_clients",
    "input_token_bound",
]
