"""Result files of a job, stored in the database so they move with it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from orchestrator.errors import InvalidInput, JobNotFound
from orchestrator.store._base import StoreBase
from orchestrator.store.tables import PATH, artifacts


def check_artifact_path(path: str) -> str:
    """Accept only a plain relative POSIX path: it becomes a file name on someone's disk."""
    parts = path.split("/")
    if (
        not path
        or len(path) > PATH
        or path.startswith("/")
        or any(c in path for c in "\\:\0")
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise InvalidInput(f"invalid artifact path {path!r}: use a relative path like 'src/a.py'")
    return path


def upsert_artifact(
    insert: Callable[[Table], sqlite.Insert | postgresql.Insert],
    job_id: str,
    path: str,
    content: bytes,
    now: float,
) -> sqlite.Insert | postgresql.Insert:
    """The statement that stores a result file, replacing one of the same path."""
    values = {
        "job_id": job_id,
        "path": check_artifact_path(path),
        "size": len(content),
        "content": content,
        "created_at": now,
    }
    stmt = insert(artifacts).values(values)
    return stmt.on_conflict_do_update(
        index_elements=["job_id", "path"],
        set_={c: stmt.excluded[c] for c in ("size", "content", "created_at")},
    )


class ArtifactsRepo(StoreBase):
    async def save_artifact(self, job_id: str, path: str, content: bytes, *, now: float) -> None:
        """Store a file of the job's result, replacing one of the same path."""
        try:
            async with self._write() as conn:
                await conn.execute(upsert_artifact(self._insert, job_id, path, content, now))
        except IntegrityError as e:  # the foreign key: no such job
            raise JobNotFound(job_id) from e

    async def list_artifacts(self, job_id: str) -> list[tuple[str, int]]:
        """(path, size) of every file of the job, by path."""
        query = (
            select(artifacts.c.path, artifacts.c.size)
            .where(artifacts.c.job_id == job_id)
            .order_by(artifacts.c.path)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(row.path, row.size) for row in rows]

    async def read_artifact(self, job_id: str, path: str) -> bytes:
        query = select(artifacts.c.content).where(
            artifacts.c.job_id == job_id, artifacts.c.path == check_artifact_path(path)
        )
        async with self._engine.connect() as conn:
            content = (await conn.execute(query)).scalar_one_or_none()
            if content is None:
                await self._require_job(conn, job_id)
                raise InvalidInput(f"job {job_id!r} has no artifact {path!r}")
        return bytes(content)
