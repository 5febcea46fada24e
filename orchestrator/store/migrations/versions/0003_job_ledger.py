"""The job's budget in the database: open reservations, live spend, the job's live run.

`jobs.total_cost` becomes the job's live spend (it was written when a job ended): it starts
as the sum of the job's recorded calls.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("reserved_usd", sa.Numeric(20, 10), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("run_token", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("owner", sa.String(128), nullable=True))
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(
            sa.Column("reserved_usd", sa.Numeric(20, 10), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE jobs SET total_cost = COALESCE("
        "(SELECT SUM(llm_calls.cost_usd) FROM llm_calls WHERE llm_calls.job_id = jobs.job_id), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("reserved_usd")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("owner")
        batch.drop_column("run_token")
        batch.drop_column("reserved_usd")
