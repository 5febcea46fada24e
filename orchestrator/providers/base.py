"""The seam between the engine and whoever answers an LLM call.

An `LLMClient` takes one `LLMRequest` and returns one `LLMResponse` or raises a
`ProviderError` subclass from `orchestrator.errors`. Retries, fallback, budget and
recording live in the engine, not here: a client makes exactly one attempt.
"""

from __future__ import annotations

import hashlib
import json
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from orchestrator.domain import Role, TaskType


class Reask(BaseModel):
    """A second try after an unusable answer: the answer quoted back with what was wrong."""

    answer: str
    error: str

    def prompt(self, original: str) -> str:
        said = self.answer.strip()[:MAX_QUOTED] or "(an empty answer)"
        return (
            f"{original}\n\nYour previous answer could not be used.\n"
            f"It was:\n{said}\n\nWhat was wrong: {self.error}\n\n"
            "Answer again, following the required format exactly."
        )


MAX_QUOTED = 4000  # characters of a bad answer quoted back in a re-ask


class LLMRequest(BaseModel):
    model: str
    role: Role
    system: str
    prompt: str
    max_tokens: int = Field(ge=1)
    temperature: float = 0.2
    # When set, the answer must be JSON valid against this JSON schema (structured output);
    # `schema_name` names it for providers that want a tool/function name.
    json_schema: dict[str, object] | None = None
    schema_name: str | None = None
    # Context the simulator uses to answer plausibly; real providers ignore it.
    task_type: TaskType | None = None
    iteration: int = 0
    # Set on the one re-ask after a malformed answer; not part of the request's identity
    # (an answer to the re-ask is the answer to the request, reused on resume).
    reask: Reask | None = None
    # The hash of the request this one was cut down from to fit a model's context (the
    # answer is the answer to that request, found again on resume).
    fitted_from: str | None = None

    @property
    def sent_prompt(self) -> str:
        """The user prompt as it goes out (a re-ask adds the quoted answer)."""
        return self.prompt if self.reask is None else self.reask.prompt(self.prompt)

    def request_hash(self) -> str:
        """Stable hash of everything that shapes the answer (not the routing metadata).

        `max_tokens` is left out: it only caps the answer's length, and the executor lowers
        it when the budget is tight, by an amount that depends on what other calls hold at
        that moment. A call re-run after a crash must still find its recorded answer.
        """
        if self.fitted_from is not None:
            return self.fitted_from
        body = {
            "model": self.model,
            "system": self.system,
            "prompt": self.prompt,
            "temperature": self.temperature,
            "json_schema": self.json_schema,
        }
        raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(raw).hexdigest()


class LLMResponse(BaseModel):
    model: str
    provider: str
    text: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    latency_ms: float = Field(ge=0)
    simulated: bool = False
    # How structured output was asked for, when the endpoint has a mode of its own
    # (e.g. "json_object (auto; the server refused json_schema …)"); "" otherwise.
    output_mode: str = ""


@runtime_checkable
class CountsTokens(Protocol):
    """A client that knows how its provider counts input tokens (a tokenizer of its own): the
    most input tokens `request` can be billed as, a tighter bound than the ledger's default
    of one token per byte (`pricing.input_token_bound`), so near the end of a budget the last
    calls still fit. It must never be below what the provider bills."""

    def input_tokens_bound(self, request: LLMRequest) -> int: ...


@runtime_checkable
class KnowsContext(Protocol):
    """A client that can tell a model's context window (prompt + answer tokens)."""

    async def context_tokens(self, model: str) -> int | None: ...


@runtime_checkable
class LLMClient(Protocol):
    """One provider (or the simulator)."""

    name: str
    simulated: bool

    def serves(self, model: str) -> bool: ...

    async def complete(self, request: LLMRequest) -> LLMResponse: ...
