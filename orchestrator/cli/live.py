"""The live task table of `run` and `resume`, redrawn until the job's result is known;
the same for a job run here and one followed on a server (`--server`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rich.console import Console, RenderableType
from rich.live import Live

T = TypeVar("T")

REDRAW_S = 0.5


async def watch(
    console: Console, frame: Callable[[], Awaitable[RenderableType]], result: asyncio.Future[T]
) -> T:
    """Redraw `frame()` every REDRAW_S until `result` is done; its value."""
    with Live(await frame(), console=console, refresh_per_second=4, transient=False) as live:
        while not result.done():
            await asyncio.wait({result}, timeout=REDRAW_S)
            live.update(await frame())
    return result.result()
