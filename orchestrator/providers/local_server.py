"""What an OpenAI-compatible server says about itself: the models it serves (`GET /v1/models`)
and their context windows, for discovery and for fitting prompts.

Servers tell the context in different places: vLLM as `max_model_len` of each model, LM Studio
as `max_context_length`, llama.cpp's server as `meta.n_ctx_train` there and as `n_ctx` (what it
was started with, which is what counts) in `GET /props` beside `/v1`. Ollama and
llama-cpp-python's server say nothing; then the catalog or ORCH_OPENAI_COMPAT_CONTEXT_TOKENS must.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ValidationError

from orchestrator.errors import ProviderError, ProviderUnavailable

__all__ = ["ServedModel", "ServerInfo", "served_models"]

LOOKUP_TIMEOUT_S = 10.0
# Where each kind of server puts a model's context window in its `/v1/models` entry.
_CONTEXT_KEYS = ("max_model_len", "context_length", "max_context_length", "context_window")


class ServedModel(BaseModel):
    id: str
    context_tokens: int | None = None


class _Listing(BaseModel):
    data: list[dict[str, object]]


def _context_of(entry: dict[str, object]) -> int | None:
    for key in _CONTEXT_KEYS:
        value = entry.get(key)
        if isinstance(value, int) and value > 0:
            return value
    meta = entry.get("meta")
    if isinstance(meta, dict):
        value = meta.get("n_ctx") or meta.get("n_ctx_train")
        if isinstance(value, int) and value > 0:
            return value
    return None


def _headers(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


async def served_models(
    base_url: str, *, api_key: str | None = None, timeout_s: float = LOOKUP_TIMEOUT_S
) -> list[ServedModel]:
    """The models the server lists, with the context each one has when the server says.

    Raises `ProviderError` with a readable message when the server cannot be asked."""
    url = base_url.rstrip("/") + "/models"
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            response = await http.get(url, headers=_headers(api_key))
            props = await _props_context(http, base_url)
    except httpx.HTTPError as e:
        raise ProviderUnavailable(f"{url}: no answer ({type(e).__name__})") from e
    if response.status_code != 200:
        raise ProviderError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
    try:
        listing = _Listing.model_validate_json(response.content)
    except ValidationError as e:
        raise ProviderError(f"{url}: not a model list ({e.error_count()} problems)") from e
    models = []
    for entry in listing.data:
        name = entry.get("id")
        if isinstance(name, str) and name:
            context = props or _context_of(entry)
            models.append(ServedModel(id=name, context_tokens=context))
    return models


async def _props_context(http: httpx.AsyncClient, base_url: str) -> int | None:
    """llama.cpp's `GET /props`: the context the server runs with (per slot), if it has one."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        response = await http.get(f"{root}/props")
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    settings = body.get("default_generation_settings")
    value = settings.get("n_ctx") if isinstance(settings, dict) else None
    value = value or body.get("n_ctx")
    return value if isinstance(value, int) and value > 0 else None


class ServerInfo:
    """The context windows one server tells, asked once and remembered (None: it does not)."""

    def __init__(self, base_url: str, *, api_key: str | None = None) -> None:
        self._base_url = base_url
        self._api_key = api_key
        self._contexts: dict[str, int | None] | None = None
        self._server_context: int | None = None  # `/props`: the one model it serves

    async def context_tokens(self, model: str) -> int | None:
        # Two first calls at once may both ask: harmless, and simpler than a lock bound to
        # one event loop.
        if self._contexts is None:
            try:
                listed = await served_models(self._base_url, api_key=self._api_key)
            except ProviderError:
                listed = []  # the call itself will say what is wrong with the server
            async with httpx.AsyncClient(timeout=LOOKUP_TIMEOUT_S) as http:
                self._server_context = await _props_context(http, self._base_url)
            self._contexts = {m.id: m.context_tokens for m in listed}
        return self._contexts.get(model) or self._server_context
