"""`orchestrator mcp`: the MCP tools over stdio, for desktop assistants (Claude Desktop,
Cursor). With `--server URL` they drive that server; without, this process serves the
orchestrator itself (the same app as `orchestrator serve`, without listening on a port).

Stdout carries the protocol: nothing else may be printed there (logs go to stderr).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import typer

from orchestrator.api import ApiSettings, create_app
from orchestrator.cli.app import _run_async, _settings, app
from orchestrator.cli.remote import Remote
from orchestrator.client import AsyncClient
from orchestrator.integrations.mcp import build_mcp


@asynccontextmanager
async def _in_process() -> AsyncIterator[AsyncClient]:
    """A client of an app run in this process (its lifespan: runtime, recovery, workers)."""
    api = ApiSettings()
    served = create_app(_settings(), api=api, executor_id=f"mcp-{socket.gethostname()}")
    async with served.router.lifespan_context(served):
        transport = httpx.ASGITransport(app=served)
        async with AsyncClient("http://127.0.0.1", token=api.token, transport=transport) as c:
            yield c


@app.command("mcp")
def mcp_stdio(ctx: typer.Context) -> None:
    """Serve the MCP tools (start_job, wait_for_job, read_file...) over stdio."""
    remote: Remote | None = ctx.obj

    async def go() -> None:
        backend = remote.client() if remote is not None else _in_process()
        async with backend as client:
            await build_mcp(lambda: client).run_stdio_async()

    _run_async(go)
