"""Webhook delivery attempts: one row per attempt, read back for the job page and metrics."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import func, insert, select

from orchestrator.store._base import StoreBase
from orchestrator.store.tables import webhook_attempts


class WebhookAttempt(BaseModel):
    job_id: str
    webhook_id: str
    event: str
    url: str
    attempt: int
    status_code: int | None
    # delivered | retrying | failed (the last attempt) | gone (410) | refused (private host)
    outcome: str
    error: str
    at: float
    next_at: float | None  # when the next attempt is due (retrying only)


class WebhooksRepo(StoreBase):
    async def record_webhook_attempt(self, attempt: WebhookAttempt) -> None:
        async with self._write() as conn:
            await conn.execute(insert(webhook_attempts).values(**attempt.model_dump()))

    async def list_webhook_attempts(self, job_id: str) -> list[WebhookAttempt]:
        query = (
            select(webhook_attempts)
            .where(webhook_attempts.c.job_id == job_id)
            .order_by(webhook_attempts.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            WebhookAttempt.model_validate({k: r[k] for k in WebhookAttempt.model_fields})
            for r in rows
        ]

    async def webhook_gone(self, job_id: str, url: str) -> bool:
        """Whether `url` answered 410 Gone to a webhook of this job (it gets no more)."""
        query = select(func.count()).where(
            webhook_attempts.c.job_id == job_id,
            webhook_attempts.c.url == url,
            webhook_attempts.c.outcome == "gone",
        )
        async with self._engine.connect() as conn:
            return bool((await conn.execute(query)).scalar_one())

    async def webhook_attempt_counts(self) -> dict[tuple[str, str], int]:
        """How many attempts there were, by (event, outcome), over every job."""
        query = select(webhook_attempts.c.event, webhook_attempts.c.outcome, func.count()).group_by(
            webhook_attempts.c.event, webhook_attempts.c.outcome
        )
        async with self._engine.connect() as conn:
            return {(e, o): int(n) for e, o, n in (await conn.execute(query)).all()}
