"""A process frozen inside a transaction does not hold a job's row on PostgreSQL for ever.

A worker stalled mid-transaction (a long GC pause, a stopped VM; here SIGSTOP) keeps the row
locks it took. Every session of ours is opened with `idle_in_transaction_session_timeout`
(ORCH_PG_IDLE_IN_TRANSACTION_TIMEOUT_S), so PostgreSQL ends the frozen session and frees the
row: the worker that takes the job over claims it while the other is still frozen, and the
frozen one, once woken, finds its transaction gone. DBOS's system database gets the same.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbos._serialization import DefaultSerializer
from dbos._sys_db import SystemDatabase
from store_fixtures import new_job, server_database

from orchestrator.config import Settings
from orchestrator.store import Store

__all__ = ["server_database"]  # a fixture, used by name

pytestmark = pytest.mark.postgres

# Only a deadline: without the timeout the claim waits for as long as the holder is frozen.
CLAIM_DEADLINE_S = 60

# Takes the job's row lock as every fenced write does, says so, and waits inside the
# transaction for a line on stdin; then tries to commit.
HOLDER = """
import asyncio, sys
from sqlalchemy import text
from orchestrator.config import Settings
from orchestrator.store._engine import async_url, create_engine

async def main(job_id):
    engine = create_engine(async_url(Settings().store_url))
    conn = await engine.connect()
    tx = await conn.begin()
    await conn.execute(
        text("update jobs set updated_at = updated_at where job_id = :j"), {"j": job_id}
    )
    print("locked", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    try:
        await tx.commit()
        print("committed", flush=True)
    except Exception as e:
        print(f"refused: {type(e).__name__}", flush=True)

asyncio.run(main(sys.argv[1]))
"""


def holder_env(database_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    return {
        **clean,
        "ORCH_DATABASE_URL": database_url,
        "ORCH_PG_IDLE_IN_TRANSACTION_TIMEOUT_S": "1",
    }


async def test_a_frozen_holder_of_a_jobs_row_does_not_block_its_takeover(
    server_database: str, tmp_path: Path
) -> None:
    url = server_database.replace("postgresql://", "postgresql+asyncpg://")
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    store = await Store.open(settings.store_url)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        "job00001",
        env=holder_env(url),
        cwd=tmp_path,  # no .env of the checkout
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        job_id = await new_job(store)
        assert holder.stdout is not None
        assert await holder.stdout.readline() == b"locked\n"
        holder.send_signal(signal.SIGSTOP)
        try:
            # The takeover's claim writes the same row: it goes through while the holder is
            # still frozen, once PostgreSQL has ended the holder's idle transaction.
            token = await asyncio.wait_for(
                store.claim_run(job_id, 0, owner="taker"), CLAIM_DEADLINE_S
            )
        finally:
            holder.send_signal(signal.SIGCONT)
        out, _ = await asyncio.wait_for(holder.communicate(b"\n"), 60)
        assert out.startswith(b"refused"), out  # the frozen transaction was rolled back
        assert await store.run_owner(job_id) == (token, "taker")
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await store.close()


def test_dbos_system_database_sessions_get_the_same_timeout(server_database: str) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=server_database,
        pg_idle_in_transaction_timeout_s=1.5,
    )
    # Built as DBOS builds its own (DBOS's default would be 60 s).
    sys_db = SystemDatabase.create(
        system_database_url=settings.dbos_url,
        engine_kwargs={},
        engine=None,
        schema=None,
        serializer=DefaultSerializer(),
        executor_id=None,
    )
    try:
        with sys_db.engine.connect() as conn:
            shown = conn.execute(sa.text("show idle_in_transaction_session_timeout")).scalar()
        assert shown == "1500ms"
    finally:
        sys_db.destroy()
