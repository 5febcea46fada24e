"""Google Gemini (the Gemini API, generateContent) through pydantic-ai's Google model.

Configured by GEMINI_API_KEY or GOOGLE_API_KEY; ORCH_GEMINI_BASE_URL points it at a proxy or
a test server. Catalog models of provider `google` are served here.
"""

from __future__ import annotations

from orchestrator.config import Settings
from orchestrator.providers._pydantic_ai import Vendor, secret_value

__all__ = ["gemini_vendor"]


def gemini_vendor(settings: Settings) -> Vendor | None:
    key = secret_value(settings.gemini_api_key)
    if key is None:
        return None
    # Imported only when configured: each provider's SDK takes seconds to import.
    from pydantic_ai.models.google import GoogleModel
    from pydantic_ai.providers.google import GoogleProvider

    provider = GoogleProvider(api_key=key, base_url=settings.gemini_base_url)
    return Vendor(
        name="google",
        make_model=lambda model: GoogleModel(model, provider=provider),
        configured_by="GEMINI_API_KEY or GOOGLE_API_KEY",
        secrets=(settings.gemini_api_key,),
    )
