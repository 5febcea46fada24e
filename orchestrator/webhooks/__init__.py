"""Webhooks: URL rules, Standard Webhooks signing, one attempt, backoff between attempts.

Durable delivery (a DBOS workflow per delivery, attempts recorded) is in
`orchestrator/runtime/deliveries.py`.
"""

from orchestrator.webhooks._payload import (
    AWAITING_REVIEW,
    BUDGET_WARNING,
    FAILED,
    FINISHED,
    WARNING_SHARE,
    WebhookPayload,
    events_of,
    payload,
)
from orchestrator.webhooks._send import (
    DELIVERED,
    GONE,
    RETRY,
    AttemptResult,
    Backoff,
    send,
    signed_headers,
)
from orchestrator.webhooks._urls import check_form, check_reachable, shown

__all__ = [
    "AWAITING_REVIEW",
    "BUDGET_WARNING",
    "DELIVERED",
    "FAILED",
    "FINISHED",
    "GONE",
    "RETRY",
    "WARNING_SHARE",
    "AttemptResult",
    "Backoff",
    "WebhookPayload",
    "check_form",
    "check_reachable",
    "events_of",
    "payload",
    "send",
    "shown",
    "signed_headers",
]
