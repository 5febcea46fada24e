"""Bodies of the HTTP API: what clients send (`...Create`) and get back (`...Public`).

The seed contract's fields keep their names and meaning; fields added on top are marked
"ours". Times are epoch seconds (float), money is US dollars (float).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, RootModel, SecretStr

from orchestrator.config import ModelLifecycle
from orchestrator.domain import (
    Budget,
    IterationRecord,
    JobRecord,
    JobSpec,
    JobStatus,
    ProjectStatus,
    TaskState,
    TaskStatus,
    TaskType,
)
from orchestrator.events import JobEvent, LogLevel


class JobCreate(JobSpec):
    """Body of `POST /api/jobs`: the job spec (the same fields as a project YAML file)."""


class JobCreated(BaseModel):
    job_id: str


class ResumeRequest(BaseModel):
    """Optional body of `POST /api/jobs/{id}/resume`."""

    budget_usd: Budget | None = Field(default=None, description="New budget")
    time_limit_s: float | None = Field(
        default=None, gt=0, le=7 * 24 * 3600, description="New time limit of each run, seconds"
    )


class JobAccepted(BaseModel):
    job_id: str
    status: Literal["resuming", "cancelling"]


class JobSummary(BaseModel):
    job_id: str
    project_description: str
    status: JobStatus
    total_cost: float
    final_status: ProjectStatus | None
    created_at: float
    updated_at: float
    task_count: int
    simulated: bool = Field(description="ours: answered by the built-in simulator")
    budget_usd: float = Field(description="ours: the hard cap, as set (also on the detail)")
    time_limit_s: float = Field(description="ours: each run's time limit, in seconds")

    @classmethod
    def of(cls, job: JobRecord, *, spent: float | None = None) -> JobSummary:
        """`spent`: the live spend of a running job (the stored total lags behind)."""
        return cls(
            job_id=job.job_id,
            project_description=job.spec.project_description,
            status=job.status,
            total_cost=job.total_cost if spent is None else spent,
            final_status=job.final_status,
            created_at=job.created_at,
            updated_at=job.updated_at,
            task_count=job.task_count,
            simulated=job.simulated,
            budget_usd=job.spec.budget_usd,
            time_limit_s=job.spec.time_limit_s,
        )


class TaskSummary(BaseModel):
    task_id: str
    status: TaskStatus
    score: float | None
    model: str | None
    cost: float
    iterations: int
    # ours
    title: str = Field(description="ours: what the task does, in a few words (from the plan)")
    type: TaskType
    dependencies: list[str]
    reason: str = Field(description="ours: why the task ended as it did")
    self_evaluated: bool = Field(
        description="ours: its score came from the generator's own provider or model, as no "
        "other could review it"
    )

    @classmethod
    def of(cls, task: TaskState) -> TaskSummary:
        return cls(
            task_id=task.task_id,
            status=task.status,
            score=task.score,
            model=task.model,
            cost=task.cost_usd,
            iterations=task.iterations,
            title=task.title,
            type=task.type,
            dependencies=task.dependencies,
            reason=task.reason,
            self_evaluated=task.self_evaluated,
        )


class JobDetail(JobSummary):
    tasks: dict[str, TaskSummary]
    success_criteria: str
    # ours
    concurrency: int


class IterationPublic(IterationRecord):
    """One pass of generate/revise → critique → validators → evaluation."""


class TaskDetail(TaskSummary):
    prompt: str
    acceptance_threshold: float
    output: str = Field(description="The task's final output")
    history: list[IterationPublic] = Field(description="Every iteration, oldest first")

    @classmethod
    def with_history(cls, task: TaskState, history: list[IterationRecord]) -> TaskDetail:
        return cls(
            **TaskSummary.of(task).model_dump(),
            prompt=task.prompt,
            acceptance_threshold=task.acceptance_threshold,
            output=task.output,
            history=[IterationPublic.model_validate(h.model_dump()) for h in history],
        )


class ArtifactPublic(BaseModel):
    path: str
    size: int
    task_id: str | None = Field(
        default=None, description="The task that wrote it last (None: the job's summary)"
    )


class FileVersionPublic(BaseModel):
    """ours: one version of a result file, the commit of the job's git history that wrote it."""

    commit: str = Field(description="The commit's id (40 hex digits)")
    model: str = Field(description="Who wrote it: the commit's author, a model")
    task_id: str | None = Field(description="The task that wrote it (None: not a task's commit)")
    message: str = Field(description="The commit's message: the task, its score and cost")
    time: float
    size: int = Field(description="Bytes of this version")
    previous: str | None = Field(description="The commit of the version before (None: the first)")
    content_url: str = Field(description="Where this version's contents are served")
    diff_url: str = Field(description="Where its diff against the version before is served")


class FileHistoryPublic(BaseModel):
    """ours: `GET /api/jobs/{id}/files/{path}/history`, the file's versions, newest first
    (none for a result file outside the history: the job's summary, or a job this server
    holds no workspace of)."""

    path: str
    versions: list[FileVersionPublic]


class FileDiffPublic(BaseModel):
    """ours: a version of a file against the version before it, as a unified diff."""

    path: str
    commit: str
    previous: str | None = Field(description="The version compared with (None: the first)")
    diff: str = Field(description="Unified diff; the first version shows the whole file added")


class ModelStatsPublic(BaseModel):
    model: str
    provider: str
    success_rate: float
    trust_factor: float
    avg_latency_ms: float
    latency_p95_ms: float
    avg_cost_usd: float
    call_count: int
    failure_count: int
    cost_per_1m_input: float
    cost_per_1m_output: float
    # ours
    simulated: bool = Field(description="ours: answered by the built-in simulator here")
    available: bool = Field(description="ours: the circuit breaker lets calls through now")
    lifecycle: ModelLifecycle = Field(
        default="current",
        description="ours: whether its provider has retired it (never routed then) or "
        "deprecated it (retiring: served until retirement_date, if it has one)",
    )
    retirement_date: date | None = Field(
        default=None, description="ours: the day its provider stops (or stopped) serving it"
    )
    replacement: str | None = Field(
        default=None, description="ours: the model its provider recommends instead"
    )
    rerouted_to: str | None = Field(
        default=None,
        description="ours: the model the provider answers its name with from retirement_date",
    )
    retirement_notice: str | None = Field(
        default=None, description="ours: the provider's deprecation notice (a URL)"
    )


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class VersionPublic(BaseModel):
    version: str
    api_version: str
    simulated: bool = Field(description="Some model is answered by the built-in simulator")
    executor_id: str
    database: str


class SessionCreate(BaseModel):
    """Body of `POST /api/session`: the server's API token (ORCH_API_TOKEN)."""

    # SecretStr: never echoed by a repr, a log line or a validation error.
    token: SecretStr = Field(min_length=1, max_length=4096)


class SessionPublic(BaseModel):
    auth_required: bool = Field(description="The server has an API token")
    authenticated: bool = Field(description="This request carried the token or a valid session")


class StreamEvent(RootModel[JobEvent]):
    """The JSON `data` of one event of `GET /api/jobs/{id}/stream` (its `id:` is the
    per-job event id; `Last-Event-ID` or `?after=` resumes after it)."""


class LogLine(BaseModel):
    """One line of a job's log (a `log` event of its stream, with its event id)."""

    id: int
    level: LogLevel
    msg: str
    ts: float


class WebhookAttemptPublic(BaseModel):
    """One attempt to deliver a webhook of the job (the URL without query or credentials)."""

    webhook_id: str = Field(description="The same for every attempt of one delivery")
    event: str
    url: str
    attempt: int
    status_code: int | None = Field(description="The receiver's answer; null: none came")
    outcome: Literal["delivered", "retrying", "failed", "gone", "refused"]
    error: str
    at: float
    next_at: float | None = Field(description="When the next attempt is due (retrying)")
