"""DELETE of a running job while 50 jobs run: it answers without waiting for the job's run
to stop, the job is gone from every listing at once, and its rows go once the run stops.

Every job's first call is held by a slow wire server, so no run can end while the test
looks: an answer that came then did not wait for the run. ORCH_DELETE_TIMEOUT_S is long, so
a DELETE that waited for the run would not answer within the client's generous timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from api_fixtures import QUICK, start_server
from fake_llm_servers import FakeLLMServer

pytestmark = pytest.mark.slow

KEY = "sk-delete-test-1414"
RUNNING = 50
# Far below the delete timeout the server is given (600 s): only a DELETE that did not wait
# for the run answers within it.
GENEROUS_S = 60


class HoldingServer(FakeLLMServer):
    """Holds every answer (until it stops); `arrivals` counts the requests it holds."""

    def __init__(self) -> None:
        super().__init__(latency_s=(600.0, 600.0))
        self.arrivals = threading.Semaphore(0)

    def hold_back(self) -> None:
        self.arrivals.release()
        super().hold_back()

    async def wait_held(self, count: int) -> None:
        for _ in range(count):
            assert await asyncio.to_thread(self.arrivals.acquire, timeout=120)


def rows_of(db_path: Path, job_id: str) -> dict[str, int]:
    with sqlite3.connect(db_path, timeout=30) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        counted = {}
        for table in tables:
            columns = [c[1] for c in db.execute(f"pragma table_info({table})")]
            if "job_id" in columns:
                query = f"select count(*) from {table} where job_id = ?"
                counted[table] = db.execute(query, (job_id,)).fetchone()[0]
        return counted


async def test_delete_of_a_running_job_answers_at_once_among_50_running(tmp_path: Path) -> None:
    data = tmp_path / "data"
    model = HoldingServer().__enter__()
    try:
        server = start_server(
            data,
            ORCH_OPENAI_COMPAT_BASE_URL=f"{model.url}/v1",
            ORCH_OPENAI_COMPAT_API_KEY=KEY,
            ORCH_DELETE_TIMEOUT_S="600",
        )
        try:
            async with server.client() as client:
                job_ids = []
                for i in range(RUNNING):
                    body = {"project_description": f"{QUICK} #{i}"}
                    job_ids.append((await client.post("/api/jobs", json=body)).json()["job_id"])
                await model.wait_held(RUNNING)
                doomed = job_ids[0]
                deleted = await client.delete(f"/api/jobs/{doomed}", timeout=GENEROUS_S)
                assert deleted.status_code == 204
                # Its run has not stopped: no call has been answered yet.
                assert model.bill == []
                assert (await client.get(f"/api/jobs/{doomed}")).status_code == 404
                for sub in ("/stream", "/artifacts", "/tasks/task_001"):
                    assert (await client.get(f"/api/jobs/{doomed}{sub}")).status_code == 404
                assert (await client.delete(f"/api/jobs/{doomed}")).status_code == 404
                listed = await client.get("/api/jobs", params={"limit": 1000})
                assert {j["job_id"] for j in listed.json()} == set(job_ids[1:])
                assert listed.headers["X-Total-Count"] == str(RUNNING - 1)
                assert (await client.get(f"/api/jobs/{job_ids[1]}")).status_code == 200
        finally:
            model.__exit__(None, None, None)  # lets the held calls answer: the runs end
            server.stop()  # a graceful stop finishes the removals under way
    finally:
        model.__exit__(None, None, None)
    left = rows_of(data / "orchestrator.db", doomed)
    assert "jobs" in left and set(left.values()) == {0}, left
    assert not (data / "artifacts" / doomed).exists()
