"""DeepSeek through pydantic-ai (its OpenAI-compatible Chat Completions API).

Configured by DEEPSEEK_API_KEY; ORCH_DEEPSEEK_BASE_URL points it at a proxy or a test server
(pydantic-ai's DeepSeek provider has a fixed URL, so an override gets its own OpenAI client
while keeping DeepSeek's model profile).
"""

from __future__ import annotations

from orchestrator.config import Settings
from orchestrator.providers._pydantic_ai import Vendor, secret_value

__all__ = ["deepseek_vendor"]


def deepseek_vendor(settings: Settings) -> Vendor | None:
    key = secret_value(settings.deepseek_api_key)
    if key is None:
        return None
    # Imported only when configured: each provider's SDK takes seconds to import.
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.deepseek import DeepSeekProvider

    if settings.deepseek_base_url:
        client = AsyncOpenAI(api_key=key, base_url=settings.deepseek_base_url)
        provider = DeepSeekProvider(openai_client=client)
    else:
        provider = DeepSeekProvider(api_key=key)
    return Vendor(
        name="deepseek",
        make_model=lambda model: OpenAIChatModel(model, provider=provider),
        configured_by="DEEPSEEK_API_KEY",
        secrets=(settings.deepseek_api_key,),
    )
