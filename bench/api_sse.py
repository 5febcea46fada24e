"""SSE fan-out: N subscribers follow one job through the real server; how late do events arrive?

Delay = when a subscriber parsed an event − the event's `ts` (set when it was emitted, just
before it is stored), so it also counts the store write: an upper bound of stored → received.
Subscribers are raw HTTP/1.1 connections in one client process (cheap to parse), sharing the
machine with the server; all are attached before the measured job starts (see `fan_out`).
`python -m bench.api_sse [--subscribers 200] [--latency-scale 0.2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench.api_server import api_server, percentile
from bench.common import print_table

JOB = {
    "project_description": "Weigh the options for heating a small house",
    "budget_usd": 1.0,
    "concurrency": 3,
}


async def _request(host: str, port: int, method: str, path: str, body: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer.split(b"\r\n\r\n", 1)[1]


async def subscriber(
    host: str,
    port: int,
    job_id: str,
    *,
    attached: asyncio.Queue[float],
    since: list[float],
    delays: list[float],
) -> int:
    """Follow the stream until `done`; report when the first (replayed) event arrived, and
    append the delay of each event emitted after `since[0]`. Returns the events seen."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /api/jobs/{job_id}/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    seen = 0
    # Each event arrives as one chunk of the chunked body; only `data:` lines matter here.
    while line := await reader.readline():
        if not line.startswith(b"data: "):
            continue
        received = time.time()
        event = json.loads(line[6:])
        seen += 1
        if seen == 1:
            attached.put_nowait(received)
        if "ts" in event and since and event["ts"] >= since[0]:
            delays.append((received - event["ts"]) * 1000)
        if event["type"] == "done":
            break
    writer.close()
    return seen


async def fan_out(host: str, port: int, subscribers: int) -> tuple[list[float], int, float]:
    """Delays of live events to `subscribers` followers of one job; also the time it took
    all of them to connect and get the job's history (the connection storm).

    The server runs one job at a time (ORCH_WORKER_JOBS=1): the measured job waits in the
    queue behind a first one while every subscriber connects and gets its history; then the
    first job is cancelled, the measured one starts, and every event it emits is measured.
    """
    since: list[float] = []
    delays: list[float] = []
    body = json.dumps(JOB).encode()
    blocker = json.loads(await _request(host, port, "POST", "/api/jobs", body))["job_id"]
    job_id = json.loads(await _request(host, port, "POST", "/api/jobs", body))["job_id"]
    attached: asyncio.Queue[float] = asyncio.Queue()
    started = time.perf_counter()
    followers = [
        asyncio.create_task(
            subscriber(host, port, job_id, attached=attached, since=since, delays=delays)
        )
        for _ in range(subscribers)
    ]
    for _ in range(subscribers):
        await attached.get()
    storm = time.perf_counter() - started
    since.append(time.time())
    await _request(host, port, "POST", f"/api/jobs/{blocker}/cancel")
    seen = await asyncio.gather(*followers)
    assert len(set(seen)) == 1, f"subscribers saw different event counts: {set(seen)}"
    return delays, seen[0], storm


def run(subscribers: int, latency_scale: float) -> str:
    with tempfile.TemporaryDirectory(prefix="orch-bench-sse-") as tmp:
        env = {"ORCH_SIM_LATENCY_SCALE": str(latency_scale), "ORCH_WORKER_JOBS": "1"}
        with api_server(Path(tmp) / "data", **env) as (host, port):
            delays, events, storm = asyncio.run(fan_out(host, port, subscribers))
    live = [max(d, 0.0) for d in delays]
    rows = [
        [
            subscribers,
            events,
            len(delays),
            round(percentile(live, 50), 1),
            round(percentile(live, 99), 1),
            round(max(live), 1),
            round(storm * 1000),
        ]
    ]
    return print_table(
        f"SSE fan-out: {subscribers} subscribers on one job (goal: p99 ≤ 50 ms)",
        [
            "subscribers",
            "events/job",
            "deliveries",
            "p50 ms",
            "p99 ms",
            "max ms",
            "all connected with history, ms",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_sse", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--latency-scale", type=float, default=0.2)
    args = parser.parse_args()
    run(args.subscribers, args.latency_scale)


if __name__ == "__main__":
    main()
