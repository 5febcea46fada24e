"""What handlers depend on, as `Annotated` aliases: `runtime: RuntimeDep`, never a bare Depends.

Everything is built once in the app's lifespan (`create_app`) and kept on `app.state`.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.api.auth import SESSION_COOKIE, check_access
from orchestrator.api.config import ApiSettings
from orchestrator.api.feed import SharedReads
from orchestrator.api.metrics import Metrics
from orchestrator.api.ratelimit import RateLimiter
from orchestrator.errors import JobNotFound
from orchestrator.runtime import Runtime
from orchestrator.storable import Where, refusals
from orchestrator.store import Store


@dataclass
class Services:
    runtime: Runtime
    metrics: Metrics
    api: ApiSettings
    executor_id: str
    reads: SharedReads
    creations: RateLimiter
    logins: RateLimiter


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_runtime(services: ServicesDep) -> Runtime:
    return services.runtime


def get_store(services: ServicesDep) -> Store:
    return services.runtime.store


def get_metrics(services: ServicesDep) -> Metrics:
    return services.metrics


def get_api_settings(services: ServicesDep) -> ApiSettings:
    return services.api


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
StoreDep = Annotated[Store, Depends(get_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]

_bearer = HTTPBearer(auto_error=False, description="Needed when the server has ORCH_API_TOKEN")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_session = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="Set by POST /api/session (the dashboard's login); HttpOnly, SameSite=Strict",
)
SessionCookieDep = Annotated[str | None, Depends(_session)]


def require_token(api: ApiSettingsDep, bearer: BearerDep, session: SessionCookieDep) -> None:
    """With ORCH_API_TOKEN set: the bearer token or the dashboard's session cookie."""
    check_access(api, bearer.credentials if bearer is not None else None, session)


async def storable_request(request: Request) -> None:
    """A 422 naming each parameter or JSON body field no store can keep (a NUL; a lone
    surrogate): before any handler or model sees it, so none answers 500 for it."""
    given: list[tuple[Where, object]] = [(("path",), dict(request.path_params))]
    given += [(("query", name), value) for name, value in request.query_params.multi_items()]
    if request.headers.get("content-type", "").startswith("application/json"):
        with contextlib.suppress(ValueError):  # not JSON: FastAPI has already said so
            given.append((("body",), json.loads(await request.body())))
    found = [
        {"loc": (*part, *at), "msg": why, "type": "value_error"}
        for part, value in given
        for at, why in refusals(value)
    ]
    if found:
        raise RequestValidationError(found)


async def visible_job(request: Request, services: ServicesDep) -> None:
    """A job whose deletion has started is gone (404) for every route at once."""
    job_id = request.path_params.get("job_id")
    if isinstance(job_id, str) and await services.runtime.store.is_hidden(job_id):
        raise JobNotFound(job_id)


def limit_creations(request: Request, services: ServicesDep) -> None:
    """Spend one token of the client address's job-creation bucket (429 when empty)."""
    services.creations.take(request.client.host if request.client else "unknown")
