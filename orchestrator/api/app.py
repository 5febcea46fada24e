"""The app factory: `create_app(settings)` builds the FastAPI app; its lifespan starts the
runtime (store, DBOS, recovery of this executor's unfinished jobs) and stops it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from orchestrator import __version__
from orchestrator.api.config import ApiSettings
from orchestrator.api.deps import Services, require_token, storable_request, visible_job
from orchestrator.api.errors import errors, install_error_handlers
from orchestrator.api.feed import SharedReads
from orchestrator.api.hosts import HostOriginGuard
from orchestrator.api.mcp import McpEndpoint
from orchestrator.api.metrics import MeteredHealthBook, Metrics
from orchestrator.api.middleware import BodySizeLimit
from orchestrator.api.ratelimit import RateLimiter
from orchestrator.api.routes import API_ROUTERS, OPEN_ROUTERS
from orchestrator.api.schemas import StreamEvent
from orchestrator.api.ui import mount_ui
from orchestrator.client import AsyncClient
from orchestrator.config import Settings
from orchestrator.engine.sandbox import SandboxLimits, isolation_of
from orchestrator.errors import OrchestratorError
from orchestrator.providers import ClientSet
from orchestrator.runtime import Runtime
from orchestrator.runtime.memory import freeze_startup_objects

logger = logging.getLogger(__name__)

# Enough for a person mistyping; far too few to guess a token.
LOGIN_RATE_PER_MIN = 30


def operation_id(route: APIRoute) -> str:
    """Stable ids (`jobs-create_job`) so the UI's generated client keeps its names."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(
    settings: Settings,
    *,
    api: ApiSettings | None = None,
    executor_id: str | None = None,
    clients: ClientSet | None = None,
) -> FastAPI:
    """`executor_id`: this worker's stable DBOS id (its unfinished jobs are recovered at
    start); `clients` replaces the configured providers (tests)."""
    api = api or ApiSettings()
    executor = executor_id or settings.executor_id
    mcp = McpEndpoint(api)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _check_isolation(settings)
        metrics = Metrics(settings.catalog)
        runtime = await Runtime.start(
            settings,
            executor_id=executor,
            clients=clients,
            health=MeteredHealthBook(metrics, cooldown_s=settings.breaker_cooldown_s),
            worker=True,
        )
        app.state.services = Services(
            runtime=runtime,
            metrics=metrics,
            api=api,
            executor_id=executor,
            reads=SharedReads(runtime.store),
            creations=RateLimiter(api.create_rate_per_min, what="job creations"),
            logins=RateLimiter(LOGIN_RATE_PER_MIN, what="login attempts"),
        )
        watcher = asyncio.create_task(metrics.watch_loop())
        # The MCP tools call this app in-process, through the API's own client and rules.
        itself = AsyncClient(
            "http://127.0.0.1", token=api.token, transport=httpx.ASGITransport(app=app)
        )
        freeze_startup_objects()
        try:
            async with mcp.running(lambda: itself):
                yield
        finally:
            await itself.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await runtime.stop()

    app = FastAPI(
        title="Multi-LLM Orchestrator",
        version=__version__,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    # Any route may refuse text no store keeps (422, our error body) and a deleted job (404).
    checks = [Depends(storable_request), Depends(visible_job)]  # in this order
    for router in API_ROUTERS:
        guarded = [Depends(require_token), *checks]
        app.include_router(router, dependencies=guarded, responses=errors(401, 422))
    for router in OPEN_ROUTERS:
        app.include_router(router, dependencies=checks, responses=errors(422))
    app.router.routes.append(mcp.route())
    mount_ui(app)  # the dashboard at "/": a catch-all, so it stays the last route
    # Added last = outermost: CORS headers also go on 413s and errors.
    app.add_middleware(BodySizeLimit, max_bytes=api.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=api.cors_origins,
        # The dashboard under `npm run dev` (another origin) sends the session cookie.
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Total-Count"],
    )
    # Outermost: a foreign Host or Origin gets no further (not even CORS headers).
    app.add_middleware(HostOriginGuard, api=api)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _check_isolation(settings: Settings) -> None:
    """Say how generated code will be isolated; refuse to start when ORCH_SANDBOX demands
    isolation this machine cannot give (before any job could run code)."""
    limits = SandboxLimits(isolation=settings.sandbox, bwrap=settings.sandbox_bwrap)
    isolation = await asyncio.to_thread(isolation_of, limits)
    if isolation.refused:
        raise OrchestratorError(f"refusing to start: {isolation.why}")
    level = logging.WARNING if isolation.backend == "none" else logging.INFO
    logger.log(level, "generated code isolation: %s", isolation.label)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, plus the schema of a stream event (its route returns SSE)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        event_schema = StreamEvent.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(event_schema.pop("$defs", {}))
        components["StreamEvent"] = event_schema
        app.openapi_schema = schema
    return app.openapi_schema
