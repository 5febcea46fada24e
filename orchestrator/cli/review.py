"""Plan review on the command line: `orchestrator plan`, `approve` and `reject`, and the
question `run --review` asks once the plan is made: approve, edit (the plan as YAML in
$EDITOR) or reject."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Protocol

import click
import typer
import yaml
from rich.console import Console, Group
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from orchestrator.api.plan_schemas import PlanPublic, PlanTaskPublic
from orchestrator.api.routes.review import plan_public
from orchestrator.cli.app import (
    Exit,
    Force,
    OutDir,
    _check_out,
    _finish,
    _follow,
    _run_async,
    _settings,
    app,
    err,
    out,
    spec_from_options,
)
from orchestrator.cli.remote import Remote
from orchestrator.domain import JobStatus, ProjectStatus
from orchestrator.errors import InvalidInput, JobConflict
from orchestrator.money import usd, usd_exact
from orchestrator.plan import ReviewedPlan
from orchestrator.runtime import Runtime, new_job_id
from orchestrator.runtime.review import parse_reviewed_plan
from orchestrator.runtime.workers import cli_executor_id

__all__ = ["Decision", "LocalReviewer", "Reviewer", "after_review", "decide", "plan_view"]


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    UNDECIDED = "undecided"  # nobody here to ask: the job keeps awaiting review


class Reviewer(Protocol):
    """Where a plan is reviewed: this machine's runtime (LocalReviewer) or a server
    (`orchestrator.client.AsyncClient`, which has these very methods)."""

    async def get_plan(self, job_id: str) -> PlanPublic: ...

    async def edit_plan(self, job_id: str, plan: ReviewedPlan) -> PlanPublic: ...

    async def approve(self, job_id: str, *, budget_usd: float | None = None) -> object: ...

    async def reject(self, job_id: str) -> object: ...


@dataclass
class LocalReviewer:
    runtime: Runtime

    async def get_plan(self, job_id: str) -> PlanPublic:
        return plan_public(await self.runtime.reviews.view(job_id))

    async def edit_plan(self, job_id: str, plan: ReviewedPlan) -> PlanPublic:
        return plan_public(await self.runtime.reviews.edit(job_id, plan))

    async def approve(self, job_id: str, *, budget_usd: float | None = None) -> None:
        await self.runtime.approve(job_id, budget_usd=budget_usd)

    async def reject(self, job_id: str) -> None:
        await self.runtime.reject(job_id)


def plan_view(review: PlanPublic) -> Group:
    """The plan as a table with each task's cost range, then the job's range and budget."""
    table = Table(expand=False)
    for column in ("task", "title", "type", "after", "model", "iter", "forecast", "expected"):
        table.add_column(column)
    for t in review.tasks:
        pin = " (pinned)" if t.pinned_model else ""
        table.add_row(
            t.id,
            escape(t.title),
            t.type,
            ", ".join(t.dependencies) or "-",
            f"{t.model or '-'}{pin}",
            f"{t.iterations.low:g}–{t.iterations.high:g}",
            f"{usd(t.forecast.low)}–{usd(t.forecast.high)}",
            usd(t.forecast.expected),
        )
    total, leaves = review.forecast, review.leaves_usd
    lines = [
        Text(
            f"forecast {usd(total.low)}–{usd(total.high)}, expected {usd(total.expected)} "
            f"({total.basis})"
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


def plan_yaml(tasks: list[PlanTaskPublic]) -> str:
    """The plan as a reviewer edits it (`model`: pin a model, or leave it empty)."""
    nodes = [
        {
            "id": t.id,
            "title": t.title,
            "type": t.type.value,
            "dependencies": t.dependencies,
            "model": t.pinned_model,
            "prompt": t.prompt,
        }
        for t in tasks
    ]
    return yaml.safe_dump({"tasks": nodes}, sort_keys=False, allow_unicode=True, width=100)


def awaits_review(job_id: str) -> str:
    return (
        f"job {job_id} awaits review: `orchestrator approve {job_id}` runs it, "
        f"`orchestrator reject {job_id}` ends it"
    )


async def decide(
    reviewer: Reviewer, job_id: str, *, assume_yes: bool, console: Console
) -> Decision:
    """Show the plan of a job awaiting review and act on the answer: approve (the run
    starts), edit in $EDITOR (then ask again), or reject (the job ends CANCELLED)."""
    while True:
        review = await reviewer.get_plan(job_id)
        console.print(plan_view(review))
        if assume_yes:
            answer = "approve"
        elif not sys.stdin.isatty():
            console.print(awaits_review(job_id))
            return Decision.UNDECIDED
        else:
            answer = Prompt.ask(
                "approve, edit or reject?",
                choices=["approve", "edit", "reject"],
                default="approve",
                console=console,
            )
        if answer == "approve":
            await reviewer.approve(job_id)
            return Decision.APPROVED
        if answer == "reject":
            await reviewer.reject(job_id)
            return Decision.REJECTED
        edited = click.edit(plan_yaml(review.tasks), extension=".yaml")
        if edited is None:
            console.print("plan unchanged")
            continue
        try:
            plan = parse_reviewed_plan(yaml.safe_load(edited))
            await reviewer.edit_plan(job_id, plan)
        except (InvalidInput, yaml.YAMLError) as e:  # a server's 422 is InvalidInput
            err.print(f"[red]not a valid plan:[/] {escape(str(e))}", highlight=False)


async def after_review(
    reviewer: Reviewer,
    job_id: str,
    *,
    assume_yes: bool,
    console: Console,
    run: Callable[[], Awaitable[ProjectStatus | None]],
) -> ProjectStatus:
    """What `run --review` does once the job stopped for review: ask, then show the approved
    run live (`run`); CANCELLED when rejected. Nobody to ask: exit 1, the job waits."""
    decision = await decide(reviewer, job_id, assume_yes=assume_yes, console=console)
    if decision is Decision.UNDECIDED:
        raise typer.Exit(Exit.JOB_NOT_SUCCESSFUL)
    if decision is Decision.REJECTED:
        return ProjectStatus.CANCELLED
    return await run() or ProjectStatus.CANCELLED


async def show_plan(reviewer: Reviewer, job_id: str, console: Console) -> None:
    """What `plan` prints: the plan and its forecast, and how to go on while it waits."""
    review = await reviewer.get_plan(job_id)
    console.print(plan_view(review))
    if review.status is JobStatus.AWAITING_REVIEW:
        console.print(awaits_review(job_id))


def _remote(ctx: typer.Context) -> Remote | None:
    remote: Remote | None = ctx.obj
    return remote


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
    remote = _remote(ctx)
    if remote is not None:
        _run_async(lambda: remote.plan(spec, job))
        return
    job_id = job or new_job_id()

    async def go() -> None:
        runtime = await Runtime.start(settings, executor_id=cli_executor_id(job_id))
        try:
            if spec is not None:
                await runtime.submit(spec, job_id=job_id)
                if await runtime.wait(job_id) is not None:
                    record = await runtime.store.get_job(job_id)
                    raise JobConflict(job_id, f"it ended while planning ({record.final_status})")
            await show_plan(LocalReviewer(runtime), job_id, out)
        finally:
            await runtime.stop()

    _run_async(go)


@app.command()
def approve(
    ctx: typer.Context,
    job_id: str,
    budget: Annotated[float | None, typer.Option("--budget", help="New budget, USD.")] = None,
    out_dir: OutDir = None,
    force: Force = False,
) -> None:
    """Run a job awaiting review with its plan as it stands, showing it live."""
    settings = _settings()
    if budget is not None and budget <= 0:
        err.print("[red]error:[/] --budget must be greater than 0")
        raise typer.Exit(Exit.BAD_INPUT)
    _check_out(out_dir, force=force, job_id=job_id)
    remote = _remote(ctx)
    if remote is not None:
        _finish(_run_async(lambda: remote.approve(job_id, budget, out_dir)))

    async def go() -> ProjectStatus:
        runtime = await Runtime.start(settings, executor_id=cli_executor_id(job_id))
        try:
            await runtime.approve(job_id, budget_usd=budget)
            return await _follow(runtime, job_id, out_dir)
        finally:
            await runtime.stop()

    _finish(_run_async(go))


@app.command()
def reject(ctx: typer.Context, job_id: str) -> None:
    """End a job awaiting review, CANCELLED, having paid for its planning only."""
    settings = _settings()
    remote = _remote(ctx)

    async def go() -> None:
        if remote is not None:
            return await remote.reject(job_id)
        runtime = await Runtime.start(settings, executor_id=cli_executor_id(job_id))
        try:
            await runtime.reject(job_id)
        finally:
            await runtime.stop()

    _run_async(go)
    out.print(f"job {job_id} rejected: it ends CANCELLED")
