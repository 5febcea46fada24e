"""DELETE of running jobs while many simulated jobs run on one server: how long until it
answers (goal: ≤ 2 s), and how long until the job's rows are gone (in the background).
`python -m bench.api_delete [--jobs 50] [--deletes 10] [--latency-scale 1.0]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx

from bench.api_server import api_server, percentile
from bench.common import print_table

DESCRIPTION = "Weigh the options for heating a small house"


async def _all_running(client: httpx.AsyncClient, jobs: int, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        listed = await client.get("/api/jobs", params={"status": "running", "limit": 0})
        if int(listed.headers["X-Total-Count"]) >= jobs:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the {jobs} jobs were not all running within {within_s} s")


def _has_rows(db: Path, job_id: str) -> bool:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("select 1 from jobs where job_id = ?", (job_id,)).fetchone() is not None


async def measure(url: str, db: Path, jobs: int, deletes: int) -> tuple[list[float], list[float]]:
    """(seconds each DELETE took to answer, seconds until each job's rows were gone)."""
    limits = httpx.Limits(max_connections=jobs + 10)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        body = {"project_description": DESCRIPTION, "budget_usd": 1.0, "concurrency": 3}
        ids = [(await client.post("/api/jobs", json=body)).json()["job_id"] for _ in range(jobs)]
        await _all_running(client, jobs, 300)
        answered, removed = [], []
        for job_id in ids[:deletes]:
            started = time.perf_counter()
            response = await client.delete(f"/api/jobs/{job_id}")
            answered.append(time.perf_counter() - started)
            assert response.status_code == 204, response.text
            for _ in range(6000):  # polled: another process removes them
                if not await asyncio.to_thread(_has_rows, db, job_id):
                    break
                await asyncio.sleep(0.05)
            removed.append(time.perf_counter() - started)
    return answered, removed


def run(jobs: int, deletes: int, latency_scale: float) -> str:
    with tempfile.TemporaryDirectory(prefix="orch-bench-delete-") as tmp:
        data = Path(tmp) / "data"
        env = {"ORCH_SIM_LATENCY_SCALE": str(latency_scale)}
        with api_server(data, **env) as (host, port):
            answered, removed = asyncio.run(
                measure(f"http://{host}:{port}", data / "orchestrator.db", jobs, deletes)
            )
    ms = [round(1000 * s) for s in answered]
    return print_table(
        f"DELETE of a running job, {jobs} simulated jobs running (goal: answered ≤ 2 s)",
        ["jobs", "deletes", "answered p50 ms", "answered max ms", "rows gone p50 s", "max s"],
        [
            [
                jobs,
                deletes,
                round(percentile(ms, 50)),
                max(ms),
                round(percentile(removed, 50), 1),
                round(max(removed), 1),
            ]
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_delete", description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--deletes", type=int, default=10)
    parser.add_argument("--latency-scale", type=float, default=1.0)
    args = parser.parse_args()
    run(args.jobs, args.deletes, args.latency_scale)


if __name__ == "__main__":
    main()
