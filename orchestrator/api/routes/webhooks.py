"""The webhook deliveries of a job: every attempt, with its answer and the next retry."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import StoreDep
from orchestrator.api.errors import errors
from orchestrator.api.schemas import WebhookAttemptPublic

router = APIRouter(prefix="/api/jobs/{job_id}", tags=["webhooks"])


@router.get("/webhooks", responses=errors(404))
async def list_webhook_attempts(job_id: str, store: StoreDep) -> list[WebhookAttemptPublic]:
    """Every attempt to deliver the job's webhooks, oldest first."""
    await store.get_job(job_id)
    attempts = await store.list_webhook_attempts(job_id)
    return [WebhookAttemptPublic.model_validate(a.model_dump()) for a in attempts]
