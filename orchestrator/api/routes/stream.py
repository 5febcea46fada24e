"""The live event stream of a job (Server-Sent Events).

Every event is read from the store, live ones too: a subscriber wakes when this process
stores events of the job (the runtime's event bus) or every `sse_poll_s` (events written by
another process), then reads the rows after the last id it sent. So a live subscriber and a
reconnecting one get the same events with the same ids, in order, without gaps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette import EventSourceResponse

from orchestrator.api.config import ApiSettings
from orchestrator.api.deps import ServicesDep
from orchestrator.api.errors import errors
from orchestrator.api.feed import SharedReads
from orchestrator.api.metrics import Metrics
from orchestrator.errors import InvalidInput, JobNotFound
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/jobs", tags=["stream"])

BATCH = 500
# An idle stream checks this often (in polls) whether its job still exists.
EXISTS_CHECK_POLLS = 10

# One event of the stream as the HTML standard parses it (the per-item schema of a
# text/event-stream, as OpenAPI 3.2 and tools such as schemathesis read it): its `data` is
# one StreamEvent as JSON text.
_SSE_EVENT: dict[str, object] = {
    "type": "object",
    "required": ["data", "id"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The per-job event id"},
        "event": {"type": "string", "enum": ["message"], "description": "Events are unnamed"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/StreamEvent"},
        },
        "retry": {"type": "integer"},
    },
}
_STREAM_DOC: dict[int | str, dict[str, object]] = {
    200: {
        "description": "`text/event-stream` of unnamed events: `id:` the per-job event id, "
        "`data:` one StreamEvent as JSON. Ends after the `done` of a finished job.",
        "content": {"text/event-stream": {"schema": _SSE_EVENT}},
    },
    204: {"description": "The job finished and the client has every event (stop reconnecting)"},
}


def parse_after(last_event_id: str | None, after: str | None) -> int:
    """Where to resume: the `Last-Event-ID` header (a reconnect) wins over `?after=`."""
    name, raw = ("Last-Event-ID", last_event_id) if last_event_id is not None else ("after", after)
    if raw is None or raw.strip() == "":
        return 0
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be an event id (an integer >= 0), got {raw!r}") from None
    if value < 0:
        raise InvalidInput(f"{name} must be an event id (an integer >= 0), got {raw!r}")
    return value


async def _finished(runtime: Runtime, job_id: str, last_sent: int) -> bool:
    """The job has ended and `last_sent` (a `done`) is its last event: the stream may end."""
    job = await runtime.store.get_job(job_id)
    return job.status.is_terminal() and await runtime.store.last_event_id(job_id) <= last_sent


async def _caught_up_after_done(runtime: Runtime, job_id: str, after: int) -> bool:
    if after == 0:
        return False
    previous = await runtime.store.read_events(job_id, after=after - 1, limit=1)
    return (
        bool(previous)
        and previous[0].id == after
        and previous[0].event.type == "done"
        and await _finished(runtime, job_id, after)
    )


async def follow(
    runtime: Runtime,
    job_id: str,
    after: int,
    *,
    reads: SharedReads,
    api: ApiSettings,
    metrics: Metrics,
    shutdown: anyio.Event,
) -> AsyncIterator[bytes]:
    """Stored events of the job with id > `after`, then live ones, until its final `done`
    (or until the server shuts down: the client reconnects with its Last-Event-ID)."""
    metrics.sse_subscribers.inc()
    last, idle, at_done = after, 0, False
    try:
        while not shutdown.is_set():
            try:
                batch = await reads.read(job_id, after=last, limit=BATCH)
                idle = 0 if batch else idle + 1
                if idle and idle % EXISTS_CHECK_POLLS == 0:
                    await runtime.store.get_job(job_id)
            except SQLAlchemyError as e:
                # The store is busy (pool exhausted, file locked): keep the client, try again.
                log.warning("event stream of job %s: store unavailable, retrying: %s", job_id, e)
                await asyncio.sleep(api.sse_poll_s)
                continue
            if batch:
                last = batch[-1].id
                yield b"".join(item.wire for item in batch)  # one write for a burst
                at_done = batch[-1].type == "done"
            if at_done:  # checked after sending: the `done` must not wait for these queries
                try:
                    if await _finished(runtime, job_id, last):
                        return
                    at_done = False  # a resume has begun: keep following
                except SQLAlchemyError as e:
                    log.warning("event stream of job %s: store unavailable: %s", job_id, e)
                    await asyncio.sleep(api.sse_poll_s)
                    continue
            if len(batch) < BATCH:
                await runtime.wait_for_events(job_id, last, api.sse_poll_s)
    except JobNotFound:
        return  # deleted while followed: nothing more will come
    finally:
        metrics.sse_subscribers.dec()


@router.get(
    "/{job_id}/stream",
    response_class=EventSourceResponse,
    responses=_STREAM_DOC | errors(400, 404),
    response_model=None,
)
async def stream_job(
    job_id: str,
    services: ServicesDep,
    last_event_id: Annotated[str | None, Header(description="Resume after this id")] = None,
    after: Annotated[str | None, Query(description="Resume after this event id")] = None,
) -> Response:
    """Replay the job's stored events after `Last-Event-ID` / `?after=` (from the first
    without either), then follow it live. Keep-alive comments every `sse_ping_s` at most."""
    start = parse_after(last_event_id, after)
    runtime, api = services.runtime, services.api
    await runtime.store.get_job(job_id)
    if await _caught_up_after_done(runtime, job_id, start):
        return Response(status_code=204)
    shutdown = anyio.Event()
    return EventSourceResponse(
        follow(
            runtime,
            job_id,
            start,
            reads=services.reads,
            api=api,
            metrics=services.metrics,
            shutdown=shutdown,
        ),
        ping=api.sse_ping_s,
        # On server shutdown, end the stream cleanly (its next wake-up sees the event).
        shutdown_event=shutdown,
        shutdown_grace_period=api.sse_poll_s + 0.5,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
