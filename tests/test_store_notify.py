"""Event notifications across processes: a store that appends events wakes another one's
listener on PostgreSQL (two separate connection pools stand in for two processes)."""

from __future__ import annotations

import asyncio
import time

from store_fixtures import pg_database, store_url

from orchestrator.domain import JobSpec
from orchestrator.events import LogEvent
from orchestrator.store import Store
from orchestrator.store._notify import parse_notice

__all__ = ["pg_database", "store_url"]


async def test_appended_events_wake_a_listener_of_another_store(store_url: str) -> None:
    writer, reader = await Store.open(store_url), await Store.open(store_url)
    heard: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
    listener = await reader.listen_events(lambda job, last: heard.put_nowait((job, last)))
    try:
        if reader.dialect == "sqlite":  # no notifications: followers poll the file
            assert listener is None
            return
        assert listener is not None
        spec = JobSpec(project_description="notify", budget_usd=1.0)
        await writer.create_job(job_id="job0note", spec=spec, simulated=True, now=time.time())
        lines = [LogEvent(msg=f"line {i}", ts=time.time()) for i in range(3)]
        await writer.append_events("job0note", lines)
        await writer.append_events("job0note", lines[:1])
        # A generous bound on a wait that succeeds at once; never reached when it works.
        assert await asyncio.wait_for(heard.get(), 30) == ("job0note", 3)
        assert await asyncio.wait_for(heard.get(), 30) == ("job0note", 4)
    finally:
        if listener is not None:
            await listener.stop()
        await writer.close()
        await reader.close()


def test_notices_are_parsed_strictly() -> None:
    assert parse_notice("ab12cd34:17") == ("ab12cd34", 17)
    assert parse_notice("ab12cd34:x") is None
    assert parse_notice(":3") is None
    assert parse_notice("nonsense") is None
