"""`orchestrator worker`: runs jobs from the shared queue, without serving HTTP.

Start several (each with its own `--worker-id`) beside one or more `orchestrator serve`
processes on the same PostgreSQL database to spread jobs over machines.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from typing import Annotated

import typer

from orchestrator.cli.app import _run_async, _settings, app, out
from orchestrator.runtime import Runtime
from orchestrator.runtime.memory import freeze_startup_objects


@app.command()
def worker(
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--worker-id",
            help="Stable id of this worker (default worker-HOST). Jobs it was running when "
            "it stopped continue when a worker with the same id starts, or on another worker "
            "once this one has been silent for ORCH_WORKER_DEAD_AFTER_S.",
        ),
    ] = None,
) -> None:
    """Run jobs from the shared queue until stopped (Ctrl-C or SIGTERM)."""
    settings = _settings()
    executor_id = worker_id or f"worker-{socket.gethostname()}"

    async def go() -> None:
        runtime = await Runtime.start(settings, executor_id=executor_id, worker=True)
        freeze_startup_objects()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        # Host and database only: no credentials, no session settings or pool sizes.
        where = settings.store_url.split("@")[-1].split("?")[0]
        out.print(f"worker {executor_id} ready; data in {where}")
        try:
            await stopping.wait()
        finally:
            await runtime.stop()
        out.print(
            f"worker {executor_id} stopped; its unfinished jobs continue when it restarts, "
            "or on another worker once it is presumed dead"
        )

    _run_async(go)
