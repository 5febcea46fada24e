"""Domain vocabulary: closed status enums, the job spec, task, call and job records (the
plan and its forecast are in orchestrator/plan.py).

Everything here is plain data shared by every layer; nothing here does I/O.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)
from pydantic_core import PydanticCustomError

from orchestrator.storable import StorableText

MAX_DESCRIPTION_CHARS = 20_000
# The smallest budget: a millionth of a dollar (amounts are stored to 1e-10; a smaller
# "positive" budget would read back as 0).
MIN_BUDGET_USD = 0.000001


def _at_least_a_millionth(budget: float) -> float:
    if budget < MIN_BUDGET_USD:
        raise PydanticCustomError(
            "budget_too_small", "Input should be at least {minimum} USD", {"minimum": "0.000001"}
        )
    return budget


# A job's hard budget in USD (the contract says > 0; below a millionth it is refused too).
Budget = Annotated[float, Field(gt=0, le=10_000), AfterValidator(_at_least_a_millionth)]


def _http_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if scheme.lower() not in ("http", "https") or not host or any(c.isspace() for c in url):
        raise PydanticCustomError("webhook_url", "must be an http:// or https:// URL with a host")
    return url


# Where webhooks go: an http(s) URL (whether its host may be private is the runtime's call).
WebhookUrl = Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]


class TaskType(StrEnum):
    CODE_GENERATION = "code_generation"
    CODE_REVIEW = "code_review"
    COMPLEX_REASONING = "complex_reasoning"
    CREATIVE_WRITING = "creative_writing"
    DATA_EXTRACTION = "data_extraction"
    SUMMARIZATION = "summarization"
    EVALUATION = "evaluation"


class JobStatus(StrEnum):
    """Coarse lifecycle of a job, as the HTTP contract shows it."""

    PENDING = "pending"
    RUNNING = "running"
    # Planned, stopped before any task ran: a person approves, edits or rejects the plan.
    AWAITING_REVIEW = "awaiting_review"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def is_terminal(self) -> bool:
        return self in TERMINAL_JOB_STATUSES


TERMINAL_JOB_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


class ProjectStatus(StrEnum):
    """The outcome of a finished job (`final_status`)."""

    SUCCESS = "SUCCESS"
    PARTIAL_SUCCESS = "PARTIAL_SUCCESS"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    TIMEOUT = "TIMEOUT"
    # No task produced usable output because the models failed them (reasons on each task).
    FAILED = "FAILED"
    # Our own error ended the job (a bug, the database gone): never a model's failure.
    SYSTEM_FAILURE = "SYSTEM_FAILURE"
    CANCELLED = "CANCELLED"

    @property
    def job_status(self) -> JobStatus:
        if self in (ProjectStatus.SUCCESS, ProjectStatus.PARTIAL_SUCCESS):
            return JobStatus.DONE
        if self is ProjectStatus.CANCELLED:
            return JobStatus.CANCELLED
        return JobStatus.FAILED

    def is_success(self) -> bool:
        return self in (ProjectStatus.SUCCESS, ProjectStatus.PARTIAL_SUCCESS)


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    DEGRADED = "degraded"
    SKIPPED = "skipped"

    def is_terminal(self) -> bool:
        return self in TERMINAL_TASK_STATUSES

    def is_usable(self) -> bool:
        """Whether dependents may build on this task's output."""
        return self in (TaskStatus.COMPLETED, TaskStatus.DEGRADED)


TERMINAL_TASK_STATUSES = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.DEGRADED, TaskStatus.SKIPPED}
)


class Role(StrEnum):
    """Why an LLM call is made."""

    DECOMPOSE = "decompose"
    GENERATE = "generate"
    CRITIQUE = "critique"
    REVISE = "revise"
    EVALUATE = "evaluate"


class CallOutcome(StrEnum):
    OK = "ok"
    ERROR = "error"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    # Recorded before the request goes out, with its reservation; replaced by the attempt's
    # outcome when it returns.
    IN_FLIGHT = "in_flight"
    # An attempt whose process died while it was in flight: the provider may have billed
    # it, so it is charged its reservation (the most it could have cost).
    INTERRUPTED = "interrupted"
    # Cut by the job's time limit: the job's doing, not the model's (charged like a timeout).
    DEADLINE = "deadline"

    @property
    def says_about_model(self) -> bool:
        """Whether the outcome tells how the model behaves (telemetry counts it)."""
        return self not in (CallOutcome.IN_FLIGHT, CallOutcome.INTERRUPTED, CallOutcome.DEADLINE)


class StopReason(StrEnum):
    """Why a task loop stopped iterating."""

    THRESHOLD = "threshold"
    PLATEAU = "plateau"
    MAX_ITERATIONS = "max_iterations"
    BUDGET = "budget"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    NO_MODEL = "no_model"


class JobSpec(BaseModel):
    """What a user asks for; the body of `POST /api/jobs` and the project YAML."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    project_description: StorableText = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS)
    success_criteria: StorableText = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    budget_usd: Budget = 8.0
    time_limit_s: float = Field(default=5400, gt=0, le=7 * 24 * 3600)
    concurrency: int = Field(default=3, ge=1, le=10)
    # Stop after planning for a person to review the plan and its forecast before any task runs.
    review: bool = False
    # Stop for review anyway when the forecast's high end is above this (USD).
    max_forecast_usd: Budget | None = None  # at least a millionth: stored as money
    # Where to send this job's signed webhooks (besides ORCH_WEBHOOK_URLS): http(s) only; a
    # loopback or private host is refused unless ORCH_WEBHOOK_ALLOW_PRIVATE.
    notify_url: WebhookUrl | None = None


class ValidatorResult(BaseModel):
    name: str
    passed: bool
    detail: str = ""


class Evaluation(BaseModel):
    """Structured output of an evaluation call."""

    score: float = Field(ge=0.0, le=1.0)
    reasoning: str = ""

    @field_validator("score")
    @classmethod
    def _round(cls, v: float) -> float:
        return round(v, 4)


class IterationRecord(BaseModel):
    """One pass of generate/revise → critique → validators → evaluation."""

    iteration: int = Field(ge=1)
    model: str
    output: str
    critique: str = ""
    critic_model: str | None = None
    validators: list[ValidatorResult] = Field(default_factory=list)
    scores: list[float] = Field(default_factory=list)
    score: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    # A critique or score of this iteration came from the generator's own provider (or
    # model): no other could review it.
    self_evaluated: bool = False


class TaskResult(BaseModel):
    """What a finished task hands to the scheduler and to its dependents."""

    task_id: str
    status: TaskStatus
    score: float | None = None
    model: str | None = None
    output: str = ""
    cost_usd: float = 0.0
    iterations: int = 0
    stop_reason: StopReason | None = None
    reason: str = ""


class TaskState(BaseModel):
    """A task as stored: the plan node plus its progress."""

    job_id: str
    task_id: str
    type: TaskType
    prompt: str
    dependencies: list[str] = Field(default_factory=list)
    acceptance_threshold: float
    title: str = ""
    # The model a reviewer chose to generate it (None: routing chooses).
    pinned_model: str | None = None
    # The files of the project tree it creates or changes (empty: it writes none).
    files: list[str] = Field(default_factory=list)
    status: TaskStatus = TaskStatus.PENDING
    score: float | None = None
    model: str | None = None
    cost_usd: float = 0.0
    iterations: int = 0
    output: str = ""
    reason: str = ""
    # Its score is that of a self-evaluated iteration (IterationRecord.self_evaluated).
    self_evaluated: bool = False

    def as_result(self) -> TaskResult:
        """What dependents and the scheduler see of a task finished in an earlier attempt."""
        return TaskResult(
            task_id=self.task_id,
            status=self.status,
            score=self.score,
            model=self.model,
            output=self.output,
            cost_usd=self.cost_usd,
            iterations=self.iterations,
            reason=self.reason,
        )


class JobBudget(BaseModel):
    """A job's money as the database holds it: the cap, what was spent, what calls in flight
    have reserved."""

    budget_usd: Decimal
    spent_usd: Decimal
    reserved_usd: Decimal

    @property
    def available_usd(self) -> Decimal:
        return max(self.budget_usd - self.spent_usd - self.reserved_usd, Decimal(0))


class JobRecord(BaseModel):
    """A job as stored."""

    job_id: str
    spec: JobSpec
    status: JobStatus = JobStatus.PENDING
    final_status: ProjectStatus | None = None
    total_cost: float = 0.0
    created_at: float
    updated_at: float
    task_count: int = 0
    simulated: bool = False
    attempt: int = 0
    error: str = ""


class CallRecord(BaseModel):
    """One attempt at one LLM call, as recorded in `llm_calls`.

    A logical call is keyed by (job_id, task_id, iteration, role, slot); `attempt` counts
    retries and fallbacks within it. A successful record with the same key and
    `request_hash` is reused instead of paying for the call again.
    """

    job_id: str
    task_id: str = ""
    iteration: int = 0
    role: Role
    slot: int = 0
    attempt: int = 0
    model: str
    provider: str
    simulated: bool = False
    request_hash: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    reserved_usd: float = 0.0  # the worst case reserved for it (held while in flight)
    latency_ms: float = 0.0
    outcome: CallOutcome
    error: str = ""
    response_text: str = ""
    created_at: float


class CallSize(BaseModel):
    """The size of one answered call of a past task: what a forecast learns answer sizes from."""

    task_type: TaskType
    role: Role
    model: str
    input_tokens: int
    output_tokens: int


class TaskRun(BaseModel):
    """How many iterations one finished task of a past job took."""

    task_type: TaskType
    iterations: int
