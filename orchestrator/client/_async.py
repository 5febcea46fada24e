"""The asyncio client: `AsyncClient(url, token=...)`, the same methods as `Client`, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import TypeVar

import httpx
from httpx_sse import aconnect_sse

from orchestrator.api.plan_schemas import ApproveRequest, PlanPublic, ReviewDecision
from orchestrator.api.schemas import (
    ArtifactPublic,
    Health,
    JobAccepted,
    JobCreate,
    JobCreated,
    JobDetail,
    LogLine,
    ModelStatsPublic,
    ResumeRequest,
    SessionPublic,
    TaskDetail,
    VersionPublic,
)
from orchestrator.client import _calls as calls
from orchestrator.client._follow import Follower
from orchestrator.domain import JobStatus
from orchestrator.events import StoredEvent
from orchestrator.plan import ReviewedPlan

T = TypeVar("T")


class AsyncClient:
    """The orchestrator's HTTP API with its own models; errors are `orchestrator.errors`
    types (JobNotFound, JobConflict, InvalidInput, NotAuthenticated, ServerUnreachable...).

    `transport` replaces the network (an `httpx.ASGITransport`, a `MockTransport`)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        patience_s: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.patience_s = patience_s
        options = calls.http_options(base_url, token, timeout)
        self._http = httpx.AsyncClient(**options, transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, call: calls.Call[T]) -> T:
        try:
            response = await self._http.send(call.request(self._http))
        except httpx.TransportError as e:
            raise calls.unreachable(self._http, e) from e
        return call.result(response)

    async def health(self) -> Health:
        return await self._send(calls.health())

    async def version(self) -> VersionPublic:
        return await self._send(calls.version())

    async def session(self) -> SessionPublic:
        return await self._send(calls.session())

    async def create_job(self, spec: JobCreate) -> JobCreated:
        return await self._send(calls.create_job(spec))

    async def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        q: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> calls.JobPage:
        return await self._send(calls.list_jobs(status=status, q=q, limit=limit, offset=offset))

    async def get_job(self, job_id: str) -> JobDetail:
        return await self._send(calls.get_job(job_id))

    async def delete_job(self, job_id: str) -> None:
        await self._send(calls.delete_job(job_id))

    async def resume_job(self, job_id: str, request: ResumeRequest | None = None) -> JobAccepted:
        return await self._send(calls.resume_job(job_id, request))

    async def cancel_job(self, job_id: str) -> JobAccepted:
        return await self._send(calls.cancel_job(job_id))

    async def get_plan(self, job_id: str) -> PlanPublic:
        """The job's plan: each task with its routed model and cost range, and the job's."""
        return await self._send(calls.get_plan(job_id))

    async def edit_plan(self, job_id: str, plan: ReviewedPlan) -> PlanPublic:
        """Replace the plan of a job awaiting review; answers the new forecast."""
        return await self._send(calls.edit_plan(job_id, plan))

    async def approve(self, job_id: str, *, budget_usd: float | None = None) -> ReviewDecision:
        """Run the reviewed plan of a job awaiting review, optionally with a new budget."""
        # Unchecked here: the server judges the budget, and a bad one is its InvalidInput.
        request = ApproveRequest.model_construct(budget_usd=budget_usd) if budget_usd else None
        return await self._send(calls.approve(job_id, request))

    async def reject(self, job_id: str) -> ReviewDecision:
        """End a job awaiting review cancelled, without running any task."""
        return await self._send(calls.reject(job_id))

    async def get_log(self, job_id: str, limit: int = 20) -> list[LogLine]:
        """The job's latest log lines, oldest first."""
        return await self._send(calls.get_log(job_id, limit))

    async def get_task(self, job_id: str, task_id: str) -> TaskDetail:
        return await self._send(calls.get_task(job_id, task_id))

    async def list_artifacts(self, job_id: str) -> list[ArtifactPublic]:
        return await self._send(calls.list_artifacts(job_id))

    async def read_artifact(self, job_id: str, path: str) -> bytes:
        return await self._send(calls.read_artifact(job_id, path))

    async def download_artifacts(self, job_id: str) -> bytes:
        """Every result file of the job, as a zip."""
        return await self._send(calls.download_artifacts(job_id))

    async def list_models(self) -> list[ModelStatsPublic]:
        return await self._send(calls.list_models())

    async def metrics(self) -> str:
        return await self._send(calls.metrics())

    async def follow(self, job_id: str, *, after: int = 0) -> AsyncGenerator[StoredEvent, None]:
        """The job's events after `after`, live, until its final `done`; reconnects (with
        Last-Event-ID) when the stream drops or the server restarts."""
        follower = Follower(job_id, last_id=after, patience_s=self.patience_s)
        route = calls.stream(job_id)
        while True:
            try:
                async with aconnect_sse(
                    self._http, "GET", route.path, headers=follower.headers()
                ) as source:
                    response = source.response
                    if response.status_code == 204:
                        return  # finished, and we have every event
                    if response.is_error:
                        await response.aread()
                        route.result(response)
                    follower.connected()
                    async for sse in source.aiter_sse():
                        event = follower.accept(sse)
                        if event is not None:
                            yield event
                if follower.finished():
                    return
                await asyncio.sleep(follower.backoff())
            except httpx.TransportError as e:
                await asyncio.sleep(follower.backoff(e))
