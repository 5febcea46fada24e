"""What a webhook says: Standard Webhooks' `{type, timestamp, data}` about one job."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from orchestrator.domain import JobRecord, JobStatus, ProjectStatus
from orchestrator.plan import short_title

FINISHED, FAILED, AWAITING_REVIEW = "job.finished", "job.failed", "job.awaiting_review"
BUDGET_WARNING = "job.budget_warning"
# The share of its budget a job has spent when job.budget_warning is sent.
WARNING_SHARE = 0.8


class JobLinks(BaseModel):
    """Paths on the server: the job's page and its result files as a zip."""

    page: str
    files: str


class JobNotice(BaseModel):
    job_id: str
    title: str
    status: JobStatus
    final_status: ProjectStatus | None
    total_cost: float
    budget_usd: float
    links: JobLinks


class WebhookPayload(BaseModel):
    type: str
    timestamp: str
    data: JobNotice


def events_of(outcome: ProjectStatus | None) -> list[str]:
    """The events a run's end raises: None is a stop for plan review; every final status
    is `job.finished`, a failed one `job.failed` too."""
    if outcome is None:
        return [AWAITING_REVIEW]
    if outcome.job_status is JobStatus.FAILED:
        return [FINISHED, FAILED]
    return [FINISHED]


def payload(event: str, job: JobRecord, now: float, *, spent: float) -> WebhookPayload:
    """`spent`: the job's spend now (a running job's stored total lags behind)."""
    notice = JobNotice(
        job_id=job.job_id,
        title=short_title(job.spec.project_description),
        status=job.status,
        final_status=job.final_status,
        total_cost=spent,
        budget_usd=job.spec.budget_usd,
        links=JobLinks(page=f"/jobs/{job.job_id}/", files=f"/api/jobs/{job.job_id}/artifacts.zip"),
    )
    stamp = datetime.fromtimestamp(now, tz=UTC).isoformat()
    return WebhookPayload(type=event, timestamp=stamp, data=notice)
