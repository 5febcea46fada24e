"""Shared event reads: subscribers asking for the same page at once cost one store query."""

from __future__ import annotations

import asyncio
import time

import pytest

from orchestrator.api.feed import SharedReads
from orchestrator.events import LogEvent, StoredEvent


class SlowEvents:
    """A store of one job's events whose reads wait until `release` is set (a fake)."""

    def __init__(self, count: int) -> None:
        self.events = [
            StoredEvent(job_id="j", id=i, event=LogEvent(msg=f"line {i}", ts=time.time()))
            for i in range(1, count + 1)
        ]
        self.reads: list[tuple[str, int, int]] = []
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def read_events(
        self, job_id: str, *, after: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        self.reads.append((job_id, after, limit))
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return [e for e in self.events if e.id > after][:limit]


async def test_concurrent_readers_of_one_page_share_one_query() -> None:
    store = SlowEvents(5)
    reads = SharedReads(store)
    readers = [asyncio.create_task(reads.read("j", after=2, limit=10)) for _ in range(50)]
    other = asyncio.create_task(reads.read("j", after=4, limit=10))
    await asyncio.sleep(0)  # let every reader ask
    store.release.set()
    pages = await asyncio.gather(*readers)
    assert store.reads == [("j", 2, 10), ("j", 4, 10)]
    assert all(page == pages[0] for page in pages)
    assert [item.id for item in pages[0]] == [3, 4, 5]
    data = store.events[2].event.model_dump_json().encode()
    assert pages[0][0].wire == b"id: 3\r\ndata: " + data + b"\r\n\r\n"
    assert [item.id for item in await other] == [5]
    # Once answered, the next read asks the store again: nothing is kept in memory.
    await reads.read("j", after=2, limit=10)
    assert len(store.reads) == 3


async def test_a_reader_that_leaves_does_not_cancel_the_others() -> None:
    store = SlowEvents(3)
    reads = SharedReads(store)
    leaving = asyncio.create_task(reads.read("j", after=0, limit=10))
    staying = asyncio.create_task(reads.read("j", after=0, limit=10))
    await asyncio.sleep(0)
    leaving.cancel()
    store.release.set()
    assert [item.id for item in await staying] == [1, 2, 3]
    assert leaving.cancelled() and len(store.reads) == 1


async def test_a_failed_query_fails_every_reader_of_it() -> None:
    store = SlowEvents(3)
    store.fail = RuntimeError("store down")
    reads = SharedReads(store)
    readers = [asyncio.create_task(reads.read("j", after=0, limit=10)) for _ in range(3)]
    await asyncio.sleep(0)
    store.release.set()
    for reader in readers:
        with pytest.raises(RuntimeError, match="store down"):
            await reader
    assert len(store.reads) == 1
