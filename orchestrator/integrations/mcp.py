"""The orchestrator as an MCP server: a few curated tools and resources for assistants
(Claude Desktop, Cursor, agents) to start, watch and read jobs.

Every tool goes through the typed HTTP client (`orchestrator.client`), so an assistant gets
exactly the API's validation, rules and errors: mounted at `/mcp` the client talks to the
same app in-process; `orchestrator mcp` (stdio) talks to a server or to an app it runs.
Errors become tool errors with the API's sentence; the session goes on.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import BaseModel, Field, ValidationError

from orchestrator import __version__
from orchestrator.api.plan_schemas import PlanPublic, ReviewDecision
from orchestrator.api.schemas import (
    ArtifactPublic,
    JobAccepted,
    JobCreate,
    JobCreated,
    JobDetail,
    LogLine,
    ResumeRequest,
)
from orchestrator.client import AsyncClient, JobPage
from orchestrator.domain import JobStatus
from orchestrator.errors import OrchestratorError

__all__ = ["JobReport", "build_mcp"]

T = TypeVar("T")

INSTRUCTIONS = (
    "Runs software projects through several LLMs under a hard budget in US dollars. Start a "
    "job with start_job, then wait_for_job (it reports progress) until it ends; read its "
    "result files with list_files and read_file. A job started with review stops after "
    "planning: read get_plan, then approve_plan or reject_plan. Money is spent only up to "
    "the job's budget."
)
# How often wait_for_job looks at the job; and the longest it waits in one call.
POLL_S = 1.0
MAX_WAIT_S = 600.0
# Job states in which nothing will change until a person acts.
RESTING = frozenset({JobStatus.AWAITING_REVIEW})


class JobReport(BaseModel):
    """A job with its tasks and spend, and the last lines of its log."""

    job: JobDetail
    log: list[LogLine]
    finished: bool = Field(description="The job has ended (or waits for a plan review)")


def _readable(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in error.errors()
    )


async def _answer(call: Awaitable[T]) -> T:
    """The API's answer, or a tool error saying what it said (never a crashed session)."""
    try:
        return await call
    except OrchestratorError as e:
        raise ToolError(str(e)) from e


def _text(job_id: str, path: str, content: bytes) -> str:
    try:
        return content.decode()
    except UnicodeDecodeError:
        raise ToolError(f"{path} of job {job_id} is binary ({len(content)} bytes)") from None


def build_mcp(client: Callable[[], AsyncClient]) -> MCPServer:
    """The MCP server; `client()` gives the API client its tools use (built on first use)."""
    mcp = MCPServer("orchestrator", instructions=INSTRUCTIONS, version=__version__)

    async def report(job_id: str, log_lines: int) -> JobReport:
        job = await _answer(client().get_job(job_id))
        log = await _answer(client().get_log(job_id, log_lines)) if log_lines else []
        finished = job.status.is_terminal() or job.status in RESTING
        return JobReport(job=job, log=log, finished=finished)

    @mcp.tool()
    async def start_job(
        description: Annotated[str, Field(description="What to build or answer")],
        budget_usd: Annotated[float, Field(description="Hard budget in US dollars")],
        criteria: Annotated[str, Field(description="How to tell it succeeded")] = "",
        time_limit_s: Annotated[float | None, Field(description="Seconds per run")] = None,
        concurrency: Annotated[int | None, Field(description="Tasks at once, 1-10")] = None,
        review: Annotated[bool, Field(description="Stop after planning for a review")] = False,
        notify_url: Annotated[
            str | None, Field(description="Where to POST the job's signed webhooks")
        ] = None,
    ) -> JobCreated:
        """Start a job; it runs in the background. Follow it with wait_for_job."""
        given = {
            "project_description": description,
            "success_criteria": criteria,
            "budget_usd": budget_usd,
            "time_limit_s": time_limit_s,
            "concurrency": concurrency,
            "review": review,
            "notify_url": notify_url,
        }
        try:
            spec = JobCreate.model_validate({k: v for k, v in given.items() if v is not None})
        except ValidationError as e:
            raise ToolError(_readable(e)) from None
        return await _answer(client().create_job(spec))

    @mcp.tool()
    async def get_job(
        job_id: str, log_lines: Annotated[int, Field(ge=0, le=200)] = 10
    ) -> JobReport:
        """A job's status, spend, tasks and the last lines of its log."""
        return await report(job_id, log_lines)

    @mcp.tool()
    async def list_jobs(
        status: JobStatus | None = None,
        search: Annotated[str | None, Field(description="Text in the description")] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
    ) -> JobPage:
        """Jobs, newest first, with how many match in all."""
        return await _answer(client().list_jobs(status=status, q=search, limit=limit))

    @mcp.tool()
    async def wait_for_job(
        job_id: str,
        ctx: Context,
        timeout_s: Annotated[float, Field(gt=0, le=MAX_WAIT_S)] = 120.0,
    ) -> JobReport:
        """Wait until the job ends (or awaits a plan review), at most `timeout_s` seconds,
        reporting progress as tasks finish; call again if it is still running."""
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            job = await _answer(client().get_job(job_id))
            ended = sum(t.status.is_terminal() for t in job.tasks.values())
            progress = (job.status, ended, len(job.tasks), round(job.total_cost, 4))
            if progress != last:
                last = progress
                message = (
                    f"{job.status}: {ended} of {len(job.tasks)} tasks ended, "
                    f"${job.total_cost:.4f} of ${job.budget_usd:g} spent"
                )
                await ctx.report_progress(ended, len(job.tasks) or None, message)
            if job.status.is_terminal() or job.status in RESTING:
                break
            if time.monotonic() >= deadline:
                break
            await anyio.sleep(POLL_S)
        return await report(job_id, 10)

    @mcp.tool()
    async def cancel_job(job_id: str) -> JobAccepted:
        """Stop a running job: no new LLM call starts; it ends cancelled."""
        return await _answer(client().cancel_job(job_id))

    @mcp.tool()
    async def resume_job(
        job_id: str,
        budget_usd: Annotated[float | None, Field(description="A new, higher budget")] = None,
        time_limit_s: Annotated[float | None, Field(description="A new time limit")] = None,
    ) -> JobAccepted:
        """Run what a stopped job left unfinished; completed work is not paid again."""
        try:
            request = ResumeRequest(budget_usd=budget_usd, time_limit_s=time_limit_s)
        except ValidationError as e:
            raise ToolError(_readable(e)) from None
        return await _answer(client().resume_job(job_id, request))

    @mcp.tool()
    async def get_plan(job_id: str) -> PlanPublic:
        """A job's plan: each task with the model it would run on and its cost range, the
        job's range, and what its budget would leave. Review it before approve_plan."""
        return await _answer(client().get_plan(job_id))

    @mcp.tool()
    async def approve_plan(
        job_id: str,
        budget_usd: Annotated[float | None, Field(description="A new budget")] = None,
    ) -> ReviewDecision:
        """Run the plan of a job awaiting review; follow it with wait_for_job."""
        return await _answer(client().approve(job_id, budget_usd=budget_usd))

    @mcp.tool()
    async def reject_plan(job_id: str) -> ReviewDecision:
        """End a job awaiting review cancelled, without running any task."""
        return await _answer(client().reject(job_id))

    @mcp.tool()
    async def list_files(job_id: str) -> list[ArtifactPublic]:
        """The result files of a job (path and size in bytes)."""
        return await _answer(client().list_artifacts(job_id))

    @mcp.tool()
    async def read_file(job_id: str, path: str) -> str:
        """One result file of a job, as text."""
        return _text(job_id, path, await _answer(client().read_artifact(job_id, path)))

    @mcp.resource("job://{job_id}/summary", mime_type="application/json")
    async def job_summary(job_id: str) -> str:
        """A job's status, spend and tasks."""
        try:
            return (await client().get_job(job_id)).model_dump_json()
        except OrchestratorError as e:
            raise ResourceError(str(e)) from e

    @mcp.resource("job://{job_id}/files/{path}")
    async def job_file(job_id: str, path: str) -> str:
        """A result file of a job (a file at the top of its result tree)."""
        try:
            return _text(job_id, path, await client().read_artifact(job_id, path))
        except (OrchestratorError, ToolError) as e:
            raise ResourceError(str(e)) from e

    return mcp
