"""Heartbeats of the worker processes that share the job queue."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import delete, select, update

from orchestrator.store._base import StoreBase
from orchestrator.store.tables import workers


class WorkerBeat(BaseModel):
    worker_id: str
    host: str
    pid: int
    started_at: float
    seen_at: float


class WorkersRepo(StoreBase):
    async def beat(self, worker_id: str, *, host: str, pid: int, now: float) -> None:
        """Record that the worker is alive (`started_at` is kept from its first beat)."""
        values = {"worker_id": worker_id, "host": host, "pid": pid, "started_at": now}
        stmt = self._insert(workers).values(**values, seen_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["worker_id"],
            set_={"host": host, "pid": pid, "seen_at": now},
        )
        async with self._write() as conn:
            await conn.execute(stmt)

    async def beat_again(self, worker_id: str, *, now: float) -> bool:
        """Record that a beating worker is still alive; False when its row is gone: another
        worker claimed it as dead (and took its work over) while it was silent."""
        async with self._write() as conn:
            found = await conn.execute(
                update(workers).where(workers.c.worker_id == worker_id).values(seen_at=now)
            )
        return found.rowcount == 1

    async def list_workers(self) -> list[WorkerBeat]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(workers).order_by(workers.c.worker_id))
            return [WorkerBeat.model_validate(r._asdict()) for r in rows]

    async def claim_dead_worker(self, worker: WorkerBeat) -> bool:
        """Take over a worker last seen at `worker.seen_at`. Exactly one claimant wins;
        none does if the worker beat again meanwhile (it was only slow)."""
        async with self._write() as conn:
            gone = await conn.execute(
                delete(workers).where(
                    workers.c.worker_id == worker.worker_id,
                    workers.c.seen_at == worker.seen_at,
                )
            )
        return gone.rowcount == 1

    async def forget_worker(self, worker_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(workers).where(workers.c.worker_id == worker_id))
