"""Any OpenAI-compatible Chat Completions endpoint: Ollama, vLLM, LM Studio, llama.cpp, a gateway.

Configured by ORCH_OPENAI_COMPAT_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama), with
ORCH_OPENAI_COMPAT_API_KEY when the endpoint wants a key. Catalog models of provider
`openai_compat` go there under their catalog name; give them an explicit `price` in the
catalog (genai-prices does not know local models; 0 for your own hardware).

Structured output goes in the endpoint's own mode (ORCH_OPENAI_COMPAT_OUTPUT, `auto` by
default: output_modes.py), and the context windows come from the catalog, else from the server
(local_server.py), else from ORCH_OPENAI_COMPAT_CONTEXT_TOKENS.
"""

from __future__ import annotations

from orchestrator.config import Settings
from orchestrator.providers._pydantic_ai import Vendor, secret_value
from orchestrator.providers.local_server import ServerInfo
from orchestrator.providers.output_modes import OutputModes

__all__ = ["PROVIDER", "openai_compat_vendor"]

PROVIDER = "openai_compat"


def openai_compat_vendor(settings: Settings) -> Vendor | None:
    base_url = (settings.openai_compat_base_url or "").strip()
    if not base_url:
        return None
    # Imported only when configured: each provider's SDK takes seconds to import.
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.profiles import merge_profile
    from pydantic_ai.profiles.openai import OpenAIModelProfile
    from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

    api_key = secret_value(settings.openai_compat_api_key)
    provider = OpenAICompatibleProvider(PROVIDER, base_url=base_url, api_key=api_key)

    def make_model(model: str) -> OpenAIChatModel:
        # `prompted` must send no response_format at all (a server that refuses it would
        # refuse `json_object` too); `json_object` adds its own, with the schema. The answer
        # cap goes as `max_tokens`: llama-cpp-python ignores `max_completion_tokens` and
        # writes until its context is full.
        own = OpenAIModelProfile(
            supports_json_object_output=False, openai_chat_supports_max_completion_tokens=False
        )
        profile = merge_profile(provider.model_profile(model), own)
        return OpenAIChatModel(model, provider=provider, profile=profile)

    return Vendor(
        name=PROVIDER,
        make_model=make_model,
        configured_by="ORCH_OPENAI_COMPAT_BASE_URL",
        secrets=(settings.openai_compat_api_key,),
        output_modes=OutputModes(settings.openai_compat_output),
        server=ServerInfo(base_url, api_key=api_key),
        context_tokens=settings.openai_compat_context_tokens,
    )
