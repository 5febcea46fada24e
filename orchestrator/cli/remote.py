"""The commands of the `orchestrator` CLI against a server (`--server URL`, ORCH_SERVER_URL):
the same output and exit codes as when they run locally, through `orchestrator.client`."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, RenderableType

from orchestrator.api.schemas import JobCreate, JobDetail, JobSummary, ResumeRequest
from orchestrator.cli.live import watch
from orchestrator.cli.view import job_details, jobs_table, live_view, outcome
from orchestrator.client import AsyncClient
from orchestrator.domain import JobRecord, JobSpec, JobStatus, ProjectStatus, TaskState
from orchestrator.errors import RemoteError


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


@dataclass
class Remote:
    url: str
    token: str | None
    console: Console

    def client(self) -> AsyncClient:
        return AsyncClient(self.url, token=self.token)

    async def run(self, spec: JobSpec, out_dir: Path | None) -> ProjectStatus:
        async with self.client() as client:
            created = await client.create_job(JobCreate.model_validate(spec.model_dump()))
            return await self._follow(client, created.job_id, out_dir)

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
        self, client: AsyncClient, job_id: str, out_dir: Path | None
    ) -> ProjectStatus:
        """Show the job live until its final `done`, then fetch its result files."""
        started = time.time()

        async def final() -> ProjectStatus:
            last: ProjectStatus | None = None
            async for stored in client.follow(job_id):  # ends after the job's final `done`
                if stored.event.type == "done":
                    last = stored.event.status
            if last is None:
                raise RemoteError(f"the event stream of job {job_id} ended before the job did")
            return last

        async def frame() -> RenderableType:
            job = await client.get_job(job_id)
            return live_view(record_of(job), tasks_of(job), job.total_cost, started)

        result = asyncio.ensure_future(final())
        try:
            status = await watch(self.console, frame, result)
        finally:
            result.cancel()
        self.console.print()
        target = out_dir or Path("out") / job_id
        target.mkdir(parents=True, exist_ok=True)
        for artifact in await client.list_artifacts(job_id):
            path = target / artifact.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(await client.read_artifact(job_id, artifact.path))
        job = record_of(await client.get_job(job_id))
        self.console.print(outcome(job, status, str(target)))
        return status
