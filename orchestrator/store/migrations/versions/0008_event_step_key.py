"""Events told by a durable step carry the step's key, so a step that runs again after a
crash stores them once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("step_key", sa.String(length=200), nullable=True))
        batch.create_index("uq_events_step_key", ["job_id", "step_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("uq_events_step_key")
        batch.drop_column("step_key")
