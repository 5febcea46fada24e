"""Simulator test helpers: the catalog, requests of each role, a client with no latency."""

from __future__ import annotations

import asyncio

from orchestrator.config import DEFAULT_CATALOG, load_catalog
from orchestrator.domain import Evaluation, Role, TaskType
from orchestrator.plan import Plan
from orchestrator.providers import LLMRequest, LLMResponse, SimulatedClient

CATALOG = load_catalog(DEFAULT_CATALOG)
HELLO_PROJECT = (
    "Project: Write a hello world Python script\nSuccess criteria: Script prints Hello World"
)


class RecordingSleep:
    """Stands in for asyncio.sleep: records what the simulator asked for, returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(**kwargs: object) -> SimulatedClient:
    kwargs.setdefault("latency_scale", 0.0)
    return SimulatedClient(CATALOG, **kwargs)  # type: ignore[arg-type]


def request(role: Role, prompt: str = HELLO_PROJECT, **kwargs: object) -> LLMRequest:
    fields: dict[str, object] = {
        "model": "claude-sonnet-4-6",
        "role": role,
        "system": "You are a careful assistant.",
        "prompt": prompt,
        "max_tokens": 4096,
        "iteration": 1,
    }
    if role is Role.DECOMPOSE:
        fields["json_schema"] = Plan.model_json_schema()
    if role is Role.EVALUATE:
        fields["json_schema"] = Evaluation.model_json_schema()
    fields.update(kwargs)
    return LLMRequest.model_validate(fields)


def run(sim: SimulatedClient, req: LLMRequest) -> LLMResponse:
    return asyncio.run(sim.complete(req))


def mixed_requests() -> list[LLMRequest]:
    return [
        request(Role.DECOMPOSE),
        request(Role.GENERATE, "Write an essay about tea", task_type=TaskType.CREATIVE_WRITING),
        request(Role.GENERATE, "Print hello world", task_type=TaskType.CODE_GENERATION),
        request(Role.CRITIQUE, "Review this", task_type=TaskType.CODE_GENERATION),
        request(Role.EVALUATE, "Score this", task_type=TaskType.SUMMARIZATION, iteration=2),
    ]
