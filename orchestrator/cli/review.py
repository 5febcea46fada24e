"""Plan review on the command line: `orchestrator plan`, `approve` and `reject`, and the
question `run --review` asks once the plan is made: approve, edit (the plan as YAML in
$EDITOR) or reject."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import click
import typer
import yaml
from rich.console import Console, Group
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from orchestrator.cli.app import (
    Exit,
    _finish,
    _follow,
    _run_async,
    _settings,
    app,
    err,
    out,
    spec_from_options,
)
from orchestrator.domain import JobStatus, ProjectStatus, TaskState
from orchestrator.errors import JobConflict, PlanInvalid
from orchestrator.money import usd, usd_exact
from orchestrator.runtime import Runtime, new_job_id
from orchestrator.runtime.review import PlanReview, parse_reviewed_plan

__all__ = ["Decision", "decide", "plan_view"]


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    UNDECIDED = "undecided"  # nobody here to ask: the job keeps awaiting review


def plan_view(review: PlanReview) -> Group:
    """The plan as a table with each task's cost range, then the job's range and budget."""
    table = Table(expand=False)
    for column in ("task", "title", "type", "after", "model", "iter", "forecast", "expected"):
        table.add_column(column)
    forecasts = {f.task_id: f for f in review.forecast.tasks}
    for t in review.tasks:
        f = forecasts[t.task_id]
        pin = " (pinned)" if t.pinned_model else ""
        table.add_row(
            t.task_id,
            escape(t.title),
            t.type,
            ", ".join(t.dependencies) or "-",
            f"{f.model or '-'}{pin}",
            f"{f.iterations.low:g}–{f.iterations.high:g}",
            f"{usd(f.cost.low)}–{usd(f.cost.high)}",
            usd(f.cost.expected),
        )
    total, leaves = review.forecast.total, review.leaves_usd
    lines = [
        Text(
            f"forecast {usd(total.low)}–{usd(total.high)}, expected {usd(total.expected)} "
            f"({review.forecast.basis})"
        ),
        Text(
            f"budget {usd_exact(review.budget_usd)}, spent {usd(review.spent_usd)} on planning: "
            f"it would leave {usd(max(leaves.low, 0))}–{usd(max(leaves.high, 0))}"
        ),
    ]
    if leaves.high < 0:
        lines.append(Text("even the low end of the forecast is above the budget left", "red"))
    elif leaves.low < 0:
        lines.append(Text("the high end of the forecast is above the budget left", "yellow"))
    return Group(table, *lines)


def plan_yaml(tasks: list[TaskState]) -> str:
    """The plan as a reviewer edits it (`model`: pin a model, or leave it empty)."""
    nodes = [
        {
            "id": t.task_id,
            "title": t.title,
            "type": t.type.value,
            "dependencies": t.dependencies,
            "model": t.pinned_model,
            "prompt": t.prompt,
        }
        for t in tasks
    ]
    return yaml.safe_dump({"tasks": nodes}, sort_keys=False, allow_unicode=True, width=100)


async def decide(runtime: Runtime, job_id: str, *, assume_yes: bool, console: Console) -> Decision:
    """Show the plan of a job awaiting review and act on the answer: approve (the run
    starts), edit in $EDITOR (then ask again), or reject (the job ends CANCELLED)."""
    while True:
        review = await runtime.reviews.view(job_id)
        console.print(plan_view(review))
        if assume_yes:
            answer = "approve"
        elif not sys.stdin.isatty():
            console.print(
                f"job {job_id} awaits review: `orchestrator approve {job_id}` runs it, "
                f"`orchestrator reject {job_id}` ends it"
            )
            return Decision.UNDECIDED
        else:
            answer = Prompt.ask(
                "approve, edit or reject?",
                choices=["approve", "edit", "reject"],
                default="approve",
                console=console,
            )
        if answer == "approve":
            await runtime.approve(job_id)
            return Decision.APPROVED
        if answer == "reject":
            await runtime.reject(job_id)
            return Decision.REJECTED
        edited = click.edit(plan_yaml(review.tasks), extension=".yaml")
        if edited is None:
            console.print("plan unchanged")
            continue
        try:
            plan = parse_reviewed_plan(yaml.safe_load(edited))
            await runtime.reviews.edit(job_id, plan)
        except (PlanInvalid, yaml.YAMLError) as e:
            err.print(f"[red]not a valid plan:[/] {escape(str(e))}", highlight=False)


def _local_only(ctx: typer.Context) -> None:
    if ctx.obj is not None:
        err.print("[red]error:[/] plan review over --server is not supported yet: use the API")
        raise typer.Exit(Exit.BAD_INPUT)


@app.command()
def plan(
    ctx: typer.Context,
    description: Annotated[str | None, typer.Argument(help="What to build.")] = None,
    criteria: Annotated[str | None, typer.Option("--criteria", help="Success criteria.")] = None,
    budget: Annotated[float | None, typer.Option("--budget", help="Hard budget, USD.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Project YAML.")] = None,
    job: Annotated[str | None, typer.Option("--job", help="Show this job's plan instead.")] = None,
) -> None:
    """Plan a project (only the planner's calls are paid) and print the plan with its cost
    forecast; the job then awaits review (`approve` runs it, `reject` ends it)."""
    _local_only(ctx)
    settings = _settings()
    spec = None
    if job is None:
        spec = spec_from_options(
            description=description,
            criteria=criteria,
            budget=budget,
            file=file,
            review=True,
        )
    job_id = job or new_job_id()

    async def go() -> None:
        runtime = await Runtime.start(settings, executor_id=f"cli-{job_id}")
        try:
            if spec is not None:
                await runtime.submit(spec, job_id=job_id)
                if await runtime.wait(job_id) is not None:
                    record = await runtime.store.get_job(job_id)
                    raise JobConflict(job_id, f"it ended while planning ({record.final_status})")
            out.print(plan_view(await runtime.reviews.view(job_id)))
            record = await runtime.store.get_job(job_id)
            if record.status is JobStatus.AWAITING_REVIEW:
                out.print(
                    f"job {job_id} awaits review: `orchestrator approve {job_id}` runs it, "
                    f"`orchestrator reject {job_id}` ends it"
                )
        finally:
            await runtime.stop()

    _run_async(go)


@app.command()
def approve(
    ctx: typer.Context,
    job_id: str,
    budget: Annotated[float | None, typer.Option("--budget", help="New budget, USD.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where result files go.")] = None,
) -> None:
    """Run a job awaiting review with its plan as it stands, showing it live."""
    _local_only(ctx)
    settings = _settings()
    if budget is not None and budget <= 0:
        err.print("[red]error:[/] --budget must be greater than 0")
        raise typer.Exit(Exit.BAD_INPUT)

    async def go() -> ProjectStatus:
        runtime = await Runtime.start(settings, executor_id=f"cli-{job_id}")
        try:
            await runtime.approve(job_id, budget_usd=budget)
            return await _follow(runtime, job_id, out_dir)
        finally:
            await runtime.stop()

    _finish(_run_async(go))


@app.command()
def reject(ctx: typer.Context, job_id: str) -> None:
    """End a job awaiting review, CANCELLED, having paid for its planning only."""
    _local_only(ctx)
    settings = _settings()

    async def go() -> None:
        runtime = await Runtime.start(settings, executor_id=f"cli-{job_id}")
        try:
            await runtime.reject(job_id)
        finally:
            await runtime.stop()

    _run_async(go)
    out.print(f"job {job_id} rejected: it ends CANCELLED")
