"""A scripted LLM provider for runtime tests: it implements the real `LLMClient` protocol.

The plan it returns and what happens when a task's generation starts are up to each test,
so tests can synchronise on real events (a task starting) instead of sleeping.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from orchestrator.config import Catalog
from orchestrator.domain import Role, TaskType
from orchestrator.errors import ProviderUnavailable
from orchestrator.providers import LLMRequest, LLMResponse

MARKER = re.compile(r"\[\[(\w+)\]\]")

Hook = Callable[[str], Awaitable[None]]


def catalog_of(models: dict[str, dict[str, object]]) -> Catalog:
    """A catalog of `models` (name → entry) where each of them serves every task type and
    role, one iteration at threshold 0.8."""
    names = list(models)
    return Catalog.model_validate(
        {
            "models": models,
            "task_types": {
                t.value: {"threshold": 0.8, "max_iterations": 1, "models": names} for t in TaskType
            },
            "roles": {r.value: names for r in (Role.DECOMPOSE, Role.CRITIQUE, Role.EVALUATE)},
        }
    )


def plan_task(task_id: str, deps: list[str] | None = None) -> dict[str, object]:
    """A plan node whose prompt carries a marker the client recognises in every role's prompt."""
    return {
        "id": task_id,
        "type": "summarization",
        "prompt": f"Summarise topic [[{task_id}]] in two sentences.",
        "dependencies": deps or [],
        "acceptance_threshold": 0.5,
    }


@dataclass
class Seen:
    role: Role
    task_id: str
    model: str
    at: float


@dataclass
class ScriptedClient:
    catalog: Catalog
    plan: list[dict[str, object]]
    on_generate: Hook | None = None
    score: float = 0.99
    fail_generate: frozenset[str] = frozenset()  # task ids whose generation always fails
    name: str = "scripted"
    simulated: bool = True
    seen: list[Seen] = field(default_factory=list)

    def serves(self, model: str) -> bool:
        return model in self.catalog.models

    async def complete(self, request: LLMRequest) -> LLMResponse:
        found = MARKER.search(request.prompt)
        task_id = found.group(1) if found else ""
        self.seen.append(Seen(request.role, task_id, request.model, time.time()))
        if request.role is Role.DECOMPOSE:
            text = json.dumps({"tasks": self.plan})
        elif request.role is Role.EVALUATE:
            text = json.dumps({"score": self.score, "reasoning": "meets the task"})
        elif request.role is Role.CRITIQUE:
            text = "No issues found."
        else:
            if request.role is Role.GENERATE and task_id in self.fail_generate:
                raise ProviderUnavailable("scripted 503", provider="scripted", model=request.model)
            if request.role is Role.GENERATE and self.on_generate is not None:
                await self.on_generate(task_id)
            text = f"Summary of the requested topic, version {request.iteration}."
        return LLMResponse(
            model=request.model,
            provider=self.catalog.models[request.model].provider,
            text=text,
            input_tokens=len(request.system + request.prompt) // 4,
            output_tokens=max(1, len(text) // 4),
            latency_ms=1.0,
            simulated=True,
        )
