"""OpenRouter through pydantic-ai's OpenRouter model (Chat Completions plus its extensions).

Configured by OPENROUTER_API_KEY. Catalog models of provider `openrouter` are named the way
OpenRouter names them (`vendor/model`, e.g. `meta-llama/llama-3.3-70b-instruct`).
ORCH_OPENROUTER_BASE_URL points it at a proxy or a test server.
"""

from __future__ import annotations

from orchestrator.config import Settings
from orchestrator.providers._pydantic_ai import Vendor, secret_value

__all__ = ["openrouter_vendor"]


def openrouter_vendor(settings: Settings) -> Vendor | None:
    key = secret_value(settings.openrouter_api_key)
    if key is None:
        return None
    # Imported only when configured: each provider's SDK takes seconds to import.
    from openai import AsyncOpenAI
    from pydantic_ai.models.openrouter import OpenRouterModel
    from pydantic_ai.providers.openrouter import OpenRouterProvider

    if settings.openrouter_base_url:
        # The provider takes no base URL of its own; a client pointed elsewhere does.
        client = AsyncOpenAI(api_key=key, base_url=settings.openrouter_base_url)
        provider = OpenRouterProvider(openai_client=client)
    else:
        provider = OpenRouterProvider(api_key=key)
    return Vendor(
        name="openrouter",
        make_model=lambda model: OpenRouterModel(model, provider=provider),
        configured_by="OPENROUTER_API_KEY",
        secrets=(settings.openrouter_api_key,),
    )
