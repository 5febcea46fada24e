"""Decomposition: one LLM call turns a job spec into a validated task graph.

The answer is structured output validated by `plan.Plan` (unique ids, known
dependencies, no cycles). A JSON answer with faults a small model makes (bad or repeated
ids, unknown dependencies, thresholds out of range, unknown types, cycles, empty tasks) is
repaired (`plan_repair`), each repair said in `PlanOutcome.repairs`. An answer that is not
JSON, or that leaves no usable task, is retried with the reason in the prompt; when it keeps
failing, or when every provider fails, the job still runs as a single fallback task.
Deterministic given the `CallResult`s, so the durable runtime can replay it.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from orchestrator.config import Catalog
from orchestrator.domain import JobSpec, Role, TaskState
from orchestrator.engine import prompts
from orchestrator.engine.calls_api import Caller, CallSpec, CallStatus
from orchestrator.engine.plan_repair import RepairedPlan, guess_task_type, repair_plan
from orchestrator.engine.validators import unwrap_fence
from orchestrator.errors import PlanInvalid
from orchestrator.plan import Plan, PlannedTask, short_title

__all__ = ["STOP_STATUSES", "PlanOutcome", "fallback_plan", "make_plan", "plan_to_tasks"]

# The job cannot go on after these: no fallback plan is made.
STOP_STATUSES = frozenset({CallStatus.BUDGET_EXHAUSTED, CallStatus.TIMEOUT, CallStatus.CANCELLED})

_MIN_THRESHOLD, _MAX_THRESHOLD = 0.5, 1.0


class PlanOutcome(BaseModel):
    """The result of decomposition.

    `plan` is the model's plan (with `repairs`, what was changed to make it valid), or the
    single-task fallback (`fallback=True`, reasons in `errors`). When `call_status` is one of
    `STOP_STATUSES` (budget exhausted, job timeout, cancelled), `stopped` is True and the job
    must end with that status: `plan` is then the fallback only so that it is never None,
    and must not be run.
    """

    plan: Plan
    fallback: bool = False
    repairs: list[str] = []
    errors: list[str]
    call_status: CallStatus
    attempts: int = 0
    model: str | None = None
    cost_usd: float = 0.0

    @property
    def stopped(self) -> bool:
        return self.call_status in STOP_STATUSES


def fallback_plan(spec: JobSpec) -> Plan:
    """One task that carries the whole project."""
    prompt = spec.project_description
    if spec.success_criteria:
        prompt += f"\n\nSuccess criteria:\n{spec.success_criteria}"
    task_type = guess_task_type(spec.project_description)
    title = short_title(spec.project_description)
    return Plan(tasks=[PlannedTask(id="task_001", title=title, type=task_type, prompt=prompt)])


def parse_plan(text: str) -> RepairedPlan:
    """The answer as a Plan, repaired where it can be; a fence around the whole answer is
    tolerated. PlanInvalid when it is not JSON or no usable task is left."""
    try:
        raw = json.loads(unwrap_fence(text).strip())
    except (ValueError, RecursionError) as e:  # nested deeper than a plan ever is
        raise PlanInvalid(f"the answer is not JSON: {e}") from e
    return repair_plan(raw)


async def make_plan(
    spec: JobSpec, *, call: Caller, catalog: Catalog, attempts: int = 3
) -> PlanOutcome:
    base = prompts.decompose(spec)
    prompt = base
    errors: list[str] = []
    cost = 0.0
    status = CallStatus.OK
    for slot in range(max(attempts, 1)):
        result = await call(
            CallSpec(
                role=Role.DECOMPOSE,
                slot=slot,
                system=prompt.system,
                prompt=prompt.user,
                json_schema=Plan.model_json_schema(),
                schema_name="plan",
                prefer=list(catalog.roles.get(Role.DECOMPOSE, [])),
            )
        )
        cost += result.cost_usd
        status = result.status
        if status in STOP_STATUSES:
            reason = result.error or status.value
            errors.append(f"attempt {slot + 1}: decomposition stopped: {reason}")
            return PlanOutcome(
                plan=fallback_plan(spec),
                fallback=True,
                errors=errors,
                call_status=status,
                attempts=slot + 1,
                cost_usd=cost,
            )
        if status is CallStatus.FAILED:
            # The caller already tried every candidate with retries; asking again is futile.
            errors.append(f"attempt {slot + 1}: every model failed: {result.error}")
            break
        try:
            parsed = parse_plan(result.text)
        except PlanInvalid as e:
            detail = str(e)
            errors.append(f"attempt {slot + 1}: invalid plan: {detail}")
            prompt = prompts.decompose_retry(base, previous=result.text, error=detail)
            continue
        return PlanOutcome(
            plan=parsed.plan,
            repairs=parsed.repairs,
            errors=errors,
            call_status=status,
            attempts=slot + 1,
            model=result.model,
            cost_usd=cost,
        )
    return PlanOutcome(
        plan=fallback_plan(spec),
        fallback=True,
        errors=errors,
        call_status=status,
        attempts=len(errors),
        cost_usd=cost,
    )


def plan_to_tasks(job_id: str, plan: Plan, catalog: Catalog) -> list[TaskState]:
    """The plan's nodes as stored tasks, each with its effective acceptance threshold."""
    tasks = []
    for node in plan.tasks:
        if node.acceptance_threshold is None:
            threshold = catalog.policy(node.type).threshold
        else:
            threshold = min(max(node.acceptance_threshold, _MIN_THRESHOLD), _MAX_THRESHOLD)
        tasks.append(
            TaskState(
                job_id=job_id,
                task_id=node.id,
                # A model that gave no title: the prompt's opening words stand in.
                title=node.title or short_title(node.prompt),
                type=node.type,
                prompt=node.prompt,
                dependencies=list(node.dependencies),
                acceptance_threshold=threshold,
                files=list(node.files),
            )
        )
    return tasks
