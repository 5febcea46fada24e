"""Liveness and version."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator import __version__
from orchestrator.api.deps import ServicesDep
from orchestrator.api.schemas import Health, VersionPublic

API_VERSION = "1"

health_router = APIRouter(tags=["health"])
version_router = APIRouter(prefix="/api", tags=["health"])


@health_router.get("/healthz")
async def healthz() -> Health:
    """`{"status": "ok"}` while the server answers (no auth, for load balancers)."""
    return Health()


@version_router.get("/version")
async def version(services: ServicesDep) -> VersionPublic:
    runtime = services.runtime
    return VersionPublic(
        version=__version__,
        api_version=API_VERSION,
        simulated=runtime.deps.clients.simulated,
        executor_id=services.executor_id,
        database=runtime.store.dialect,
    )
