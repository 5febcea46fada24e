"""One router per resource; `create_app` includes them all."""

from fastapi import APIRouter

from orchestrator.api.routes import (
    artifacts,
    files,
    health,
    jobs,
    log,
    metrics,
    models,
    review,
    session,
    stream,
    tasks,
    webhooks,
)

__all__ = ["API_ROUTERS", "OPEN_ROUTERS"]

# Behind the bearer token when the server has one.
API_ROUTERS: tuple[APIRouter, ...] = (
    jobs.router,
    stream.router,
    log.router,
    tasks.router,
    review.router,
    artifacts.router,
    files.router,
    models.router,
    health.version_router,
    metrics.router,
    webhooks.router,
)
# Always open: load balancers probe /healthz; the session routes are how a browser logs in.
OPEN_ROUTERS: tuple[APIRouter, ...] = (health.health_router, session.router)
