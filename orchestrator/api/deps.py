"""What handlers depend on, as `Annotated` aliases: `runtime: RuntimeDep`, never a bare Depends.

Everything is built once in the app's lifespan (`create_app`) and kept on `app.state`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.api.config import ApiSettings
from orchestrator.api.errors import NotAuthenticated
from orchestrator.api.feed import SharedReads
from orchestrator.api.metrics import Metrics
from orchestrator.runtime import Runtime
from orchestrator.store import Store


@dataclass
class Services:
    runtime: Runtime
    metrics: Metrics
    api: ApiSettings
    executor_id: str
    reads: SharedReads


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


def require_token(request: Request, api: ApiSettingsDep, bearer: BearerDep) -> None:
    """With ORCH_API_TOKEN set: a bearer token; on event streams also `?token=`, since
    EventSource cannot set headers (elsewhere not: URLs end up in logs)."""
    expected = api.token
    if expected is None:
        return
    given = bearer.credentials if bearer is not None else None
    if given is None and request.url.path.endswith("/stream"):
        given = request.query_params.get("token")
    if given is None or not secrets.compare_digest(given.encode(), expected.encode()):
        raise NotAuthenticated("this server needs 'Authorization: Bearer <ORCH_API_TOKEN>'")
