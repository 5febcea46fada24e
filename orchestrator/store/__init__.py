"""The store: SQLAlchemy tables, queries and Alembic migrations (SQLite or PostgreSQL)."""

from orchestrator.store._artifacts import check_artifact_path
from orchestrator.store._engine import is_transient
from orchestrator.store._notify import EventListener
from orchestrator.store._webhooks import WebhookAttempt
from orchestrator.store._workers import WorkerBeat
from orchestrator.store.repository import Store
from orchestrator.store.tables import metadata

__all__ = [
    "EventListener",
    "Store",
    "WebhookAttempt",
    "WorkerBeat",
    "check_artifact_path",
    "is_transient",
    "metadata",
]
