"""`orchestrator serve`: the HTTP API under uvicorn."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from orchestrator.api import ApiSettings, check_bind, create_app
from orchestrator.cli.app import _run_async, app
from orchestrator.config import Settings
from orchestrator.errors import InvalidInput
from orchestrator.providers import build_clients
from orchestrator.runtime.workers import check_worker_id

BAD_INPUT = 2


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind; not loopback needs a token.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=0, max=65535, help="0 picks a free port.")] = 8000,
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--worker-id",
            help="Stable id of this worker (default server-HOST:PORT). Jobs it was running "
            "when it stopped continue when a worker with the same id starts.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve the HTTP API and live event streams (http://127.0.0.1:8000 by default)."""
    out, err = Console(), Console(stderr=True, soft_wrap=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    api = ApiSettings()
    try:
        check_bind(host, api)
    except InvalidInput as e:
        err.print(f"[red]error:[/] {e}", highlight=False)
        raise typer.Exit(BAD_INPUT) from None
    executor_id = worker_id or f"server-{host}:{port}"
    _run_async(lambda: check_worker_id(settings, executor_id))
    if build_clients(settings, settings.catalog).simulated:
        out.print("[yellow]simulated providers[/]: no API keys set, the built-in simulator answers")
    out.print(f"worker id {executor_id}; data in {settings.data_dir.resolve()}", highlight=False)
    application = create_app(settings, api=api, executor_id=executor_id)
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()
