"""Job events: what the live stream sends and what the store keeps, one model per kind.

Every event is stored with a per-job increasing id before anyone is told about it, so a
live subscriber and a reconnecting one see the same ids. The `data` of an SSE message is
the event's JSON; `log`, `task` and `done` keep the exact shape of the HTTP contract.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from orchestrator.domain import JobStatus, ProjectStatus, TaskStatus

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class LogEvent(BaseModel):
    type: Literal["log"] = "log"
    level: LogLevel = "INFO"
    msg: str
    ts: float


class TaskEvent(BaseModel):
    type: Literal["task"] = "task"
    task_id: str
    status: TaskStatus
    score: float | None = None
    model: str | None = None
    cost: float = 0.0
    iterations: int = 0
    reason: str = ""
    self_evaluated: bool = False  # ours: its score came from the generator's own provider


class StatusEvent(BaseModel):
    type: Literal["status"] = "status"
    status: JobStatus
    final_status: ProjectStatus | None = None
    ts: float


class CostEvent(BaseModel):
    type: Literal["cost"] = "cost"
    total_cost: float
    budget_usd: float
    ts: float


class PlanEvent(BaseModel):
    """The job's plan is ready for review, or a reviewer changed it: its forecast range."""

    type: Literal["plan"] = "plan"
    task_count: int
    low: float
    expected: float
    high: float
    budget_usd: float
    ts: float


class DoneEvent(BaseModel):
    type: Literal["done"] = "done"
    status: ProjectStatus
    total_cost: float


JobEvent = Annotated[
    LogEvent | TaskEvent | StatusEvent | CostEvent | PlanEvent | DoneEvent,
    Field(discriminator="type"),
]
job_event_adapter: TypeAdapter[JobEvent] = TypeAdapter(JobEvent)


class StoredEvent(BaseModel):
    """An event with its per-job id, as read back from the store."""

    job_id: str
    id: int
    event: JobEvent
