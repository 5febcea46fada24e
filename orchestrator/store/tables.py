"""The store's tables, in portable SQLAlchemy Core (SQLite and PostgreSQL).

The hand-written migration `migrations/versions/0001_initial.py` must create exactly this;
a test compares them. Enums are kept as plain strings (no PostgreSQL enum types) so a new
status never needs a type migration. Money is `Numeric(20, 10)` so sums are exact.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    false,
)

# Deterministic constraint names, so migrations can refer to them on every dialect.
metadata = MetaData(
    naming_convention={
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JOB_ID = 8  # the API hands out 8-character ids
TASK_ID = 64  # PlannedTask.id max length
TITLE = 64  # PlannedTask.title: 60 characters, with room
MODEL = 128
SHORT = 32  # statuses, roles, outcomes, event types
STEP_KEY = 200  # a DBOS workflow id and a step number
PATH = 1024


def money() -> Numeric[Decimal]:
    return Numeric(20, 10)


def _job_fk() -> ForeignKey:
    # Cascade is a safety net only: Store.delete_job deletes every child row itself.
    return ForeignKey("jobs.job_id", ondelete="CASCADE")


jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(JOB_ID), primary_key=True),
    Column("project_description", Text, nullable=False),
    Column("success_criteria", Text, nullable=False),
    Column("budget_usd", money(), nullable=False),
    Column("time_limit_s", Double, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("status", String(SHORT), nullable=False),
    Column("final_status", String(SHORT), nullable=True),
    Column("total_cost", money(), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("task_count", Integer, nullable=False),
    Column("simulated", Boolean, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("last_event_id", Integer, nullable=False),
    # The job's budget, shared by every process: the worst cases of calls in flight (their
    # llm_calls rows are `in_flight`), reserved by one conditional update; see store/_ledger.py.
    Column("reserved_usd", money(), nullable=False, server_default="0"),
    # The ledger's own copy of `total_cost` and `reserved_usd` in units of 1e-10 USD
    # (migration 0012): SQL adds integers exactly on both databases, so a reservation and a
    # settlement are one conditional UPDATE each. The dollar columns are written with them.
    Column("spent_units", BigInteger, nullable=False, server_default="0"),
    Column("reserved_units", BigInteger, nullable=False, server_default="0"),
    # The live run of the job: bumped by each start, resume or takeover (a fencing token that
    # a stale run's writes are checked against) and the worker that holds it.
    Column("run_token", Integer, nullable=False, server_default="0"),
    Column("owner", String(MODEL), nullable=True),
    # Plan review (migration 0005): stop after planning, or when the forecast tops this.
    Column("review", Boolean, nullable=False, server_default=false()),
    Column("max_forecast_usd", money(), nullable=True),
    # Where this job's webhooks go besides ORCH_WEBHOOK_URLS (migration 0006).
    Column("notify_url", Text, nullable=True),
    # Set when the job's deletion starts (migration 0007): from then on it is in no listing,
    # and its rows go once its run has stopped (Runtime.delete).
    Column("deleted_at", Double, nullable=True),
    # The forecast the job runs against (engine.forecast.Forecast as JSON, migration 0010):
    # frozen at approval, or when it starts unreviewed; NULL before that.
    Column("forecast", JSON, nullable=True),
    # The job list's order is (created_at, job_id) descending; these serve it without a
    # sort, unfiltered and filtered by status.
    Index("ix_jobs_created_at", "created_at", "job_id"),
    Index("ix_jobs_status_created_at", "status", "created_at", "job_id"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("job_id", String(JOB_ID), _job_fk(), primary_key=True),
    Column("task_id", String(TASK_ID), primary_key=True),
    # The plan's order, so list_tasks returns tasks as they were planned.
    Column("position", Integer, nullable=False),
    Column("type", String(SHORT), nullable=False),
    Column("prompt", Text, nullable=False),
    # What the task does in a few words (PlannedTask.title, at most 60 characters).
    Column("title", String(TITLE), nullable=False, server_default=""),
    Column("dependencies", JSON, nullable=False),
    Column("acceptance_threshold", Double, nullable=False),
    # The model a reviewer pinned to generate the task (migration 0005); NULL: routing picks.
    Column("pinned_model", String(MODEL), nullable=True),
    Column("status", String(SHORT), nullable=False),
    Column("score", Double, nullable=True),
    Column("model", String(MODEL), nullable=True),
    Column("cost_usd", money(), nullable=False),
    Column("iterations", Integer, nullable=False),
    Column("output", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", Double, nullable=False),
    # The score shown came from the generator's own provider (migration 0009).
    Column("self_evaluated", Boolean, nullable=False, server_default=false()),
    # The paths of the project tree it creates or changes (migration 0011); NULL: no manifest.
    Column("files", JSON, nullable=True),
)

iterations = Table(
    "iterations",
    metadata,
    Column("job_id", String(JOB_ID), primary_key=True),
    Column("task_id", String(TASK_ID), primary_key=True),
    Column("iteration", Integer, primary_key=True, autoincrement=False),
    Column("model", String(MODEL), nullable=False),
    Column("output", Text, nullable=False),
    Column("critique", Text, nullable=False),
    Column("critic_model", String(MODEL), nullable=True),
    Column("validators", JSON, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("score", Double, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_usd", money(), nullable=False),
    Column("latency_ms", Double, nullable=False),
    # A critique or score came from the generator's own provider (migration 0009).
    Column("self_evaluated", Boolean, nullable=False, server_default=false()),
    ForeignKeyConstraint(
        ["job_id", "task_id"],
        ["tasks.job_id", "tasks.task_id"],
        ondelete="CASCADE",
    ),
)

events = Table(
    "events",
    metadata,
    Column("job_id", String(JOB_ID), _job_fk(), primary_key=True),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("ts", Double, nullable=False),
    Column("type", String(SHORT), nullable=False),
    Column("data", Text, nullable=False),
    # The durable step that told the first event of a batch (workflow id and step number):
    # the same step run again after a crash finds it and stores its events only once.
    Column("step_key", String(STEP_KEY), nullable=True),
    Index("uq_events_step_key", "job_id", "step_key", unique=True),
)

llm_calls = Table(
    "llm_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(JOB_ID), _job_fk(), nullable=False),
    Column("task_id", String(TASK_ID), nullable=False),
    Column("iteration", Integer, nullable=False),
    Column("role", String(SHORT), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("model", String(MODEL), nullable=False),
    Column("provider", String(MODEL), nullable=False),
    Column("simulated", Boolean, nullable=False),
    Column("request_hash", String(128), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_usd", money(), nullable=False),
    # The worst case reserved for the attempt: held from the budget while it is `in_flight`,
    # kept beside `cost_usd` (what it was billed) once it returned.
    Column("reserved_usd", money(), nullable=False, server_default="0"),
    Column("latency_ms", Double, nullable=False),
    Column("outcome", String(SHORT), nullable=False),
    Column("error", Text, nullable=False),
    Column("response_text", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    # One row per attempt of a logical call: a re-run step cannot record it twice. Its
    # leading column also serves "calls of a job", so there is no separate job_id index.
    Index(
        "uq_llm_calls_attempt",
        "job_id",
        "task_id",
        "iteration",
        "role",
        "slot",
        "attempt",
        unique=True,
    ),
    Index("ix_llm_calls_model", "model"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("job_id", String(JOB_ID), _job_fk(), primary_key=True),
    Column("path", String(PATH), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", Double, nullable=False),
)

# Every attempt to deliver a webhook of a job (migration 0006): one `webhook_id` per event
# and endpoint, the same across its retries.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(JOB_ID), _job_fk(), nullable=False),
    Column("webhook_id", String(64), nullable=False),
    Column("event", String(SHORT), nullable=False),
    Column("url", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("outcome", String(SHORT), nullable=False),
    Column("error", Text, nullable=False),
    Column("at", Double, nullable=False),
    Column("next_at", Double, nullable=True),
    Index("ix_webhook_attempts_job_id", "job_id", "id"),
)

# Children first: the order delete_job removes rows in.
CHILD_TABLES = (iterations, tasks, events, llm_calls, artifacts, webhook_attempts)

# Worker processes sharing the job queue: each beats here while it lives, so the others can
# tell a dead one (its jobs are then recovered elsewhere). Not tied to any job.
workers = Table(
    "workers",
    metadata,
    Column("worker_id", String(MODEL), primary_key=True),
    Column("host", String(MODEL), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Double, nullable=False),
    Column("seen_at", Double, nullable=False),
)
