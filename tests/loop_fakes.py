"""Scripted Callers for the task loop's tests: a FakeCaller answering each call from a script
(scores per iteration, answers per role and iteration), a Recorder of iterations, a task maker."""

from __future__ import annotations

import json
from collections.abc import Callable

from orchestrator.config import TaskTypePolicy
from orchestrator.domain import (
    IterationRecord,
    Role,
    TaskResult,
    TaskState,
    TaskType,
)
from orchestrator.engine.calls_api import CallResult, CallSpec, CallStatus
from orchestrator.engine.loop import run_task
from orchestrator.engine.validators import SandboxLimits

PROVIDERS = {"gen-a": "alpha", "crit-a": "alpha", "crit-b": "beta", "eval-a": "alpha"}
PROVIDERS |= {"eval-b": "beta", "eval-c": "gamma", "gen-b": "beta"}
ROLE_MODELS = {
    Role.GENERATE: ["gen-a"],
    Role.REVISE: ["gen-a"],
    Role.CRITIQUE: ["crit-a", "crit-b"],
    Role.EVALUATE: ["eval-a", "eval-b", "eval-c"],
}
POLICY = TaskTypePolicy(threshold=0.85, max_iterations=3, models=["gen-a", "gen-b"])
FAST = SandboxLimits(timeout_s=2.0, memory_mb=256)

Answer = str | CallResult
Script = Callable[[CallSpec], Answer]


def make_task(task_type: TaskType = TaskType.COMPLEX_REASONING, **kw: object) -> TaskState:
    fields: dict[str, object] = {
        "job_id": "job1",
        "task_id": "task_001",
        "type": task_type,
        "prompt": "Explain how a hash map handles collisions.",
        "acceptance_threshold": 0.85,
    }
    fields.update(kw)
    return TaskState.model_validate(fields)


def evaluation(score: float) -> str:
    return json.dumps({"score": score, "reasoning": "scripted"})


def script(scores: dict[int, tuple[float, float]], **overrides: Answer) -> Script:
    """Drafts named after their iteration, critiques, and evaluation scores per iteration.

    `overrides` keys look like "critique@2" or "evaluate@1/0" (role@iteration[/slot]).
    """

    def answer(spec: CallSpec) -> Answer:
        for key in (f"{spec.role}@{spec.iteration}/{spec.slot}", f"{spec.role}@{spec.iteration}"):
            if key in overrides:
                return overrides[key]
        if spec.role is Role.GENERATE:
            return "draft 0: a first answer"
        if spec.role is Role.CRITIQUE:
            return f"1. iteration {spec.iteration}: add an example"
        if spec.role is Role.REVISE:
            return f"draft {spec.iteration}: a better answer"
        return evaluation(scores[spec.iteration][spec.slot % 2])

    return answer


class FakeCaller:
    """A Caller fake: picks the first model of the preference (or role) list whose provider
    is not avoided, answers from a script, and records every CallSpec."""

    def __init__(self, answer: Script) -> None:
        self.answer = answer
        self.specs: list[CallSpec] = []

    async def __call__(self, spec: CallSpec) -> CallResult:
        self.specs.append(spec)
        names = spec.prefer or ROLE_MODELS[spec.role]
        model = next((m for m in names if PROVIDERS[m] not in spec.avoid_providers), names[0])
        result = self.answer(spec)
        if isinstance(result, CallResult):
            return result
        return CallResult(
            status=CallStatus.OK,
            text=result,
            model=model,
            provider=PROVIDERS[model],
            input_tokens=100,
            output_tokens=50,
            cost_usd=0.001,
            latency_ms=10.0,
        )

    def of(self, role: Role) -> list[CallSpec]:
        return [s for s in self.specs if s.role is role]


class Recorder:
    def __init__(self) -> None:
        self.records: list[IterationRecord] = []

    async def __call__(self, record: IterationRecord) -> None:
        self.records.append(record)


async def run(
    answer: Script,
    *,
    task: TaskState | None = None,
    deps: dict[str, TaskResult] | None = None,
    policy: TaskTypePolicy = POLICY,
) -> tuple[TaskResult, FakeCaller, list[IterationRecord]]:
    call, recorder = FakeCaller(answer), Recorder()
    result = await run_task(
        task or make_task(),
        deps or {},
        policy=policy,
        call=call,
        on_iteration=recorder,
        sandbox=FAST,
    )
    return result, call, recorder.records


def stopped(status: CallStatus) -> CallResult:
    return CallResult(status=status, error=f"scripted {status}")
