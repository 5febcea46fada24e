"""Scores that came from the generator's own provider (or its own model) are marked
self-evaluated: per iteration, and on the task for the iteration whose score it shows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("tasks", "iterations"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("self_evaluated", sa.Boolean(), nullable=False, server_default=sa.false())
            )


def downgrade() -> None:
    for table in ("iterations", "tasks"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("self_evaluated")
