"""Plan review: read and edit the plan of a job awaiting review, then approve or reject it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Body

from orchestrator.api.deps import RuntimeDep
from orchestrator.api.errors import errors
from orchestrator.api.plan_schemas import (
    ApproveRequest,
    ForecastPublic,
    PlanPublic,
    PlanTaskPublic,
    ReviewDecision,
)
from orchestrator.plan import ReviewedPlan
from orchestrator.runtime.review import PlanReview

router = APIRouter(prefix="/api/jobs/{job_id}", tags=["review"])


def plan_public(review: PlanReview) -> PlanPublic:
    """The runtime's view of a plan as the API shows it: each task beside its forecast."""
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
                files=t.files,
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
    return PlanPublic(
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


@router.get("/plan", responses=errors(404))
async def get_plan(job_id: str, runtime: RuntimeDep) -> PlanPublic:
    """The job's plan: each task with its routed model and cost range, the job's range and
    what its budget would leave. Any planned job has one; a running one shows its actual
    cost beside the forecast."""
    return plan_public(await runtime.reviews.view(job_id))


@router.put("/plan", responses=errors(404, 409, 422))
async def put_plan(job_id: str, plan: ReviewedPlan, runtime: RuntimeDep) -> PlanPublic:
    """Replace the plan of a job awaiting review (change prompts, types, dependencies, pin
    a model, add or remove tasks); checked as a planner's plan. Answers the new forecast."""
    return plan_public(await runtime.reviews.edit(job_id, plan))


@router.post("/approve", status_code=HTTPStatus.ACCEPTED, responses=errors(404, 409, 422))
async def approve_job(
    job_id: str,
    runtime: RuntimeDep,
    body: Annotated[ApproveRequest | None, Body()] = None,
) -> ReviewDecision:
    """Run the reviewed plan (409 unless the job awaits review); optionally a new budget."""
    body = body or ApproveRequest()
    await runtime.approve(job_id, budget_usd=body.budget_usd)
    return ReviewDecision(job_id=job_id, status="approved")


@router.post("/reject", status_code=HTTPStatus.ACCEPTED, responses=errors(404, 409))
async def reject_job(job_id: str, runtime: RuntimeDep) -> ReviewDecision:
    """End the job CANCELLED without running any task (409 unless it awaits review)."""
    await runtime.reject(job_id)
    return ReviewDecision(job_id=job_id, status="rejected")
