"""What every benchmark shares: a runtime in a scratch directory, and plain-text tables."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from orchestrator.config import Settings
from orchestrator.events import StoredEvent
from orchestrator.providers import ClientSet
from orchestrator.runtime import Runtime
from orchestrator.store import Store

__all__ = ["all_events", "fresh_runtime", "print_table", "quiet_logs"]


def quiet_logs() -> None:
    """Keep job logs (warnings about injected faults, budget stops) off the tables."""
    logging.getLogger("orchestrator").setLevel(logging.CRITICAL)


@asynccontextmanager
async def fresh_runtime(
    clients: ClientSet | None = None, **settings: Any
) -> AsyncIterator[Runtime]:
    """A `Runtime` on new SQLite files in a temporary directory, stopped on exit.

    DBOS is a process-wide singleton: only one of these may be open at a time.
    """
    # SQLite in the scratch directory even when ORCH_DATABASE_URL is set.
    settings.setdefault("database_url", None)
    with tempfile.TemporaryDirectory(prefix="orch-bench-") as tmp:
        config = Settings(data_dir=Path(tmp), **settings)
        runtime = await Runtime.start(config, clients=clients)
        try:
            yield runtime
        finally:
            await runtime.stop()


async def all_events(store: Store, job_id: str) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    while True:
        page = await store.read_events(job_id, after=events[-1].id if events else 0)
        if not page:
            return events
        events.extend(page)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Print a Markdown table (also returned, for the README) and flush it at once."""
    cells = [[str(c) for c in header], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [f"\n### {title}\n"]
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
