"""Decomposition: one LLM call turns a job spec into a validated task graph.

The answer is structured output validated by `domain.Plan` (unique ids, known
dependencies, no cycles). An invalid answer is retried with the validation error in the
prompt; when it keeps failing, or when every provider fails, the job still runs as a
single fallback task. Deterministic given the `CallResult`s, so the durable runtime can
replay it.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from orchestrator.config import Catalog
from orchestrator.domain import JobSpec, Plan, PlannedTask, Role, TaskState, TaskType, short_title
from orchestrator.engine import prompts
from orchestrator.engine.calls_api import Caller, CallSpec, CallStatus
from orchestrator.engine.validators import unwrap_fence

__all__ = ["STOP_STATUSES", "PlanOutcome", "fallback_plan", "make_plan", "plan_to_tasks"]

# The job cannot go on after these: no fallback plan is made.
STOP_STATUSES = frozenset({CallStatus.BUDGET_EXHAUSTED, CallStatus.TIMEOUT, CallStatus.CANCELLED})

_CODE_WORDS = frozenset(
    {
        "api", "app", "bug", "class", "cli", "code", "coding", "compile", "debug", "endpoint",
        "function", "functions", "implement", "library", "module", "program", "python",
        "refactor", "script", "server", "sql", "test", "tests", "unittest",
    }
)  # fmt: skip
_MIN_THRESHOLD, _MAX_THRESHOLD = 0.5, 1.0


class PlanOutcome(BaseModel):
    """The result of decomposition.

    `plan` is the model's plan, or the single-task fallback (`fallback=True`, reasons in
    `errors`). When `call_status` is one of `STOP_STATUSES` (budget exhausted, job timeout,
    cancelled), `stopped` is True and the job must end with that status: `plan` is then the
    fallback only so that it is never None, and must not be run.
    """

    plan: Plan
    fallback: bool = False
    errors: list[str]
    call_status: CallStatus
    attempts: int = 0
    model: str | None = None
    cost_usd: float = 0.0

    @property
    def stopped(self) -> bool:
        return self.call_status in STOP_STATUSES


def guess_task_type(text: str) -> TaskType:
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return (
        TaskType.CODE_GENERATION if _CODE_WORDS.intersection(words) else TaskType.COMPLEX_REASONING
    )


def fallback_plan(spec: JobSpec) -> Plan:
    """One task that carries the whole project."""
    prompt = spec.project_description
    if spec.success_criteria:
        prompt += f"\n\nSuccess criteria:\n{spec.success_criteria}"
    task_type = guess_task_type(spec.project_description)
    title = short_title(spec.project_description)
    return Plan(tasks=[PlannedTask(id="task_001", title=title, type=task_type, prompt=prompt)])


def parse_plan(text: str) -> Plan:
    """Validate the answer as a Plan; a fence around the whole answer is tolerated."""
    return Plan.model_validate_json(unwrap_fence(text).strip())


def _error_text(e: ValidationError) -> str:
    lines = []
    for err in e.errors(include_url=False)[:10]:
        where = ".".join(str(p) for p in err["loc"]) or "plan"
        lines.append(f"{where}: {err['msg']}")
    return "\n".join(lines)


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
            plan = parse_plan(result.text)
        except ValidationError as e:
            detail = _error_text(e)
            errors.append(f"attempt {slot + 1}: invalid plan: {detail}")
            prompt = prompts.decompose_retry(base, previous=result.text, error=detail)
            continue
        return PlanOutcome(
            plan=plan,
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
            )
        )
    return tasks
