"""Bodies of the plan review routes: a job's plan with its forecast, and an approval.

Wire models only (no server imports): the HTTP client reads and sends them too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from orchestrator.domain import Budget, JobStatus, TaskStatus, TaskType
from orchestrator.plan import Estimate


class PlanTaskPublic(BaseModel):
    id: str
    title: str
    type: TaskType
    prompt: str
    dependencies: list[str]
    acceptance_threshold: float
    files: list[str] = Field(
        default_factory=list, description="The project files it creates or changes, if any"
    )
    pinned_model: str | None = Field(description="The model a reviewer chose, if any")
    model: str | None = Field(description="Who would generate it now (routing or the pin)")
    critic: str | None
    evaluators: list[str]
    iterations: Estimate = Field(description="Iterations it may take: low / expected / high")
    forecast: Estimate = Field(description="Its cost range, USD")
    basis: str = Field(description="What the forecast rests on")
    status: TaskStatus
    cost: float = Field(description="What it has cost so far, USD")


class ForecastPublic(Estimate):
    basis: str = Field(description='e.g. "from 312 recorded calls" or "no history: priors"')
    recorded_calls: int


class PlanPublic(BaseModel):
    job_id: str
    status: JobStatus
    tasks: list[PlanTaskPublic]
    forecast: ForecastPublic
    budget_usd: float
    spent_usd: float = Field(description="Spent so far (the planning, while under review)")
    leaves_usd: Estimate = Field(
        description="What the budget would leave after the run: low = after the high end"
    )
    over_budget: bool = Field(description="Even the forecast's low end is above the budget left")


class ApproveRequest(BaseModel):
    """Optional body of `POST /api/jobs/{id}/approve`."""

    budget_usd: Budget | None = Field(default=None, description="New budget")


class ReviewDecision(BaseModel):
    job_id: str
    status: Literal["approved", "rejected"]
