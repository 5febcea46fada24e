"""PostgreSQL goes away while jobs run, and comes back: the jobs pause, then go on.

The real server is shared, so it is never restarted: the runtime reaches it through a TCP
proxy that the test cuts (every connection dropped, new ones refused, as a restart does)
and then opens again. Each job must end as it would have without the outage, its history
whole, and the provider's bill must show no answer we recorded paid twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from crash_child import KEY, SPEC, crash_settings
from fake_llm_servers import FakeLLMServer
from fault_scenario import Expect, answer, check_bill, check_history
from store_fixtures import server_database

from orchestrator.runtime import Runtime

__all__ = ["server_database"]  # a fixture, used by name

PG = ("127.0.0.1", 5432)
OUTAGE_S = 3.0  # how long the database stays away (the fault's length, not a wait)


class CuttableProxy:
    """A TCP proxy to PostgreSQL on its own thread and loop (DBOS talks to its database
    from threads, so the proxy must not depend on the runtime's loop)."""

    def __init__(self) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> CuttableProxy:
        self._thread.start()
        self._call(self._open())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._open())

    def _call(self, coro: Any) -> None:
        future: Future[None] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.result(timeout=10)

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*PG)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    with CuttableProxy() as running:
        yield running


@pytest.mark.postgres
def test_jobs_pause_while_postgresql_is_away_and_go_on_after(
    server_database: str, proxy: CuttableProxy, tmp_path: Path
) -> None:
    url = server_database.replace("postgresql://", "postgresql+asyncpg://").replace(
        f":{PG[1]}/", f":{proxy.port}/"
    )
    with FakeLLMServer(answer, api_key=KEY, latency_s=(0.05, 0.3)) as server:
        settings = crash_settings(tmp_path, server.url).model_copy(update={"database_url": url})
        asyncio.run(run_through_an_outage(settings, server, proxy))


async def run_through_an_outage(settings: Any, server: FakeLLMServer, proxy: CuttableProxy) -> None:
    runtime = await Runtime.start(settings)
    jobs = ["job1", "job2", "job3"]
    try:
        for job_id in jobs:
            await runtime.submit(SPEC.model_copy(update={"concurrency": 2}), job_id=job_id)
        deadline = time.monotonic() + 60
        while len(server.bill) < 6:  # the jobs are under way
            assert time.monotonic() < deadline, "the jobs never started calling"
            await asyncio.sleep(0.05)
        await asyncio.to_thread(proxy.cut)
        billed_before = len(server.bill)
        await asyncio.sleep(OUTAGE_S)
        # Without the database no call can be reserved: only those in flight went on.
        assert len(server.bill) - billed_before <= len(jobs) * 2
        await asyncio.to_thread(proxy.restore)
        for job_id in jobs:
            await asyncio.wait_for(runtime.wait(job_id), timeout=120)
        for job_id in jobs:
            await check_history(runtime, job_id, Expect())
        await check_bill(runtime, jobs, server, None)
    finally:
        await runtime.stop()
