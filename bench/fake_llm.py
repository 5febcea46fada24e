"""`DagClient`: an `LLMClient` that makes the engine run a given task graph with given timings.

The decomposition call answers with the graph as a `Plan` (summarization tasks, so no code
validators run, with a low acceptance threshold). The generation call of each task sleeps
for the task's duration; critique, revision and evaluation answer at once, the evaluation
with a passing score, so every task is exactly one iteration of five calls and its span is
its duration plus what the engine adds.

Jobs and tasks are recognised by markers the client itself put in the text it handed out:
`[[dag:<key>]]` in the job description (registered with `register`), `[[task:<key>/<id>]]`
in each task prompt.
"""

from __future__ import annotations

import asyncio
import re
import time

from bench.dags import DagInstance, task_id
from orchestrator.config import Catalog
from orchestrator.domain import Evaluation, Role, TaskType
from orchestrator.errors import ModelNotFound
from orchestrator.plan import Plan, PlannedTask
from orchestrator.providers.base import LLMRequest, LLMResponse

__all__ = ["DagClient", "job_marker", "plan_of"]

_JOB = re.compile(r"\[\[dag:([\w.-]+)\]\]")
_TASK = re.compile(r"\[\[task:([\w.-]+)/([\w.-]+)\]\]")
_PASS = Evaluation(score=0.99, reasoning="ok").model_dump_json()


def job_marker(key: str) -> str:
    return f"[[dag:{key}]]"


def plan_of(key: str, dag: DagInstance) -> Plan:
    return Plan(
        tasks=[
            PlannedTask(
                id=task_id(i),
                type=TaskType.SUMMARIZATION,
                prompt=f"Summarise part {i + 1} of the material. [[task:{key}/{task_id(i)}]]",
                dependencies=[task_id(d) for d in ds],
                acceptance_threshold=0.5,
            )
            for i, ds in enumerate(dag.deps)
        ]
    )


class DagClient:
    """Serves every catalog model (see the module docstring)."""

    name = "dag-bench"
    simulated = True

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._dags: dict[str, DagInstance] = {}
        self._durations: dict[str, dict[str, float]] = {}

    def register(self, key: str, dag: DagInstance) -> None:
        self._dags[key] = dag
        self._durations[key] = dag.duration_of()

    def serves(self, model: str) -> bool:
        return model in self._catalog.models

    async def complete(self, request: LLMRequest) -> LLMResponse:
        info = self._catalog.models.get(request.model)
        if info is None:
            raise ModelNotFound(f"{request.model} is not served", model=request.model)
        started = time.perf_counter()
        text = await self._answer(request)
        return LLMResponse(
            model=request.model,
            provider=info.provider,
            text=text,
            input_tokens=len(request.system + request.prompt) // 4 + 1,
            output_tokens=len(text) // 4 + 1,
            latency_ms=(time.perf_counter() - started) * 1000,
            simulated=True,
        )

    async def _answer(self, request: LLMRequest) -> str:
        if request.role is Role.DECOMPOSE:
            job = _JOB.search(request.prompt)
            if job is None:
                raise ModelNotFound("decomposition of an unknown benchmark job")
            return plan_of(job[1], self._dags[job[1]]).model_dump_json()
        if request.role is Role.EVALUATE:
            return _PASS
        if request.role is Role.CRITIQUE:
            return "No issues found."
        found = _TASK.search(request.prompt)
        if found is None:
            raise ModelNotFound("a task call without a benchmark task marker")
        key, tid = found[1], found[2]
        if request.role is Role.GENERATE:
            await asyncio.sleep(self._durations[key][tid])
        return f"Summary of part {tid} of the material."
