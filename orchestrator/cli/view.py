"""Rich renderings for the command line: the live task table, job lists, job details."""

from __future__ import annotations

import time

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from orchestrator.domain import JobRecord, TaskState, TaskStatus
from orchestrator.money import usd, usd_exact

STATUS_STYLE = {
    TaskStatus.PENDING: "dim",
    TaskStatus.RUNNING: "cyan",
    TaskStatus.COMPLETED: "green",
    TaskStatus.DEGRADED: "yellow",
    TaskStatus.FAILED: "red",
    TaskStatus.SKIPPED: "magenta",
}


def sim_label(job: JobRecord) -> str:
    return " [bold yellow](simulated providers)[/]" if job.simulated else ""


def budget_bar(job: JobRecord, spent: float) -> Group:
    budget = job.spec.budget_usd
    line = Text(f"cost {usd(spent)} of {usd_exact(budget)} ({100 * spent / budget:.1f}%)")
    return Group(line, ProgressBar(total=budget, completed=min(spent, budget), width=50))


def task_table(tasks: list[TaskState]) -> Table:
    table = Table(expand=False)
    for column in ("task", "title", "type", "status", "score", "iter", "model", "cost"):
        table.add_column(column)
    for t in tasks:
        style = STATUS_STYLE[t.status]
        table.add_row(
            t.task_id,
            t.title,
            t.type,
            Text(t.status, style=style),
            f"{t.score:.2f}" if t.score is not None else "",
            str(t.iterations or ""),
            t.model or "",
            usd(t.cost_usd),
        )
    return table


def live_view(job: JobRecord, tasks: list[TaskState], spent: float, started: float) -> Group:
    title = Text.from_markup(
        f"[bold]{job.job_id}[/] {job.status}{sim_label(job)} · {time.time() - started:.0f}s"
    )
    return Group(title, task_table(tasks), budget_bar(job, spent))


def jobs_table(jobs: list[JobRecord], total: int) -> Table:
    table = Table(title=f"{len(jobs)} of {total} jobs")
    for column in ("id", "status", "final", "cost", "tasks", "created", "sim", "description"):
        table.add_column(column)
    for j in jobs:
        table.add_row(
            j.job_id,
            j.status,
            j.final_status or "",
            usd(j.total_cost),
            str(j.task_count),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(j.created_at)),
            "yes" if j.simulated else "",
            shorten(j.spec.project_description, 60),
        )
    return table


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def job_details(job: JobRecord, tasks: list[TaskState]) -> Group:
    """What `orchestrator show` prints: the spec, status, spend and the task table."""
    lines = [
        Text.from_markup(f"[bold]{job.job_id}[/] {job.status} {job.final_status or ''}")
        + Text.from_markup(sim_label(job)),
        Text(f"description: {job.spec.project_description}"),
        Text(f"criteria:    {job.spec.success_criteria or '-'}"),
        Text(f"spent:       {usd(job.total_cost)} of {usd_exact(job.spec.budget_usd)}"),
    ]
    return Group(*lines, task_table(tasks))


def outcome(job: JobRecord, status: str, files: str) -> str:
    """The last line of `run` and `resume` (rich markup)."""
    return (
        f"job {job.job_id}: [bold]{status}[/], spent {usd(job.total_cost)} of "
        f"{usd_exact(job.spec.budget_usd)}{sim_label(job)}; result files in {files}"
    )
