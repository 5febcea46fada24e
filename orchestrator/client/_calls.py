"""Every route of the API as a `Call`: the request to send and how to read its answer.

The sync and async clients only send these; what a route takes and returns, and how an
error answer becomes an exception of `orchestrator.errors`, is written once, here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from orchestrator.api.plan_schemas import ApproveRequest, PlanPublic, ReviewDecision
from orchestrator.api.schemas import (
    ArtifactPublic,
    Health,
    JobAccepted,
    JobCreate,
    JobCreated,
    JobDetail,
    JobSummary,
    LogLine,
    ModelStatsPublic,
    ResumeRequest,
    SessionPublic,
    TaskDetail,
    VersionPublic,
)
from orchestrator.domain import JobStatus
from orchestrator.errors import (
    ArtifactNotFound,
    InvalidInput,
    JobConflict,
    JobNotFound,
    NotAuthenticated,
    OrchestratorError,
    RemoteError,
    ServerUnreachable,
    TaskNotFound,
    TooManyRequests,
)
from orchestrator.plan import ReviewedPlan

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class JobPage(BaseModel):
    """One page of `GET /api/jobs`: the jobs, and how many match the filter in all."""

    jobs: list[JobSummary]
    total: int


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[httpx.Response], T]
    body: BaseModel | None = None
    params: Mapping[str, str | int] = field(default_factory=dict)
    # What a 404 means for this route (the job, a task of it, or one of its files).
    not_found: Callable[[str], OrchestratorError] | None = None
    job_id: str = ""

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        body = self.body.model_dump(mode="json", exclude_unset=True) if self.body else None
        return http.build_request(self.method, self.path, json=body, params=self.params)

    def result(self, response: httpx.Response) -> T:
        if response.is_error:
            raise error_of(response, self)
        return self.read(response)


def detail_of(response: httpx.Response) -> str:
    """The API's sentence (`{"detail": ...}`), or the start of whatever else it sent."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else (response.text[:200] or response.reason_phrase)


def error_of(response: httpx.Response, call: Call[Any]) -> OrchestratorError:
    code, detail = response.status_code, detail_of(response)
    if code == 404 and call.not_found is not None:
        return call.not_found(detail)
    if code == 409:
        return JobConflict(call.job_id, detail.removeprefix(f"job {call.job_id!r}: "))
    if code == 401:
        return NotAuthenticated(detail)
    if code == 429:
        retry_after = float(response.headers.get("Retry-After", "1"))
        return TooManyRequests(detail, retry_after=retry_after)
    if code in (400, 413, 422):
        return InvalidInput(detail)
    return RemoteError(f"the server answered {code}: {detail}", status_code=code)


def _model(kind: type[BaseModel]) -> Callable[[httpx.Response], Any]:
    return lambda response: kind.model_validate_json(response.content)


def _list(kind: type[Any]) -> Callable[[httpx.Response], Any]:
    adapter = TypeAdapter(list[kind])  # type: ignore[valid-type]
    return lambda response: adapter.validate_json(response.content)


def _nothing(_response: httpx.Response) -> None:
    return None


def _job(job_id: str, rest: str = "") -> str:
    return f"/api/jobs/{quote(job_id, safe='')}{rest}"


def _unknown_job(job_id: str) -> Callable[[str], OrchestratorError]:
    return lambda _detail: JobNotFound(job_id)


def _unknown_job_or(other: OrchestratorError, job_id: str) -> Callable[[str], OrchestratorError]:
    """A 404 of a route under a job: the server says which is unknown, with the message of
    the same exception class, so the message tells them apart."""
    missing_job = JobNotFound(job_id)
    return lambda detail: missing_job if detail == str(missing_job) else other


def health() -> Call[Health]:
    return Call("GET", "/healthz", _model(Health))


def version() -> Call[VersionPublic]:
    return Call("GET", "/api/version", _model(VersionPublic))


def session() -> Call[SessionPublic]:
    return Call("GET", "/api/session", _model(SessionPublic))


def create_job(spec: JobCreate) -> Call[JobCreated]:
    return Call("POST", "/api/jobs", _model(JobCreated), body=spec)


def list_jobs(*, status: JobStatus | None, q: str | None, limit: int, offset: int) -> Call[JobPage]:
    adapter = TypeAdapter(list[JobSummary])

    def read(response: httpx.Response) -> JobPage:
        jobs = adapter.validate_json(response.content)
        return JobPage(jobs=jobs, total=int(response.headers.get("X-Total-Count", len(jobs))))

    params: dict[str, str | int] = {"limit": limit, "offset": offset}
    if status is not None:
        params["status"] = status.value
    if q:
        params["q"] = q
    return Call("GET", "/api/jobs", read, params=params)


def get_job(job_id: str) -> Call[JobDetail]:
    return Call("GET", _job(job_id), _model(JobDetail), not_found=_unknown_job(job_id))


def delete_job(job_id: str) -> Call[None]:
    return Call("DELETE", _job(job_id), _nothing, not_found=_unknown_job(job_id), job_id=job_id)


def _job_action(
    method: str, job_id: str, rest: str, kind: type[M], body: BaseModel | None = None
) -> Call[M]:
    """A change to one job: its 404 names the job, its 409 says what the job is doing."""
    return Call(
        method,
        _job(job_id, rest),
        _model(kind),
        body=body,
        not_found=_unknown_job(job_id),
        job_id=job_id,
    )


def resume_job(job_id: str, request: ResumeRequest | None) -> Call[JobAccepted]:
    return _job_action("POST", job_id, "/resume", JobAccepted, request)


def cancel_job(job_id: str) -> Call[JobAccepted]:
    return _job_action("POST", job_id, "/cancel", JobAccepted)


def get_plan(job_id: str) -> Call[PlanPublic]:
    return Call("GET", _job(job_id, "/plan"), _model(PlanPublic), not_found=_unknown_job(job_id))


def edit_plan(job_id: str, plan: ReviewedPlan) -> Call[PlanPublic]:
    return _job_action("PUT", job_id, "/plan", PlanPublic, plan)


def approve(job_id: str, request: ApproveRequest | None) -> Call[ReviewDecision]:
    return _job_action("POST", job_id, "/approve", ReviewDecision, request)


def reject(job_id: str) -> Call[ReviewDecision]:
    return _job_action("POST", job_id, "/reject", ReviewDecision)


def get_log(job_id: str, limit: int) -> Call[list[LogLine]]:
    return Call(
        "GET",
        _job(job_id, "/log"),
        _list(LogLine),
        params={"limit": limit},
        not_found=_unknown_job(job_id),
    )


def get_task(job_id: str, task_id: str) -> Call[TaskDetail]:
    return Call(
        "GET",
        _job(job_id, f"/tasks/{quote(task_id, safe='')}"),
        _model(TaskDetail),
        not_found=_unknown_job_or(TaskNotFound(job_id, task_id), job_id),
    )


def list_artifacts(job_id: str) -> Call[list[ArtifactPublic]]:
    return Call(
        "GET", _job(job_id, "/artifacts"), _list(ArtifactPublic), not_found=_unknown_job(job_id)
    )


def read_artifact(job_id: str, path: str) -> Call[bytes]:
    return Call(
        "GET",
        _job(job_id, f"/artifacts/{quote(path)}"),
        lambda response: response.content,
        not_found=_unknown_job_or(ArtifactNotFound(job_id, path), job_id),
    )


def download_artifacts(job_id: str) -> Call[bytes]:
    return Call(
        "GET",
        _job(job_id, "/artifacts.zip"),
        lambda response: response.content,
        not_found=_unknown_job(job_id),
    )


def list_models() -> Call[list[ModelStatsPublic]]:
    return Call("GET", "/api/models", _list(ModelStatsPublic))


def metrics() -> Call[str]:
    return Call("GET", "/metrics", lambda response: response.text)


def stream(job_id: str) -> Call[None]:
    """`GET /api/jobs/{id}/stream`: read by the clients' `follow`, not by `read`."""
    return Call("GET", _job(job_id, "/stream"), _nothing, not_found=_unknown_job(job_id))


def http_options(base_url: str, token: str | None, timeout: float) -> dict[str, Any]:
    """What both clients give httpx: the server, the bearer token, the time limits (a read
    waits long enough for an idle stream's keep-alive comments, sent every 15 s at most)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return {
        "base_url": base_url,
        "headers": headers,
        "timeout": httpx.Timeout(timeout, read=max(timeout, 60.0)),
    }


def unreachable(http: httpx.Client | httpx.AsyncClient, error: httpx.TransportError) -> Exception:
    return ServerUnreachable(f"cannot reach the server at {http.base_url}: {error}")
