"""The real API server in a subprocess (`orchestrator serve` under uvicorn), and an SSE reader.

A server is started on a free port (port 0, read back from uvicorn's start-up line) against a
data directory under tmp, with the simulator. `ApiServer.kill()` is a real `kill -9`.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ORCHESTRATOR = str(Path(sys.executable).with_name("orchestrator"))
STARTED = re.compile(r"Uvicorn running on (http://\S+)")
START_TIMEOUT_S = 120
# A project the simulator plans as analysis work (no generated code to run): quick jobs.
QUICK = "Weigh the options for heating a small house"
HELLO = {
    "project_description": "Write a hello world Python script",
    "success_criteria": "Script prints Hello World",
    "budget_usd": 0.5,
}


# Provider keys of the environment would make the server call real providers.
PROVIDER_KEYS = re.compile(
    r"^(ANTHROPIC|OPENAI|GEMINI|GOOGLE|DEEPSEEK|MOONSHOT|MOONSHOTAI|OPENROUTER)_API_KEY$"
)


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The simulator only: no ORCH_* or provider key from the environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ORCH_") and not PROVIDER_KEYS.match(k)
    }
    return {
        **clean,
        "ORCH_DATA_DIR": str(data_dir),
        "ORCH_SIM_LATENCY_SCALE": "0.02",
        "ORCH_QUEUE_POLL_INTERVAL_S": "0.02",
        **extra,
    }


@dataclass
class ApiServer:
    proc: subprocess.Popen[str]
    url: str
    data_dir: Path
    output: list[str] = field(default_factory=list)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=60, **kwargs)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "orchestrator.db", timeout=30)

    def stop(self) -> None:
        """SIGTERM: uvicorn shuts down gracefully (the lifespan stops the runtime)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def start_process(
    args: list[str], env: dict[str, str], cwd: Path, ready: re.Pattern[str]
) -> tuple[subprocess.Popen[str], list[str], re.Match[str]]:
    """Start a process and return once a line of its output matches `ready`; its output
    keeps being collected (the pipe never fills up) for its whole life."""
    proc = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            proc.kill()
            raise AssertionError(f"{args[1]} did not start:\n" + "".join(output)) from None
        if line is None:
            raise AssertionError(f"{args[1]} exited:\n" + "".join(output))
        found = ready.search(line)
        if found:
            return proc, output, found


def billed(log: Path) -> int:
    """Answers the simulator billed (ORCH_SIM_BILLING_LOG): the provider's bill."""
    return len(log.read_text().splitlines()) if log.exists() else 0


def recorded(server: ApiServer) -> int:
    """Attempts that returned: not those in flight, nor those a crash cut off."""
    query = "select count(*) from llm_calls where outcome not in ('in_flight', 'interrupted')"
    with server.db() as db:
        return int(db.execute(query).fetchone()[0])


def ok_count(server: ApiServer) -> int:
    with server.db() as db:
        return int(db.execute("select count(*) from llm_calls where outcome='ok'").fetchone()[0])


def kill_with_a_call_in_flight(
    proc: subprocess.Popen[str], in_flight: Callable[[], int], ready: Callable[[], bool]
) -> int:
    """`kill -9` the process once `ready()` holds and it has a call in flight (`in_flight()`:
    started at the provider, not recorded yet); the number in flight at the kill.

    The process is frozen (SIGSTOP) while it is looked at, so what is seen is what is killed:
    a look, then a kill, left time for the last call in flight to be recorded in between.
    """
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the process ended before it could be killed"
        proc.send_signal(signal.SIGSTOP)
        try:
            count = in_flight() if ready() else 0
        except sqlite3.OperationalError:
            count = 0  # its tables are not created yet
        if count > 0:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return count
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("never saw a call in flight")


def start_server(
    data_dir: Path,
    *,
    worker_id: str = "test-worker",
    host: str = "127.0.0.1",
    port: int = 0,
    **env: str,
) -> ApiServer:
    """Start `orchestrator serve` and return once uvicorn accepts connections (on a free
    port, or on `port`: a server restarted where its clients expect it)."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    proc, output, found = start_process(
        [ORCHESTRATOR, "serve", "--host", host, "--port", str(port), "--worker-id", worker_id],
        server_env(data_dir, **env),
        data_dir.parent,  # no .env of the checkout
        STARTED,
    )
    return ApiServer(proc=proc, url=found.group(1), data_dir=data_dir, output=output)


@dataclass
class Sse:
    """One received server-sent event."""

    id: int
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data["type"])


@dataclass
class SseStream:
    """What one subscriber received: events in order, and keep-alive comments."""

    events: list[Sse] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


async def sse(
    client: httpx.AsyncClient,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    into: SseStream | None = None,
) -> AsyncIterator[Sse]:
    """Yield the events of an SSE response as they arrive (a minimal, spec-following parser:
    `id:`/`data:` fields, comments, an event per blank line)."""
    into = into if into is not None else SseStream()
    async with client.stream("GET", path, headers=headers) as response:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"stream answered {response.status_code}: {response.text}")
        assert response.headers["content-type"].startswith("text/event-stream")
        event_id: str | None = None
        data: list[str] = []
        async for line in response.aiter_lines():
            if line.startswith(":"):
                into.comments.append(line[1:].strip())
                continue
            if line == "":
                if data:
                    assert event_id is not None, "every event carries an id"
                    event = Sse(id=int(event_id), data=json.loads("\n".join(data)))
                    into.events.append(event)
                    yield event
                event_id, data = None, []
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                event_id = value
            elif name == "data":
                data.append(value)
            else:  # events are unnamed: the seed's UI reads them with onmessage
                assert name == "retry", line


async def read_all(
    client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
) -> list[Sse]:
    """Every event until the server ends the stream."""
    return [event async for event in sse(client, path, headers=headers)]


async def wait_for_event(
    client: httpx.AsyncClient, job_id: str, kind: str, **fields: object
) -> Sse:
    """Follow the job's stream until an event of `kind` with these field values."""
    async for event in sse(client, f"/api/jobs/{job_id}/stream"):
        if event.type == kind and all(event.data.get(k) == v for k, v in fields.items()):
            return event
    raise AssertionError(f"the stream of {job_id} ended without a {kind} event {fields}")


def ok_calls(db: sqlite3.Connection, job_id: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "select task_id, iteration, role, slot, request_hash, cost_usd from llm_calls "
        "where job_id = ? and outcome = 'ok' order by id",
        (job_id,),
    ).fetchall()


async def create_jobs(server: ApiServer, count: int) -> list[str]:
    """`count` quick simulated jobs, created through the API."""
    async with server.client() as client:
        ids = []
        for i in range(count):
            body = {"project_description": f"{QUICK} #{i}", "budget_usd": 0.5}
            created = await client.post("/api/jobs", json=body)
            assert created.status_code == 201, created.text
            ids.append(created.json()["job_id"])
        return ids


async def follow_all(server: ApiServer, job_ids: list[str]) -> dict[str, list[Sse]]:
    """Every event of each job, streamed at once, until each stream ends."""
    async with server.client() as client:
        streams = await asyncio.gather(
            *(read_all(client, f"/api/jobs/{job_id}/stream") for job_id in job_ids)
        )
    return dict(zip(job_ids, streams, strict=True))
