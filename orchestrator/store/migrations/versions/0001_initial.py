"""The initial schema: jobs, tasks, iterations, events, llm_calls, artifacts.

Revision ID: 0001
Revises:
Create Date: 2025-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 10)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(8), nullable=False),
        sa.Column("project_description", sa.Text(), nullable=False),
        sa.Column("success_criteria", sa.Text(), nullable=False),
        sa.Column("budget_usd", MONEY, nullable=False),
        sa.Column("time_limit_s", sa.Double(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("final_status", sa.String(32), nullable=True),
        sa.Column("total_cost", MONEY, nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("task_count", sa.Integer(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_created_at", "jobs", ["created_at", "job_id"])
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at", "job_id"])

    op.create_table(
        "tasks",
        sa.Column("job_id", sa.String(8), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("dependencies", sa.JSON(), nullable=False),
        sa.Column("acceptance_threshold", sa.Double(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("cost_usd", MONEY, nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "task_id", name="pk_tasks"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.job_id"], name="fk_tasks_job_id_jobs", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "iterations",
        sa.Column("job_id", sa.String(8), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("iteration", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("critique", sa.Text(), nullable=False),
        sa.Column("critic_model", sa.String(128), nullable=True),
        sa.Column("validators", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", MONEY, nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "task_id", "iteration", name="pk_iterations"),
        sa.ForeignKeyConstraint(
            ["job_id", "task_id"],
            ["tasks.job_id", "tasks.task_id"],
            name="fk_iterations_job_id_tasks",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "events",
        sa.Column("job_id", sa.String(8), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "id", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.job_id"], name="fk_events_job_id_jobs", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "llm_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(8), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(128), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("request_hash", sa.String(128), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", MONEY, nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("response_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_llm_calls"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.job_id"], name="fk_llm_calls_job_id_jobs", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "uq_llm_calls_attempt",
        "llm_calls",
        ["job_id", "task_id", "iteration", "role", "slot", "attempt"],
        unique=True,
    )
    op.create_index("ix_llm_calls_model", "llm_calls", ["model"])

    op.create_table(
        "artifacts",
        sa.Column("job_id", sa.String(8), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "path", name="pk_artifacts"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.job_id"], name="fk_artifacts_job_id_jobs", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    for table in ("artifacts", "llm_calls", "events", "iterations", "tasks", "jobs"):
        op.drop_table(table)
