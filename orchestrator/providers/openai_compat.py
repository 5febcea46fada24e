"""Any OpenAI-compatible Chat Completions endpoint: Ollama, vLLM, LM Studio, a gateway.

Configured by ORCH_OPENAI_COMPAT_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama), with
ORCH_OPENAI_COMPAT_API_KEY when the endpoint wants a key. Catalog models of provider
`openai_compat` go there under their catalog name; give them an explicit `price` in the
catalog (genai-prices does not know local models; 0 for your own hardware).
"""

from __future__ import annotations

from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

from orchestrator.config import Settings
from orchestrator.providers._pydantic_ai import Vendor, secret_value

__all__ = ["PROVIDER", "openai_compat_vendor"]

PROVIDER = "openai_compat"


def openai_compat_vendor(settings: Settings) -> Vendor | None:
    base_url = (settings.openai_compat_base_url or "").strip()
    if not base_url:
        return None
    provider = OpenAICompatibleProvider(
        PROVIDER, base_url=base_url, api_key=secret_value(settings.openai_compat_api_key)
    )
    return Vendor(
        name=PROVIDER,
        make_model=lambda model: OpenAIChatModel(model, provider=provider),
        configured_by="ORCH_OPENAI_COMPAT_BASE_URL",
        secrets=(settings.openai_compat_api_key,),
    )
