"""One exception tree for the whole orchestrator.

OrchestratorError
 ├── InvalidInput            bad spec, bad YAML, bad argument (a caller mistake; HTTP 4xx)
 │    └── UnusableInput      well-formed but unusable (HTTP 422)
 │         └── PlanInvalid   a plan (a planner's or a reviewer's) failed validation
 ├── JobNotFound             unknown job id (HTTP 404)
 ├── TaskNotFound            unknown task id (HTTP 404)
 ├── ArtifactNotFound        the job has no result file at that path (HTTP 404)
 │    └── VersionNotFound   the file has no version at that commit (HTTP 404)
 ├── JobConflict             the job's state forbids the action (HTTP 409)
 ├── StaleRun                another process took over the job's run: this one stops
 ├── BudgetExceeded          a call's worst-case cost does not fit the remaining budget
 ├── CatalogError            the model catalog file is unreadable or inconsistent
 ├── SandboxRefused          ORCH_SANDBOX demands isolation this machine cannot give
 ├── NotAuthenticated        the server has a token and the request lacked it (HTTP 401)
 ├── TooManyRequests         a client went over a rate limit (HTTP 429)
 ├── RemoteError             a server answered an error with no better type (the client)
 │    └── ServerUnreachable  no answer from the server at all
 └── ProviderError           an LLM call failed (carries provider and model)
      ├── RateLimited        429; `retry_after` seconds when the provider said
      ├── ProviderUnavailable 5xx or connection failure
      ├── ProviderTimeout    no answer within the call's time limit
      ├── AuthFailed         401/403: the key is wrong or lacks access
      ├── ModelNotFound      404: the provider does not serve this model
      ├── ContextTooLong     the request does not fit the model's context window
      └── MalformedOutput    the answer could not be parsed or validated
"""

from __future__ import annotations

from typing import TypedDict

__all__ = [
    "ArtifactNotFound",
    "AuthFailed",
    "BudgetExceeded",
    "CatalogError",
    "ContextTooLong",
    "InvalidInput",
    "JobConflict",
    "JobNotFound",
    "MalformedOutput",
    "ModelNotFound",
    "NotAuthenticated",
    "OrchestratorError",
    "PlanInvalid",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimited",
    "RemoteError",
    "SandboxRefused",
    "ServerUnreachable",
    "StaleRun",
    "TaskNotFound",
    "TooManyRequests",
    "UnusableInput",
    "VersionNotFound",
    "Where",
]


class OrchestratorError(Exception):
    """Base of every error the orchestrator raises on purpose."""


class InvalidInput(OrchestratorError):
    pass


class JobNotFound(OrchestratorError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} not found")
        self.job_id = job_id


class TaskNotFound(OrchestratorError):
    def __init__(self, job_id: str, task_id: str) -> None:
        super().__init__(f"task {task_id!r} not found in job {job_id!r}")
        self.job_id = job_id
        self.task_id = task_id


class ArtifactNotFound(OrchestratorError):
    def __init__(self, job_id: str, path: str) -> None:
        super().__init__(f"job {job_id!r} has no artifact {path!r}")
        self.job_id = job_id
        self.path = path


class VersionNotFound(ArtifactNotFound):
    """A commit that is not a version of the file (404, like an unknown file)."""

    def __init__(self, job_id: str, path: str, commit: str) -> None:
        super().__init__(job_id, path)
        self.args = (f"file {path!r} of job {job_id!r} has no version {commit!r}",)
        self.commit = commit


class JobConflict(OrchestratorError):
    def __init__(self, job_id: str, reason: str) -> None:
        super().__init__(f"job {job_id!r}: {reason}")
        self.job_id = job_id
        self.reason = reason


class StaleRun(OrchestratorError):
    """A write of a job's run whose fencing token is no longer the job's: another process
    has taken the run over (or a resume started the next one). The stale run stops."""

    def __init__(self, job_id: str, reason: str) -> None:
        super().__init__(f"job {job_id!r}: {reason}")
        self.job_id = job_id
        self.reason = reason

    def __reduce__(self) -> tuple[type[StaleRun], tuple[str, str]]:
        return StaleRun, (self.job_id, self.reason)  # DBOS stores a workflow's error pickled


class BudgetExceeded(OrchestratorError):
    def __init__(self, needed: float, available: float) -> None:
        super().__init__(f"a call needs up to ${needed:.6f} but only ${available:.6f} is left")
        self.needed = needed
        self.available = available


class UnusableInput(InvalidInput):
    """Well-formed input that cannot be used as it is (HTTP 422): an edited plan that is not a
    valid plan, an approval's budget below what the job has spent."""


class PlanInvalid(UnusableInput):
    pass


class CatalogError(OrchestratorError):
    pass


class SandboxRefused(OrchestratorError):
    pass


class NotAuthenticated(OrchestratorError):
    pass


class TooManyRequests(OrchestratorError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RemoteError(OrchestratorError):
    """What the HTTP client raises for an answer no other type here describes (a 5xx)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ServerUnreachable(RemoteError):
    pass


class Where(TypedDict):
    """Which provider and model an error is about (`**where` into a ProviderError)."""

    provider: str
    model: str


class ProviderError(OrchestratorError):
    """An LLM call failed. `retryable` says whether trying again may help.

    `usage` is what the provider reported, and will bill, for a failed attempt it answered
    (input and output tokens of a cut-off or invalid answer); `billed` says that the attempt
    may have been billed even without a report (a request sent whose answer never arrived in
    time), so it is charged its reservation. `outage` says that the failure is about the
    provider being reachable (it feeds the circuit breaker); a model that answers badly, or a
    request too long for it, is not an outage.
    """

    retryable = False
    billed = False
    outage = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        usage: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model
        self.usage = usage


class RateLimited(ProviderError):
    retryable = True

    def __init__(
        self, message: str, *, provider: str = "", model: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    retryable = True


class ProviderTimeout(ProviderError):
    retryable = True
    billed = True  # the provider may have answered, and billed, after we stopped waiting


class AuthFailed(ProviderError):
    pass


class ModelNotFound(ProviderError):
    pass


class ContextTooLong(ProviderError):
    """The server refused the request as longer than the model's context: sending the same
    request again cannot help (a shorter one, or another model, may)."""

    outage = False


class MalformedOutput(ProviderError):
    """`answer` is what the model said (for the re-ask that quotes it back)."""

    retryable = True
    billed = True  # the provider answered: it bills the answer even when we cannot use it
    outage = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        usage: tuple[int, int] | None = None,
        answer: str = "",
    ) -> None:
        super().__init__(message, provider=provider, model=model, usage=usage)
        self.answer = answer
