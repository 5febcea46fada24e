"""What the task loop and planner ask of "making a call", and what they get back.

The planner and task loop are deterministic given the `CallResult`s they receive, so the
durable runtime can wrap each `Caller` invocation in one recorded step and replay it.
Routing, fallback, retries, the budget ledger and recording happen behind `Caller`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field

from orchestrator.domain import Role, TaskType


class CallSpec(BaseModel):
    """One logical LLM call: who should answer is decided by the caller's router."""

    role: Role
    task_id: str = ""  # "" for job-level calls (decomposition)
    task_type: TaskType | None = None
    iteration: int = 0
    # Distinguishes two calls of the same role in one iteration (the two evaluations).
    slot: int = 0
    system: str
    prompt: str
    json_schema: dict[str, object] | None = None
    schema_name: str | None = None
    # Cap on the answer's length; the model's own cap applies when lower. Short answers
    # (evaluations, critiques) ask for less, which is also what the budget reserves.
    max_tokens: int | None = Field(default=None, ge=1)
    # Models to prefer, best first (e.g. the task type's routing list); empty = role default.
    prefer: list[str] = Field(default_factory=list)
    # Providers that should not answer (a critic should differ from the generator's
    # provider); when only they can, another of their models is preferred to `avoid_models`.
    avoid_providers: list[str] = Field(default_factory=list)
    avoid_models: list[str] = Field(default_factory=list)
    # `prefer` is a reviewer's pin: near the end of a budget no model outside it answers.
    pinned: bool = False


class CallStatus(StrEnum):
    OK = "ok"
    BUDGET_EXHAUSTED = "budget_exhausted"
    TIMEOUT = "timeout"  # the job's time limit, not one provider's
    CANCELLED = "cancelled"
    FAILED = "failed"  # every candidate failed


class CallResult(BaseModel):
    status: CallStatus
    text: str = ""
    model: str | None = None
    provider: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0  # total of every attempt of this logical call
    latency_ms: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is CallStatus.OK


class Caller(Protocol):
    async def __call__(self, spec: CallSpec) -> CallResult: ...
