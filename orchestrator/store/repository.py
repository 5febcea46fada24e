"""`Store`: the orchestrator's tables behind one async API, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.store._artifacts import ArtifactsRepo
from orchestrator.store._calls import CallsRepo
from orchestrator.store._engine import async_url, create_engine, upgrade_to_head
from orchestrator.store._events import EventsRepo
from orchestrator.store._jobs import JobsRepo
from orchestrator.store._ledger import LedgerRepo
from orchestrator.store._notify import EventListener
from orchestrator.store._resume import ResumeRepo
from orchestrator.store._review import ReviewRepo
from orchestrator.store._tasks import TasksRepo
from orchestrator.store._webhooks import WebhooksRepo
from orchestrator.store._workers import WorkersRepo


class Store(
    JobsRepo,
    TasksRepo,
    EventsRepo,
    CallsRepo,
    LedgerRepo,
    ResumeRepo,
    ArtifactsRepo,
    WorkersRepo,
    ReviewRepo,
    WebhooksRepo,
):
    """Jobs, tasks, iterations, events, LLM calls and the budget they hold, artifacts and
    worker heartbeats, plan reviews and webhook delivery attempts.

    Open with `await Store.open(url)`, close with `await store.close()`. One Store holds
    one connection pool; several processes may open the same database at once.
    """

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to `url` (sqlite:///path or postgresql://...; the async driver is chosen
        here) and, unless `migrate` is False, bring the schema to the newest revision."""
        engine = create_engine(async_url(url))
        try:
            if migrate:
                await upgrade_to_head(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    async def listen_events(self, on_event: Callable[[str, int], None]) -> EventListener | None:
        """On PostgreSQL, call `on_event(job_id, last_id)` whenever any process stores
        events (until the listener is stopped); None on SQLite, which cannot notify."""
        if self.dialect != "postgresql":
            return None
        dsn = self._engine.url.set(drivername="postgresql")
        listener = EventListener(dsn.render_as_string(hide_password=False), on_event)
        await listener.start()
        return listener

    async def close(self) -> None:
        await self._engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
