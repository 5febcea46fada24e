"""The `orchestrator` command line.

Exit codes: 0 the job ended SUCCESS or PARTIAL_SUCCESS; 1 it ended otherwise; 2 bad input
(invalid spec, unreadable YAML, unknown job id, a server that refuses the token or cannot be
reached) — with one line saying why, and nothing stored changed.

With `--server URL` (or ORCH_SERVER_URL), `run` (also with `--review`), `jobs`, `show`,
`cancel`, `resume`, `plan`, `approve` and `reject` talk to that server instead of running here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from orchestrator.api.schemas import ResumeRequest
from orchestrator.cli.live import watch
from orchestrator.cli.remote import Remote
from orchestrator.cli.results import check_out_dir, local_files, write_result
from orchestrator.cli.view import job_details, jobs_table, live_view, outcome
from orchestrator.config import Settings
from orchestrator.domain import JobSpec, JobStatus, ProjectStatus
from orchestrator.errors import (
    InvalidInput,
    JobConflict,
    JobNotFound,
    NotAuthenticated,
    OrchestratorError,
    ServerUnreachable,
)
from orchestrator.projectfile import parse_spec, read_project_file
from orchestrator.runtime import Runtime, new_job_id, request_cancel
from orchestrator.runtime.workers import cli_executor_id
from orchestrator.store import Store

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # a reason stays one line, whatever the width

T = TypeVar("T")
# `run`, `resume` and `approve` write the job's result into --out.
OutDir = Annotated[
    Path | None,
    typer.Option("--out", help="Where the result goes: the project tree with its .git."),
]
Force = Annotated[
    bool, typer.Option("--force", help="Write into an --out folder that is not empty.")
]


class Exit:
    OK = 0
    JOB_NOT_SUCCESSFUL = 1
    BAD_INPUT = 2


def _run_async(make: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(make())  # type: ignore[arg-type]
    except (InvalidInput, JobNotFound, JobConflict, NotAuthenticated, ServerUnreachable) as e:
        err.print(f"[red]error:[/] {e}", highlight=False)
        raise typer.Exit(Exit.BAD_INPUT) from None
    except OrchestratorError as e:
        err.print(f"[red]error:[/] {e}", highlight=False)
        raise typer.Exit(Exit.JOB_NOT_SUCCESSFUL) from None


@app.callback()
def options(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="ORCH_SERVER_URL",
            help="An orchestrator server's URL: run, jobs, show, cancel, resume, plan, "
            "approve and reject use it instead of running here.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="ORCH_API_TOKEN", help="That server's API token."),
    ] = None,
) -> None:
    ctx.obj = Remote(server.rstrip("/"), token, out) if server else None


def _settings() -> Settings:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return Settings()


@app.command()
def run(
    ctx: typer.Context,
    description: Annotated[str | None, typer.Argument(help="What to build.")] = None,
    criteria: Annotated[str | None, typer.Option("--criteria", help="Success criteria.")] = None,
    budget: Annotated[float | None, typer.Option("--budget", help="Hard budget, USD.")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="Seconds.")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="1..10")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Project YAML.")] = None,
    out_dir: OutDir = None,
    force: Force = False,
    review: Annotated[
        bool, typer.Option("--review", help="Show the plan and its cost forecast; ask first.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve the plan unasked.")] = False,
) -> None:
    """Plan and run a project, showing tasks and spend live."""
    settings = _settings()
    spec = spec_from_options(
        description=description,
        criteria=criteria,
        budget=budget,
        time_limit=time_limit,
        concurrency=concurrency,
        file=file,
        review=review,
    )
    job_id = new_job_id()
    _check_out(out_dir, force=force)

    if ctx.obj is not None:
        remote: Remote = ctx.obj
        _finish(_run_async(lambda: remote.run(spec, out_dir, assume_yes=yes)))

    async def go() -> ProjectStatus:
        runtime = await Runtime.start(settings, executor_id=cli_executor_id(job_id))
        try:
            await runtime.submit(spec, job_id=job_id)
            return await _follow(runtime, job_id, out_dir, assume_yes=yes)
        finally:
            await runtime.stop()

    _finish(_run_async(go))


def spec_from_options(
    *,
    description: str | None,
    criteria: str | None,
    budget: float | None,
    file: Path | None,
    time_limit: float | None = None,
    concurrency: int | None = None,
    review: bool = False,
) -> JobSpec:
    """The job spec of `run` and `plan`: the YAML file's fields, overridden by the options
    given; bad input ends the command with its reason (exit code 2)."""
    fields: dict[str, Any] = {}
    try:
        if file is not None:
            fields.update(read_project_file(file))
        overrides = {
            "project_description": description,
            "success_criteria": criteria,
            "budget_usd": budget,
            "time_limit_s": time_limit,
            "concurrency": concurrency,
            "review": review or None,
        }
        fields.update({k: v for k, v in overrides.items() if v is not None})
        if "project_description" not in fields:
            raise InvalidInput("give a project description or --file project.yaml")
        return parse_spec(fields)
    except InvalidInput as e:
        err.print(f"[red]error:[/] {e}", highlight=False)
        raise typer.Exit(Exit.BAD_INPUT) from None


@app.command()
def resume(
    ctx: typer.Context,
    job_id: str,
    budget: Annotated[float | None, typer.Option("--budget", help="New budget, USD.")] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="New time limit of a run, seconds.")
    ] = None,
    out_dir: OutDir = None,
    force: Force = False,
) -> None:
    """Finish a job that stopped (crash, budget, time limit, cancel) without repaying calls."""
    settings = _settings()
    if budget is not None and budget <= 0:
        err.print("[red]error:[/] --budget must be greater than 0")
        raise typer.Exit(Exit.BAD_INPUT)
    if time_limit is not None and time_limit <= 0:
        err.print("[red]error:[/] --time-limit must be greater than 0")
        raise typer.Exit(Exit.BAD_INPUT)
    _check_out(out_dir, force=force, job_id=job_id)
    if ctx.obj is not None:
        remote: Remote = ctx.obj
        request = ResumeRequest(budget_usd=budget, time_limit_s=time_limit)
        _finish(_run_async(lambda: remote.resume(job_id, request, out_dir)))

    async def go() -> ProjectStatus:
        await _require_job(settings, job_id)
        # This executor id owns the job's workflows: launching recovers them if they were killed.
        runtime = await Runtime.start(settings, executor_id=cli_executor_id(job_id))
        try:
            if await runtime.runs_here(job_id):
                out.print(f"recovering job {job_id} where it stopped")
            else:
                await runtime.resume(job_id, budget_usd=budget, time_limit_s=time_limit)
            return await _follow(runtime, job_id, out_dir)
        finally:
            await runtime.stop()

    _finish(_run_async(go))


@app.command()
def cancel(ctx: typer.Context, job_id: str) -> None:
    """Ask a running job to stop: no new calls start; it ends CANCELLED."""
    settings = _settings()

    async def go() -> None:
        if ctx.obj is not None:
            return await ctx.obj.cancel(job_id)
        store = await Store.open(settings.store_url)
        try:
            await request_cancel(store, job_id)
        finally:
            await store.close()

    _run_async(go)
    out.print(f"cancel requested for job {job_id}")


@app.command()
def jobs(
    ctx: typer.Context,
    status: Annotated[JobStatus | None, typer.Option("--status")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
) -> None:
    """List jobs, newest first."""
    settings = _settings()

    async def go() -> None:
        if ctx.obj is not None:
            return await ctx.obj.jobs(status=status, q=search, limit=limit)
        store = await Store.open(settings.store_url)
        try:
            found, total = await store.list_jobs(status=status, q=search, limit=limit)
        finally:
            await store.close()
        out.print(jobs_table(found, total))

    _run_async(go)


@app.command()
def show(ctx: typer.Context, job_id: str) -> None:
    """Show one job: spec, status, spend and its tasks."""
    settings = _settings()

    async def go() -> None:
        if ctx.obj is not None:
            return await ctx.obj.show(job_id)
        store = await Store.open(settings.store_url)
        try:
            job = await store.get_job(job_id)
            tasks = await store.list_tasks(job_id)
        finally:
            await store.close()
        out.print(job_details(job, tasks), highlight=False)

    _run_async(go)


def _check_out(out_dir: Path | None, *, force: bool, job_id: str | None = None) -> None:
    """End the command (exit code 2, one line) when `--out` names a folder it may not write
    into; checked before the job starts, so nothing is stored or spent for it."""
    if out_dir is None:
        return
    try:
        check_out_dir(out_dir, force=force, job_id=job_id)
    except InvalidInput as e:
        err.print(f"[red]error:[/] {e}", highlight=False)
        raise typer.Exit(Exit.BAD_INPUT) from None


async def _require_job(settings: Settings, job_id: str) -> None:
    store = await Store.open(settings.store_url)
    try:
        await store.get_job(job_id)
    finally:
        await store.close()


async def _follow(
    runtime: Runtime, job_id: str, out_dir: Path | None, *, assume_yes: bool = False
) -> ProjectStatus:
    """Show the job live until it ends, then write its result files. A job that stops after
    planning for review shows its plan and asks (`assume_yes`: approves unasked)."""
    store = runtime.store
    started = time.time()

    async def frame() -> Any:
        job = await store.get_job(job_id)
        spent = float(await store.job_spend(job_id))
        return live_view(job, await store.list_tasks(job_id), spent, started)

    async def run() -> ProjectStatus | None:
        return await watch(out, frame, asyncio.ensure_future(runtime.wait(job_id)))

    status = await run()
    if status is None:  # it stopped after planning for review
        from orchestrator.cli.review import LocalReviewer, after_review  # registered below

        status = await after_review(
            LocalReviewer(runtime), job_id, assume_yes=assume_yes, console=out, run=run
        )
    out.print()
    job = await store.get_job(job_id)
    target = out_dir or Path("out") / job_id
    write_result(target, await local_files(store, runtime.deps.settings, job_id))
    out.print(outcome(job, status, str(target)))
    return status


def _finish(status: ProjectStatus) -> None:
    raise typer.Exit(Exit.OK if status.is_success() else Exit.JOB_NOT_SUCCESSFUL)


import orchestrator.cli.mcp  # noqa: E402  (registers `orchestrator mcp`)
import orchestrator.cli.models  # noqa: E402  (registers `orchestrator models`)
import orchestrator.cli.review  # noqa: E402  (registers `orchestrator plan`, `approve`, `reject`)
import orchestrator.cli.serve  # noqa: E402  (registers `orchestrator serve`)
import orchestrator.cli.worker  # noqa: E402, F401  (registers `orchestrator worker`)
