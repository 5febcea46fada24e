"""The last lines of a job's log, without following its stream (tools that poll: MCP)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from orchestrator.api.deps import StoreDep
from orchestrator.api.errors import errors
from orchestrator.api.schemas import LogLine

router = APIRouter(prefix="/api/jobs/{job_id}", tags=["log"])

# Log lines are most of a job's events: this many recent events hold the lines asked for.
WINDOW_PER_LINE = 4


@router.get("/log", responses=errors(404, 422))
async def get_log(
    job_id: str,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200, description="How many lines, at most")] = 20,
) -> list[LogLine]:
    """The job's latest log lines, oldest first (from its most recent events)."""
    last = await store.last_event_id(job_id)
    window = limit * WINDOW_PER_LINE
    events = await store.read_events(job_id, after=max(0, last - window), limit=window)
    lines = [
        LogLine(id=e.id, level=e.event.level, msg=e.event.msg, ts=e.event.ts)
        for e in events
        if e.event.type == "log"
    ]
    return lines[-limit:]
