"""The store: SQLAlchemy tables, queries and Alembic migrations (SQLite or PostgreSQL)."""

from orchestrator.store._artifacts import check_artifact_path
from orchestrator.store.repository import Store
from orchestrator.store.tables import metadata

__all__ = ["Store", "check_artifact_path", "metadata"]
