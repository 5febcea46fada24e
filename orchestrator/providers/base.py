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

    def request_hash(self) -> str:
        """Stable hash of everything that shapes the answer (not the routing metadata).

        `max_tokens` is left out: it only caps the answer's length, and the executor lowers
        it when the budget is tight, by an amount that depends on what other calls hold at
        that moment. A call re-run after a crash must still find its recorded answer.
        """
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


@runtime_checkable
class LLMClient(Protocol):
    """One provider (or the simulator)."""

    name: str
    simulated: bool

    def serves(self, model: str) -> bool: ...

    async def complete(self, request: LLMRequest) -> LLMResponse: ...
