"""Bodies of the plan review routes: a job's plan with its forecast, and an approval."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from orchestrator.domain import Budget, JobStatus, TaskStatus, TaskType
from orchestrator.engine.forecast import Estimate
from orchestrator.runtime.review import PlanReview


class PlanTaskPublic(BaseModel):
    id: str
    title: str
    type: TaskType
    prompt: str
    dependencies: list[str]
    acceptance_threshold: float
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

    @classmethod
    def of(cls, review: PlanReview) -> PlanPublic:
        by_id = {f.task_id: f for f in review.forecast.tasks}
        tasks = []
        for t in review.tasks:
            f = by_id[t.task_id]
            tasks.append(
                PlanTaskPublic(
                    id=t.task_id,
                    title=t.title,
                    type=t.type,
                    prompt=t.prompt,
                    dependencies=t.dependencies,
                    acceptance_threshold=t.acceptance_threshold,
                    pinned_model=t.pinned_model,
                    model=f.model,
                    critic=f.critic,
                    evaluators=f.evaluators,
                    iterations=f.iterations,
                    forecast=f.cost,
                    basis=f.basis,
                    status=t.status,
                    cost=t.cost_usd,
                )
            )
        total = review.forecast.total
        return cls(
            job_id=review.job_id,
            status=review.status,
            tasks=tasks,
            forecast=ForecastPublic(
                **total.model_dump(),
                basis=review.forecast.basis,
                recorded_calls=review.forecast.recorded_calls,
            ),
            budget_usd=review.budget_usd,
            spent_usd=review.spent_usd,
            leaves_usd=review.leaves_usd,
            over_budget=review.leaves_usd.high < 0,
        )


class ApproveRequest(BaseModel):
    """Optional body of `POST /api/jobs/{id}/approve`."""

    budget_usd: Budget | None = Field(default=None, description="New budget")


class ReviewDecision(BaseModel):
    job_id: str
    status: Literal["approved", "rejected"]
