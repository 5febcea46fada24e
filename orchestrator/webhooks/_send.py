"""One webhook attempt, signed per Standard Webhooks, and when to try again.

Headers: `webhook-id` (the same for every attempt of one delivery, so receivers can drop
repeats), `webhook-timestamp` (seconds; receivers refuse old ones, so a captured request
cannot be replayed later), `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`
made by the `standardwebhooks` package, whose `Webhook(secret).verify` receivers use.
"""

from __future__ import annotations

import email.utils
import random
import time
from datetime import UTC, datetime

import httpx
from pydantic import BaseModel
from standardwebhooks import Webhook

# An attempt's answer: done (delivered, or the receiver said 410 Gone), or try again.
DELIVERED, GONE, RETRY = "delivered", "gone", "retry"


class AttemptResult(BaseModel):
    outcome: str  # DELIVERED, GONE or RETRY
    status_code: int | None = None
    error: str = ""
    retry_after_s: float | None = None


class Backoff(BaseModel):
    """Exponential backoff with jitter: `first_s`, ×`factor` per attempt, at most `max_s`."""

    first_s: float = 10.0
    factor: float = 4.0
    max_s: float = 6 * 3600.0
    jitter: float = 0.2

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based); a receiver's
        Retry-After is honoured (up to `max_s`)."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.max_s)
        base = min(self.first_s * self.factor ** (attempt - 1), self.max_s)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or as an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def signed_headers(secret: str, webhook_id: str, body: bytes) -> dict[str, str]:
    now = datetime.now(tz=UTC)
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
    }


async def send(
    http: httpx.AsyncClient, url: str, *, secret: str, webhook_id: str, body: bytes
) -> AttemptResult:
    """POST one attempt; a 2xx is delivered, a 410 gone, anything else (a timeout, a
    refused connection, another status) is to be retried."""
    try:
        response = await http.post(
            url, content=body, headers=signed_headers(secret, webhook_id, body)
        )
    except httpx.HTTPError as e:
        return AttemptResult(outcome=RETRY, error=f"{type(e).__name__}: {e}"[:300])
    code = response.status_code
    if 200 <= code < 300:
        return AttemptResult(outcome=DELIVERED, status_code=code)
    if code == 410:
        return AttemptResult(outcome=GONE, status_code=code, error="the receiver answered 410 Gone")
    return AttemptResult(
        outcome=RETRY,
        status_code=code,
        error=f"the receiver answered {code}",
        retry_after_s=_retry_after(response.headers.get("retry-after")),
    )
