"""The blocking client: `Client(url, token=...)`, the methods of `AsyncClient`, run on an
event loop in a thread of its own (one implementation of the routes, not two)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, TypeVar

from anyio.from_thread import start_blocking_portal

from orchestrator.api.plan_schemas import PlanPublic, ReviewDecision
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
from orchestrator.client._async import AsyncClient
from orchestrator.client._calls import JobPage
from orchestrator.domain import JobStatus
from orchestrator.events import StoredEvent
from orchestrator.plan import ReviewedPlan

T = TypeVar("T")


class Client:
    """`AsyncClient`, blocking: same arguments, same methods, same errors."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        patience_s: float = 120.0,
    ) -> None:
        self._loop = start_blocking_portal()
        self._portal = self._loop.__enter__()
        self._async = AsyncClient(base_url, token=token, timeout=timeout, patience_s=patience_s)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._portal.call(self._async.close)
        finally:
            self._loop.__exit__(None, None, None)

    def _run(self, method: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kw: Any) -> T:
        return self._portal.call(lambda: method(*args, **kw))

    def health(self) -> Health:
        return self._run(self._async.health)

    def version(self) -> VersionPublic:
        return self._run(self._async.version)

    def session(self) -> SessionPublic:
        return self._run(self._async.session)

    def create_job(self, spec: JobCreate) -> JobCreated:
        return self._run(self._async.create_job, spec)

    def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        q: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> JobPage:
        return self._run(self._async.list_jobs, status=status, q=q, limit=limit, offset=offset)

    def get_job(self, job_id: str) -> JobDetail:
        return self._run(self._async.get_job, job_id)

    def delete_job(self, job_id: str) -> None:
        self._run(self._async.delete_job, job_id)

    def resume_job(self, job_id: str, request: ResumeRequest | None = None) -> JobAccepted:
        return self._run(self._async.resume_job, job_id, request)

    def cancel_job(self, job_id: str) -> JobAccepted:
        return self._run(self._async.cancel_job, job_id)

    def get_plan(self, job_id: str) -> PlanPublic:
        return self._run(self._async.get_plan, job_id)

    def edit_plan(self, job_id: str, plan: ReviewedPlan) -> PlanPublic:
        return self._run(self._async.edit_plan, job_id, plan)

    def approve(self, job_id: str, *, budget_usd: float | None = None) -> ReviewDecision:
        return self._run(self._async.approve, job_id, budget_usd=budget_usd)

    def reject(self, job_id: str) -> ReviewDecision:
        return self._run(self._async.reject, job_id)

    def get_log(self, job_id: str, limit: int = 20) -> list[LogLine]:
        """The job's latest log lines, oldest first."""
        return self._run(self._async.get_log, job_id, limit)

    def get_task(self, job_id: str, task_id: str) -> TaskDetail:
        return self._run(self._async.get_task, job_id, task_id)

    def list_artifacts(self, job_id: str) -> list[ArtifactPublic]:
        return self._run(self._async.list_artifacts, job_id)

    def read_artifact(self, job_id: str, path: str) -> bytes:
        return self._run(self._async.read_artifact, job_id, path)

    def download_artifacts(self, job_id: str) -> bytes:
        """Every result file of the job, as a zip."""
        return self._run(self._async.download_artifacts, job_id)

    def list_models(self) -> list[ModelStatsPublic]:
        return self._run(self._async.list_models)

    def metrics(self) -> str:
        return self._run(self._async.metrics)

    def follow(self, job_id: str, *, after: int = 0) -> Generator[StoredEvent, None, None]:
        """The job's events after `after`, live, until its final `done`; reconnects (with
        Last-Event-ID) when the stream drops or the server restarts."""
        events = self._async.follow(job_id, after=after)
        try:
            while True:
                try:
                    yield self._portal.call(events.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            self._portal.call(events.aclose)
