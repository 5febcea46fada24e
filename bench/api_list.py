"""`GET /api/jobs` with many stored jobs, through the real server: latency per query shape.

The jobs are written straight into a fresh store (finished, so nothing runs), then the server
is started on it and each query is sent `--requests` times, one at a time, on a kept-alive
connection. `python -m bench.api_list [--jobs 10000] [--requests 300]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import create_engine

from bench.api_server import api_server, percentile
from bench.common import print_table
from orchestrator.config import Settings
from orchestrator.domain import ProjectStatus
from orchestrator.store import Store, metadata

WORDS = ["heating", "house", "script", "report", "essay", "data", "cache", "queue", "garden"]
QUERIES: dict[str, dict[str, str | int]] = {
    "default page (100)": {},
    "limit=20": {"limit": 20},
    "status=failed": {"status": "failed", "limit": 20},
    "q=garden": {"q": "garden", "limit": 20},
    "offset=9000": {"offset": 9000, "limit": 20},
}


async def fill(data_dir: Path, count: int) -> None:
    """Create the schema through the Store, then bulk-insert finished jobs in one transaction
    (the Store writes one job per transaction: fine for users, slow for 10,000 set-ups)."""
    settings = Settings(data_dir=data_dir)
    store = await Store.open(settings.store_url)
    await store.close()
    rng = random.Random(1)
    start = time.time() - count
    rows = []
    for i in range(count):
        final = rng.choice([ProjectStatus.SUCCESS, ProjectStatus.BUDGET_EXHAUSTED])
        rows.append(
            {
                "job_id": f"b{i:07d}",
                "project_description": f"Job {i}: {' '.join(rng.choices(WORDS, k=6))}",
                "success_criteria": "",
                "budget_usd": Decimal("1.0"),
                "time_limit_s": 600.0,
                "concurrency": 3,
                "status": final.job_status.value,
                "final_status": final.value,
                "total_cost": Decimal(str(round(rng.uniform(0, 1), 6))),
                "created_at": start + i,
                "updated_at": start + i,
                "task_count": 5,
                "simulated": True,
                "attempt": 0,
                "error": "",
                "last_event_id": 0,
            }
        )
    engine = create_engine(f"sqlite:///{data_dir / 'orchestrator.db'}")
    with engine.begin() as conn:
        conn.execute(metadata.tables["jobs"].insert(), rows)
    engine.dispose()


async def measure(url: str, requests: int) -> list[list[object]]:
    rows: list[list[object]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for name, params in QUERIES.items():
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = await client.get("/api/jobs", params=params)
                times.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
            total = answer.headers["X-Total-Count"]
            rows.append(
                [name, total, len(answer.json()), percentile(times, 50), percentile(times, 95)]
            )
    return rows


def run(jobs: int, requests: int) -> str:
    with tempfile.TemporaryDirectory(prefix="orch-bench-list-") as tmp:
        data = Path(tmp) / "data"
        filled = time.perf_counter()
        asyncio.run(fill(data, jobs))
        print(f"stored {jobs} jobs in {time.perf_counter() - filled:.1f} s", flush=True)
        with api_server(data) as (host, port):
            rows = asyncio.run(measure(f"http://{host}:{port}", requests))
    return print_table(
        f"GET /api/jobs with {jobs} stored jobs (goal: p95 ≤ 30 ms)",
        ["query", "matching", "returned", "p50 ms", "p95 ms"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_list", description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    run(args.jobs, args.requests)


if __name__ == "__main__":
    main()
