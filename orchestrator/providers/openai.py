"""OpenAI through pydantic-ai's Chat Completions model.

Configured by OPENAI_API_KEY; ORCH_OPENAI_BASE_URL points it at a proxy or a test server.
"""

from __future__ import annotations

from orchestrator.config import Settings
from orchestrator.providers._pydantic_ai import Vendor, secret_value

__all__ = ["openai_vendor"]


def openai_vendor(settings: Settings) -> Vendor | None:
    key = secret_value(settings.openai_api_key)
    if key is None:
        return None
    # Imported only when configured: each provider's SDK takes seconds to import.
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(api_key=key, base_url=settings.openai_base_url)
    return Vendor(
        name="openai",
        make_model=lambda model: OpenAIChatModel(model, provider=provider),
        configured_by="OPENAI_API_KEY",
        secrets=(settings.openai_api_key,),
    )
