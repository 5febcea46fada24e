"""The MCP server at `/mcp` (streamable HTTP, stateless), behind the rules of `/api`: with
ORCH_API_TOKEN set, a request needs the bearer token or the dashboard's session cookie.

Its tools (integrations/mcp.py) call this same app in-process through the typed client, so
they go through the API's validation, limits and errors. The MCP session manager runs once
per start of the app's lifespan, so it is built there, not with the app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi.responses import JSONResponse
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestrator.api.auth import SESSION_COOKIE, check_access
from orchestrator.api.config import ApiSettings
from orchestrator.api.errors import ErrorBody, NotAuthenticated
from orchestrator.client import AsyncClient
from orchestrator.integrations.mcp import build_mcp

MCP_PATH = "/mcp"
# Host and Origin are checked for the whole app by HostOriginGuard (api/hosts.py).
CHECKED_OUTSIDE = TransportSecuritySettings(enable_dns_rebinding_protection=False)


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials else None


class McpEndpoint:
    """The ASGI endpoint at MCP_PATH."""

    def __init__(self, api: ApiSettings) -> None:
        self.api = api
        self._handler: ASGIApp | None = None

    def route(self) -> Route:
        return Route(MCP_PATH, self, include_in_schema=False)

    @asynccontextmanager
    async def running(self, client: Callable[[], AsyncClient]) -> AsyncIterator[None]:
        server = build_mcp(client)
        self._handler = server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            transport_security=CHECKED_OUTSIDE,
        )
        try:
            async with server.session_manager.run():
                yield
        finally:
            self._handler = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        try:
            check_access(self.api, _bearer(request), request.cookies.get(SESSION_COOKIE))
        except NotAuthenticated as e:
            body = ErrorBody(detail=str(e)).model_dump(exclude_none=True)
            refused = JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await refused(scope, receive, send)
            return
        if self._handler is None:  # a request during shutdown
            await JSONResponse({"detail": "the server is stopping"}, status_code=503)(
                scope, receive, send
            )
            return
        await self._handler(scope, receive, send)
