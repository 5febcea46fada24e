"""Anthropic (Claude) through pydantic-ai's Messages API model.

Configured by ANTHROPIC_API_KEY; ORCH_ANTHROPIC_BASE_URL points it at a proxy or a test server.
"""

from __future__ import annotations

from orchestrator.config import Settings
from orchestrator.providers._pydantic_ai import Vendor, secret_value

__all__ = ["anthropic_vendor"]


def anthropic_vendor(settings: Settings) -> Vendor | None:
    key = secret_value(settings.anthropic_api_key)
    if key is None:
        return None
    # Imported only when configured: each provider's SDK takes seconds to import.
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    provider = AnthropicProvider(api_key=key, base_url=settings.anthropic_base_url)
    return Vendor(
        name="anthropic",
        make_model=lambda model: AnthropicModel(model, provider=provider),
        configured_by="ANTHROPIC_API_KEY",
        secrets=(settings.anthropic_api_key,),
    )
