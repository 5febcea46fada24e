"""Many simulated jobs at once on one server: do all finish, and how long does its event loop
stall? The server measures its own loop (a 50 ms timer's lateness, `/metrics`); the client
follows every job's event stream until `done`.
`python -m bench.api_load [--jobs 100] [--latency-scale 1.0]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.api_server import api_server
from bench.common import print_table
from orchestrator.config import Settings

KINDS = {
    "analysis": "Weigh the options for heating a small house",
    "code": "Write a hello world Python script",
}


async def _done(client: httpx.AsyncClient, job_id: str) -> str:
    """Follow the job's stream; its final status (the `done` event's)."""
    status = "no done event"
    async with client.stream("GET", f"/api/jobs/{job_id}/stream") as response:
        async for line in response.aiter_lines():
            if line.startswith("data: ") and '"type":"done"' in line:
                status = json.loads(line[6:])["status"]
    return status


def _lag(metrics: str) -> tuple[float, float, int]:
    """(longest stall s, share of probes later than 50 ms, probes) from the server's metrics."""
    worst, late, probes = 0.0, 0.0, 0
    for family in text_string_to_metric_families(metrics):
        for s in family.samples:
            if s.name == "orchestrator_event_loop_lag_max_seconds":
                worst = s.value
            elif s.name == "orchestrator_event_loop_lag_seconds_count":
                probes = int(s.value)
            elif s.name.endswith("lag_seconds_bucket") and s.labels["le"] == "0.05":
                late = s.value
    return worst, (probes - late) / probes if probes else 0.0, probes


async def load(
    url: str, jobs: int, description: str, deadline_s: float
) -> tuple[Counter[str], float, str]:
    limits = httpx.Limits(max_connections=jobs + 10)
    async with httpx.AsyncClient(base_url=url, timeout=None, limits=limits) as client:
        started = time.perf_counter()
        body = {"project_description": description, "budget_usd": 1.0, "concurrency": 3}
        created = [await client.post("/api/jobs", json=body) for _ in range(jobs)]
        ids = [answer.json()["job_id"] for answer in created]
        pending = [asyncio.create_task(_done(client, job_id)) for job_id in ids]
        # A job whose workflow died never sends `done`: count it instead of waiting forever.
        finished, stuck = await asyncio.wait(pending, timeout=deadline_s)
        for task in stuck:
            task.cancel()
        finals = [t.result() for t in finished] + ["unfinished"] * len(stuck)
        wall = time.perf_counter() - started
        metrics = (await client.get("/metrics")).text
    return Counter(finals), wall, metrics


def run(jobs: int, latency_scale: float, kind: str, poll_s: float, deadline_s: float) -> str:
    with tempfile.TemporaryDirectory(prefix="orch-bench-load-") as tmp:
        env = {
            "ORCH_SIM_LATENCY_SCALE": str(latency_scale),
            "ORCH_QUEUE_POLL_INTERVAL_S": str(poll_s),
        }
        with api_server(Path(tmp) / "data", **env) as (host, port):
            finals, wall, metrics = asyncio.run(
                load(f"http://{host}:{port}", jobs, KINDS[kind], deadline_s)
            )
    worst, late, probes = _lag(metrics)
    outcome = ", ".join(f"{status} {count}" for status, count in sorted(finals.items()))
    return print_table(
        f"{jobs} concurrent simulated jobs on one server (goal: all finish, stall ≤ 100 ms)",
        ["jobs", "kind", "poll s", "finished", "wall s", "longest stall ms", "probes > 50 ms late"],
        [
            [
                jobs,
                kind,
                poll_s,
                outcome,
                round(wall, 1),
                round(worst * 1000, 1),
                f"{late:.1%} of {probes}",
            ]
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--latency-scale", type=float, default=1.0)
    parser.add_argument("--kind", choices=sorted(KINDS), default="analysis")
    parser.add_argument(
        "--poll",
        type=float,
        default=Settings.model_fields["queue_poll_interval_s"].default,
        help="ORCH_QUEUE_POLL_INTERVAL_S of the server (default: the server's default)",
    )
    parser.add_argument("--deadline", type=float, default=1800, help="seconds to wait for all")
    args = parser.parse_args()
    run(args.jobs, args.latency_scale, args.kind, args.poll, args.deadline)


if __name__ == "__main__":
    main()
