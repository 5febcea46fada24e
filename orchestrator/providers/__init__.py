"""LLM providers: the client seam, pricing, the offline simulator, the pydantic-ai adapters
(one module per vendor) and the client registry."""

from orchestrator.providers._pydantic_ai import PydanticAIClient, Vendor
from orchestrator.providers.base import LLMClient, LLMRequest, LLMResponse
from orchestrator.providers.pricing import Pricing, input_token_bound, structured_output_bound
from orchestrator.providers.probe import ProbeResult, probe
from orchestrator.providers.registry import ClientSet, build_clients, configured_vendors
from orchestrator.providers.simulator import SimulatedClient

__all__ = [
    "ClientSet",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "Pricing",
    "ProbeResult",
    "PydanticAIClient",
    "SimulatedClient",
    "Vendor",
    "build_clients",
    "configured_vendors",
    "input_token_bound",
    "probe",
    "structured_output_bound",
]
