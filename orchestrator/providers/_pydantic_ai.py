"""`LLMClient` on top of pydantic-ai: one adapter for every real provider.

A `Vendor` (built by one small module per provider: `anthropic.py`, `openai.py`, ...) says
how to make an authenticated pydantic-ai `Model` for a catalog model; `PydanticAIClient`
serves the catalog models of that vendor's provider. One call is one attempt: the SDK's own
retries are off (`max_retries=0`), since the engine owns retries, backoff and fallback.

Structured output: a request with `json_schema` runs an `Agent` whose output type is a
`StructuredDict` of that schema, so each model answers through the mode its profile prefers
(a forced tool call on most, native JSON schema output where thinking forbids a forced tool);
the answer is returned as JSON text for the engine's own pydantic validation. A vendor with
`output_modes` (an OpenAI-compatible endpoint) is asked in that endpoint's mode instead, and
a refusal of the mode itself moves `auto` on to the next one within the same call (see
output_modes.py). A request with `reask` quotes the model's previous, unusable answer and
what was wrong with it.

Errors: pydantic-ai already sorts every SDK's failures into one taxonomy (`ModelRateLimitError`
with `retry_after`, `ModelAuthenticationError`, ...); `provider_error` maps that onto
`orchestrator.errors` once, here, with the vendor's secrets scrubbed from the message.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from pydantic_ai import (
    Agent,
    NativeOutput,
    PromptedOutput,
    StructuredDict,
    ToolOutput,
    capture_run_messages,
)
from pydantic_ai.exceptions import (
    AgentRunError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelHTTPError,
    ModelNotFoundError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestRejectedError,
    ModelRequestTimeout,
    ModelTimeoutError,
    UnexpectedModelBehavior,
    UserError,
)
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RunUsage

from orchestrator.config import Catalog
from orchestrator.errors import (
    AuthFailed,
    ContextTooLong,
    MalformedOutput,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Where,
)
from orchestrator.providers.base import LLMRequest, LLMResponse
from orchestrator.providers.local_server import ServerInfo
from orchestrator.providers.output_modes import (
    OutputMode,
    OutputModes,
    grammar_schema,
    names_refused_feature,
)

__all__ = [
    "PydanticAIClient",
    "Vendor",
    "is_context_overflow",
    "last_answer",
    "provider_error",
    "reported_usage",
    "secret_value",
]

MAX_DETAIL = 300  # characters of a provider's error message kept in ours


@dataclass(frozen=True, kw_only=True)
class Vendor:
    """One configured provider: how to build its pydantic-ai models, and what to keep secret."""

    name: str  # the catalog's `provider` value this vendor serves
    make_model: Callable[[str], Model] = field(repr=False)
    configured_by: str  # the setting that turned it on, for `orchestrator models`
    secrets: tuple[SecretStr | None, ...] = ()  # scrubbed from every error message
    # The endpoint's structured-output mode; None: each model's profile decides.
    output_modes: OutputModes | None = None
    # What the server tells about its models' context windows, and the setting used when
    # neither it nor the catalog does.
    server: ServerInfo | None = None
    context_tokens: int | None = None


def secret_value(secret: SecretStr | None) -> str | None:
    """The secret's text, or None when unset or blank (a blank key configures nothing)."""
    if secret is None:
        return None
    return secret.get_secret_value().strip() or None


class PydanticAIClient:
    """Serves the catalog models of one vendor's provider through pydantic-ai."""

    simulated = False

    def __init__(self, vendor: Vendor, catalog: Catalog, *, timeout_s: float) -> None:
        self.vendor = vendor
        self.name = vendor.name
        self._catalog = catalog
        self._timeout_s = timeout_s
        self._models: dict[str, Model] = {}

    def __repr__(self) -> str:
        return f"PydanticAIClient({self.name!r})"

    def serves(self, model: str) -> bool:
        info = self._catalog.models.get(model)
        return info is not None and info.provider == self.name

    async def complete(self, request: LLMRequest) -> LLMResponse:
        if not self.serves(request.model):
            raise ModelNotFound(
                f"{self.name} does not serve {request.model!r} (see the model catalog)",
                provider=self.name,
                model=request.model,
            )
        started = time.perf_counter()
        modes = self.vendor.output_modes
        while True:
            mode = modes.mode if modes is not None and request.json_schema is not None else None
            with capture_run_messages() as messages:
                try:
                    text, usage = await self._run(self._model(request.model), request, mode)
                    break
                except (AgentRunError, UserError) as e:
                    error = provider_error(
                        e,
                        provider=self.name,
                        model=request.model,
                        secrets=self.vendor.secrets,
                        usage=reported_usage(messages),
                        answer=last_answer(messages),
                    )
                    if modes is not None and mode is not None:
                        status = getattr(e, "status_code", None)
                        refused = names_refused_feature(mode, status, str(error))
                        if refused and modes.refused(mode, _short(error)):
                            continue  # a refused request is not billed: ask in the next mode
                    raise error from e
        return LLMResponse(
            model=request.model,
            provider=self.name,
            text=text,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            output_mode=modes.describe() if mode is not None and modes is not None else "",
        )

    async def context_tokens(self, model: str) -> int | None:
        """The model's context window: the catalog's, else the server's, else the setting's."""
        info = self._catalog.models.get(model)
        if info is not None and info.context_tokens is not None:
            return info.context_tokens
        told = await self.vendor.server.context_tokens(model) if self.vendor.server else None
        return told or self.vendor.context_tokens

    def _model(self, name: str) -> Model:
        model = self._models.get(name)
        if model is None:
            model = self._models[name] = self.vendor.make_model(name)
        return model

    async def _run(
        self, model: Model, request: LLMRequest, mode: OutputMode | None
    ) -> tuple[str, RunUsage]:
        settings = ModelSettings(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            timeout=self._timeout_s,
            max_retries=0,
            # pydantic-ai may prepend ~250 tokens explaining its <system> frames; we send none,
            # and the budget reserves for our own text only.
            framing_announcement="never",
        )
        instructions = request.system or None
        prompt = request.sent_prompt
        if request.json_schema is None:
            agent = Agent(model, instructions=instructions, retries=0)
            result = await agent.run(prompt, model_settings=settings)
            return result.output, result.usage
        # StructuredDict writes the name into the schema it is given: hand it a copy.
        schema = copy.deepcopy(request.json_schema)
        output_type = StructuredDict(schema, name=request.schema_name)
        if mode == "json_object":
            # The server constrains its answer by the schema (llama-cpp-python: a grammar);
            # pydantic-ai has no such mode, so the field goes in as an extra body key.
            format_ = {"type": "json_object", "schema": grammar_schema(request.json_schema)}
            settings["extra_body"] = {"response_format": format_}
        structured = Agent(
            model, output_type=_output_spec(output_type, mode), instructions=instructions, retries=0
        )
        answer = await structured.run(prompt, model_settings=settings)
        return json.dumps(answer.output, ensure_ascii=False), answer.usage


def _output_spec(output_type: type[dict[str, Any]], mode: OutputMode | None) -> Any:
    """The pydantic-ai output marker of a mode (None: the model's profile decides)."""
    if mode == "json_schema":
        return NativeOutput(output_type)
    if mode == "tool":
        return ToolOutput(output_type)
    if mode in ("json_object", "prompted"):
        return PromptedOutput(output_type)
    return output_type


def last_answer(messages: Iterable[ModelMessage]) -> str:
    """The text or tool-call arguments of the last answer of a run ("" without one)."""
    responses = [m for m in messages if isinstance(m, ModelResponse)]
    if not responses:
        return ""
    found: list[str] = []
    for part in responses[-1].parts:
        if isinstance(part, TextPart):
            found.append(part.content)
        elif isinstance(part, ToolCallPart):
            found.append(part.args_as_json_str())
    return "\n".join(found)


def _short(error: ProviderError) -> str:
    text = str(error)
    return text if len(text) <= 120 else text[:119] + "…"


def reported_usage(messages: Iterable[ModelMessage]) -> tuple[int, int] | None:
    """The input and output tokens the provider reported for the answers of a failed run
    (an answer that failed parsing or validation is billed all the same); None without one."""
    usages = [m.usage for m in messages if isinstance(m, ModelResponse)]
    if not usages:
        return None
    return sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages)


def provider_error(
    error: Exception,
    *,
    provider: str,
    model: str,
    secrets: Iterable[SecretStr | None] = (),
    usage: tuple[int, int] | None = None,
    answer: str = "",
) -> ProviderError:
    """The `orchestrator.errors` type of a pydantic-ai failure, with a readable message;
    `usage` is what the provider reported for the failed answer, when it answered, and
    `answer` what it said."""
    where = Where(provider=provider, model=model)
    status = getattr(error, "status_code", None)
    prefix = f"{provider} {model}" + (f": HTTP {status}" if status else "")
    detail = _scrub(_detail(error), secrets)

    def says(what: str) -> str:
        return f"{prefix}: {what}" + (f": {detail}" if detail else "")

    # Most specific first: a timeout is also a connection error, a 401 also a rejection.
    if isinstance(error, ModelRateLimitError) or status == 429:
        retry_after = getattr(error, "retry_after", None)
        return RateLimited(says("rate limited"), retry_after=retry_after, **where)
    if isinstance(error, ModelQuotaExceededError) or status == 402:
        return AuthFailed(says("quota or billing exhausted"), **where)
    if isinstance(error, ModelAuthenticationError) or status in (401, 403):
        return AuthFailed(says("the API key was refused or lacks access"), **where)
    if isinstance(error, ModelNotFoundError) or status == 404:
        return ModelNotFound(says("the provider does not serve this model"), **where)
    if isinstance(error, ModelTimeoutError | ModelRequestTimeout) or status in (408, 504):
        return ProviderTimeout(says("timed out"), **where)
    if status in (400, 413, 422) and is_context_overflow(detail):
        return ContextTooLong(says("the prompt does not fit the model's context"), **where)
    if isinstance(error, ModelRequestRejectedError):
        return ProviderError(says("request rejected"), **where)  # not retryable: fall back
    if isinstance(error, ModelHTTPError) and status is not None and status < 500:
        return ProviderError(says("request failed"), **where)
    if isinstance(error, UnexpectedModelBehavior):
        return MalformedOutput(says("unusable answer"), usage=usage, answer=answer, **where)
    if isinstance(error, ModelAPIError) and isinstance(error.__cause__, ValueError):
        what = "the response was not valid JSON"
        return MalformedOutput(says(what), usage=usage, answer=answer, **where)
    if isinstance(error, ModelAPIError):  # 5xx, overloaded, connection refused or dropped
        return ProviderUnavailable(says("unavailable"), **where)
    return ProviderError(says(type(error).__name__), **where)  # a caller mistake (UserError)


# How servers say a request is longer than the model's context (OpenAI, llama.cpp,
# llama-cpp-python, vLLM, Ollama, Anthropic, Gemini).
_CONTEXT_WORDS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "exceed_context_size",
    "exceeds the context",
    "prompt is too long",
    "input token count",
    "too many tokens",
)


def is_context_overflow(message: str) -> bool:
    text = message.lower()
    return any(word in text for word in _CONTEXT_WORDS)


def _detail(error: Exception) -> str:
    """The provider's own words: the `message` of an error body, else the exception's text."""
    body = getattr(error, "body", None)
    found = _message_in(body) if body is not None else None
    if found is None:
        found = getattr(error, "message", None) or str(error)
        if isinstance(error, UnexpectedModelBehavior) and error.__cause__ is not None:
            # All of the cause: a validation error's lines say what was wrong (for a re-ask).
            found = f"{found} ({error.__cause__})"
    text = " ".join(str(found).split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _message_in(body: object, depth: int = 0) -> str | None:
    """The `message` field of an error body, as OpenAI, Anthropic and Gemini nest it."""
    if isinstance(body, str):
        return body or None
    if not isinstance(body, dict) or depth > 3:
        return None
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    return _message_in(body.get("error"), depth + 1)


def _scrub(text: str, secrets: Iterable[SecretStr | None]) -> str:
    """`text` with every secret replaced: a provider may echo a key back in an error."""
    for secret in secrets:
        value = secret_value(secret)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text
