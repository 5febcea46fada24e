"""Moonshot AI (Kimi) through pydantic-ai (its OpenAI-compatible Chat Completions API).

Configured by MOONSHOT_API_KEY (or MOONSHOTAI_API_KEY); ORCH_MOONSHOT_BASE_URL points it
elsewhere, e.g. https://api.moonshot.cn/v1 for the China endpoint, or a test server.
"""

from __future__ import annotations

from orchestrator.config import Settings
from orchestrator.providers._pydantic_ai import Vendor, secret_value

__all__ = ["moonshot_vendor"]


def moonshot_vendor(settings: Settings) -> Vendor | None:
    key = secret_value(settings.moonshot_api_key)
    if key is None:
        return None
    # Imported only when configured: each provider's SDK takes seconds to import.
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.moonshotai import MoonshotAIProvider

    provider = MoonshotAIProvider(api_key=key, base_url=settings.moonshot_base_url)
    return Vendor(
        name="moonshot",
        make_model=lambda model: OpenAIChatModel(model, provider=provider),
        configured_by="MOONSHOT_API_KEY",
        secrets=(settings.moonshot_api_key,),
    )
