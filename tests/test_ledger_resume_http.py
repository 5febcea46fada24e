"""Resumes asked at once over HTTP, of two API servers sharing one PostgreSQL database (a double
click, or the API and the CLI together): one run starts, every other resume gets 409, and the
provider's bill shows no call paid twice.

Real servers (`orchestrator serve`, the simulator writing its own bill), real HTTP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from api_fixtures import HELLO, ApiServer, read_all, start_server
from store_fixtures import server_database

__all__ = ["server_database"]  # a fixture, used by name

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# Each client sends its resumes one after the other, both clients at once: the later ones
# reach the job while the winner is starting its run, or once it runs.
CLICKS = 8


def query(database: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database) as conn:
        return conn.execute(sql, args).fetchall()


async def exhausted_job(client: httpx.AsyncClient) -> tuple[str, int]:
    """A hello job stopped by its budget half-way: (job id, id of its last event)."""
    for budget in (0.003, 0.004, 0.006, 0.008):
        created = await client.post("/api/jobs", json={**HELLO, "budget_usd": budget})
        job_id = created.json()["job_id"]
        events = await read_all(client, f"/api/jobs/{job_id}/stream")
        job = (await client.get(f"/api/jobs/{job_id}")).json()
        if events[-1].data["status"] == "BUDGET_EXHAUSTED" and job["total_cost"] > 0:
            return job_id, events[-1].id
    raise AssertionError("no budget stopped the job half-way")


async def clicks(client: httpx.AsyncClient, job_id: str) -> list[int]:
    codes = []
    for _ in range(CLICKS):
        answer = await client.post(f"/api/jobs/{job_id}/resume", json={"budget_usd": 0.5})
        codes.append(answer.status_code)
    return codes


async def resume_from_both(a: ApiServer, b: ApiServer) -> tuple[str, list[int], str]:
    """(job id, every resume's answer, how the resumed run ended)."""
    async with a.client() as first, b.client() as second:
        job_id, last = await exhausted_job(first)
        answers = await asyncio.gather(clicks(first, job_id), clicks(second, job_id))
        after = await read_all(second, f"/api/jobs/{job_id}/stream?after={last}")
    return job_id, [code for codes in answers for code in codes], after[-1].data["status"]


def test_resumes_at_once_from_two_servers_start_one_run(
    server_database: str, tmp_path: Path
) -> None:
    bills = tmp_path / "billing.log"
    env = {
        "ORCH_DATABASE_URL": server_database.replace("postgresql://", "postgresql+asyncpg://"),
        "ORCH_SIM_BILLING_LOG": str(bills),
    }
    a = start_server(tmp_path / "a", worker_id="api-a", **env)
    b = start_server(tmp_path / "b", worker_id="api-b", **env)
    try:
        job_id, answers, ended = asyncio.run(resume_from_both(a, b))
    finally:
        a.stop()
        b.stop()
    assert sorted(answers) == [202] + [409] * (2 * CLICKS - 1), answers
    assert ended == "SUCCESS"
    assert query(server_database, "select attempt from jobs where job_id = %s", job_id) == [(1,)]
    resumed = query(
        server_database,
        "select count(*) from events where job_id = %s and data like %s",
        job_id,
        '%"msg":"resuming:%',
    )
    assert resumed == [(1,)]
    # Every call the provider billed is recorded once: no call ran in two runs at once.
    (recorded,) = query(server_database, "select count(*) from llm_calls")[0]
    assert len(bills.read_text().splitlines()) == recorded
