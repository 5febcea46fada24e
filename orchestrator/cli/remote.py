"""The commands of the `orchestrator` CLI against a server (`--server URL`, ORCH_SERVER_URL):
the same output and exit codes as when they run locally, through `orchestrator.client`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, RenderableType

from orchestrator.api.schemas import JobCreate, JobDetail, JobSummary, ResumeRequest
from orchestrator.cli.live import watch
from orchestrator.cli.results import files_of_zip, write_result
from orchestrator.cli.view import job_details, jobs_table, live_view, outcome
from orchestrator.client import AsyncClient
from orchestrator.domain import JobRecord, JobSpec, JobStatus, ProjectStatus, TaskState
from orchestrator.errors import JobConflict, RemoteError


def record_of(job: JobSummary) -> JobRecord:
    """A job as the CLI's views show it (a summary lacks the criteria and concurrency)."""
    detail = job if isinstance(job, JobDetail) else None
    spec = JobSpec(
        project_description=job.project_description,
        success_criteria=detail.success_criteria if detail else "",
        budget_usd=job.budget_usd,
        time_limit_s=job.time_limit_s,
        concurrency=detail.concurrency if detail else 1,
    )
    return JobRecord(
        job_id=job.job_id,
        spec=spec,
        status=job.status,
        final_status=job.final_status,
        total_cost=job.total_cost,
        created_at=job.created_at,
        updated_at=job.updated_at,
        task_count=job.task_count,
        simulated=job.simulated,
    )


def tasks_of(job: JobDetail) -> list[TaskState]:
    return [
        TaskState(
            job_id=job.job_id,
            task_id=t.task_id,
            type=t.type,
            prompt="",
            dependencies=t.dependencies,
            acceptance_threshold=0.0,
            title=t.title,
            status=t.status,
            score=t.score,
            model=t.model,
            cost_usd=t.cost,
            iterations=t.iterations,
            reason=t.reason,
        )
        for t in sorted(job.tasks.values(), key=lambda t: t.task_id)
    ]


async def stopped(client: AsyncClient, job_id: str) -> ProjectStatus | None:
    """The job's final status once its run ends, or None once it stops to await review."""
    last: ProjectStatus | None = None
    async with contextlib.aclosing(client.follow(job_id)) as events:
        async for stored in events:  # ends after the job's final `done`
            event = stored.event
            if event.type == "done":
                last = event.status
            elif (
                event.type == "status"
                and event.status is JobStatus.AWAITING_REVIEW
                # Not an old stop replayed from the history of a job approved since.
                and (await client.get_job(job_id)).status is JobStatus.AWAITING_REVIEW
            ):
                return None
    if last is None:
        raise RemoteError(f"the event stream of job {job_id} ended before the job did")
    return last


@dataclass
class Remote:
    url: str
    token: str | None
    console: Console

    def client(self) -> AsyncClient:
        return AsyncClient(self.url, token=self.token)

    async def run(
        self, spec: JobSpec, out_dir: Path | None, *, assume_yes: bool = False
    ) -> ProjectStatus:
        async with self.client() as client:
            created = await client.create_job(JobCreate.model_validate(spec.model_dump()))
            return await self._follow(client, created.job_id, out_dir, assume_yes=assume_yes)

    async def plan(self, spec: JobSpec | None, job_id: str | None) -> None:
        """`plan`: make the job's plan on the server (or read job `job_id`'s) and show it."""
        from orchestrator.cli.review import show_plan  # it imports this module

        async with self.client() as client:
            if spec is not None:
                created = await client.create_job(JobCreate.model_validate(spec.model_dump()))
                job_id = created.job_id
                if await stopped(client, job_id) is not None:
                    job = await client.get_job(job_id)
                    raise JobConflict(job_id, f"it ended while planning ({job.final_status})")
            assert job_id is not None
            await show_plan(client, job_id, self.console)

    async def approve(
        self, job_id: str, budget_usd: float | None, out_dir: Path | None
    ) -> ProjectStatus:
        async with self.client() as client:
            await client.approve(job_id, budget_usd=budget_usd)
            return await self._follow(client, job_id, out_dir)

    async def reject(self, job_id: str) -> None:
        async with self.client() as client:
            await client.reject(job_id)

    async def resume(
        self,
        job_id: str,
        request: ResumeRequest,
        out_dir: Path | None,
    ) -> ProjectStatus:
        async with self.client() as client:
            await client.resume_job(job_id, request)
            return await self._follow(client, job_id, out_dir)

    async def cancel(self, job_id: str) -> None:
        async with self.client() as client:
            await client.cancel_job(job_id)

    async def jobs(self, *, status: JobStatus | None, q: str | None, limit: int) -> None:
        async with self.client() as client:
            page = await client.list_jobs(status=status, q=q, limit=limit)
        self.console.print(jobs_table([record_of(j) for j in page.jobs], page.total))

    async def show(self, job_id: str) -> None:
        async with self.client() as client:
            job = await client.get_job(job_id)
        self.console.print(job_details(record_of(job), tasks_of(job)), highlight=False)

    async def _follow(
        self, client: AsyncClient, job_id: str, out_dir: Path | None, *, assume_yes: bool = False
    ) -> ProjectStatus:
        """Show the job live until its final `done`, then fetch its result files. A job that
        stops after planning for review shows its plan and asks (`assume_yes`: approves)."""
        from orchestrator.cli.review import after_review  # it imports this module

        started = time.time()

        async def frame() -> RenderableType:
            job = await client.get_job(job_id)
            return live_view(record_of(job), tasks_of(job), job.total_cost, started)

        async def run() -> ProjectStatus | None:
            result = asyncio.ensure_future(stopped(client, job_id))
            try:
                return await watch(self.console, frame, result)
            finally:
                result.cancel()

        status = await run()
        if status is None:
            status = await after_review(
                client, job_id, assume_yes=assume_yes, console=self.console, run=run
            )
        self.console.print()
        target = out_dir or Path("out") / job_id
        write_result(target, files_of_zip(await client.download_artifacts(job_id), job_id))
        job = record_of(await client.get_job(job_id))
        self.console.print(outcome(job, status, str(target)))
        return status
