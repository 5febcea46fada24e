"""Overhead benchmark: engine CPU per LLM call, simulator at zero latency, DBOS on SQLite.

Each run submits a few simulator jobs at once to a fresh runtime and waits for them; CPU per
call is the process CPU time (`time.process_time`, every thread) of that stretch divided by
the number of `llm_calls` rows the jobs recorded. The simulator's own work (writing plans,
code, critiques) is measured apart by a wrapping client and subtracted: it stands in for a
network call, not for the engine. Child processes (the code validators' sandboxes) are not
in `process_time`. SQL statements are counted per database with SQLAlchemy's public
`Engine` events; one extra run is profiled with cProfile (event-loop thread only).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.common import fresh_runtime, print_table
from orchestrator.config import DEFAULT_CATALOG, load_catalog
from orchestrator.domain import CallOutcome, CallRecord, JobSpec, Role
from orchestrator.providers import ClientSet, LLMRequest, LLMResponse, SimulatedClient
from orchestrator.store import Store

__all__ = ["main", "measure_run"]

GOAL_MS = 2.0
PROJECTS = (
    "Write a hello world Python script",
    "Write a short guide to brewing green tea for beginners",
    "Summarise the trade-offs of SQLite versus PostgreSQL for a small web service",
    "Write a Python function that parses ISO dates, with tests",
)


class TimedClient:
    """Wraps the simulator and adds up the event-loop CPU spent inside its answers.

    At latency scale 0 the simulator never suspends inside `complete`, so the thread CPU
    between entry and return is its own work.
    """

    def __init__(self, inner: SimulatedClient) -> None:
        self._inner = inner
        self.name = inner.name
        self.simulated = inner.simulated
        self.cpu_s = 0.0

    def serves(self, model: str) -> bool:
        return self._inner.serves(model)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        started = time.thread_time()
        try:
            return await self._inner.complete(request)
        finally:
            self.cpu_s += time.thread_time() - started


@dataclass(frozen=True)
class RunResult:
    calls: int
    jobs: int
    process_ms: float  # per call, every thread, simulator included
    loop_ms: float  # per call, event-loop thread, simulator excluded
    threads_ms: float  # per call, every other thread (DBOS executors, aiosqlite, pollers)
    sim_ms: float  # per call, the simulator itself
    statements: Counter[str]  # SQL statements by database


@contextmanager
def count_statements() -> Iterator[Counter[str]]:
    """Count SQL statements run by any SQLAlchemy engine, by database and kind
    (e.g. "store: INSERT events", "dbos: SELECT workflow_status")."""
    counts: Counter[str] = Counter()

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        database = str(conn.engine.url.database or conn.engine.url)
        counts[f"{'dbos' if 'dbos' in database else 'store'}: {_kind(statement)}"] += 1

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        yield counts
    finally:
        event.remove(Engine, "before_cursor_execute", seen)


def _kind(statement: str) -> str:
    """ "SELECT x.a FROM main.x WHERE ..." -> "SELECT x" (verb and first table)."""
    words = statement.replace("(", " ").split()
    verb = words[0].upper() if words else "?"
    marker = {"SELECT": "FROM", "INSERT": "INTO", "DELETE": "FROM"}.get(verb)
    upper = [w.upper() for w in words]
    if marker in upper:
        table = words[upper.index(marker) + 1]
    elif verb == "UPDATE" and len(words) > 1:
        table = words[1]
    else:
        table = ""
    return f"{verb} {table.split('.')[-1]}".strip()


def _per_db(statements: Counter[str], db: str) -> int:
    return sum(n for kind, n in statements.items() if kind.startswith(f"{db}:"))


async def measure_run(seed: int, jobs: int, profile: cProfile.Profile | None = None) -> RunResult:
    catalog = load_catalog(DEFAULT_CATALOG)
    client = TimedClient(SimulatedClient(catalog, seed=seed, latency_scale=0))
    async with fresh_runtime(ClientSet([client], catalog), sim_latency_scale=0) as rt:
        specs = [
            JobSpec(project_description=PROJECTS[(seed + k) % len(PROJECTS)], budget_usd=5)
            for k in range(jobs)
        ]
        with count_statements() as statements:
            if profile is not None:
                profile.enable()
            cpu0, loop0 = time.process_time(), time.thread_time()
            ids = [await rt.submit(spec) for spec in specs]
            await asyncio.gather(*(rt.wait(job_id) for job_id in ids))
            cpu, loop = time.process_time() - cpu0, time.thread_time() - loop0
            if profile is not None:
                profile.disable()
        calls = sum([len(await rt.store.list_calls(job_id=j)) for j in ids])
    per = 1000 / max(calls, 1)
    return RunResult(
        calls=calls,
        jobs=jobs,
        process_ms=cpu * per,
        loop_ms=(loop - client.cpu_s) * per,
        threads_ms=(cpu - loop) * per,
        sim_ms=client.cpu_s * per,
        statements=statements,
    )


async def store_unit_costs(rounds: int = 300) -> list[list[object]]:
    """CPU of single store operations on a fresh SQLite file (SQLAlchemy async + aiosqlite)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite:///{Path(tmp) / 'unit.db'}")
        try:
            await store.create_job(
                job_id="unit", spec=JobSpec(project_description="unit"), simulated=True, now=0.0
            )
            started = time.process_time()
            for n in range(rounds):
                await store.call_attempts(
                    job_id="unit", task_id="t", iteration=1, role=Role.GENERATE, slot=n
                )
            select_ms = (time.process_time() - started) / rounds * 1000
            started = time.process_time()
            for n in range(rounds):
                call = CallRecord(
                    job_id="unit", task_id="t", iteration=1, role=Role.GENERATE, attempt=n,
                    model="m", provider="p", request_hash="h", outcome=CallOutcome.OK,
                    created_at=0.0,
                )  # fmt: skip
                await store.record_call(call)
            insert_ms = (time.process_time() - started) / rounds * 1000
        finally:
            await store.close()
    return [
        ["one store SELECT (`call_attempts`)", f"{select_ms:.2f}"],
        ["one store INSERT in its own transaction (`record_call`)", f"{insert_ms:.2f}"],
    ]


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0]
    if "/orchestrator/" in filename:
        return "orchestrator/" + filename.split("/orchestrator/")[1].split("/")[0]
    if "/bench/" in filename:
        return "bench (the statement counter)"
    if filename.startswith("~"):
        return "builtins (C)"
    return "stdlib: " + filename.rsplit("/", 1)[-1]


def _profile_table(profile: cProfile.Profile, calls: int) -> str:
    own: Counter[str] = Counter()
    raw: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _, name), (_, _, tottime, _, _) in raw.items():
        if name != "<method 'poll' of 'select.epoll' objects>":  # the loop idling
            own[_package(filename)] += tottime
    per, total = 1000 / max(calls, 1), sum(own.values())
    return print_table(
        "Overhead profile: event-loop thread CPU by package (own time; cProfile inflates it)",
        ["package", "ms per call", "share"],
        [[pkg, f"{t * per:.2f}", f"{t / total * 100:.0f} %"] for pkg, t in own.most_common(12)],
    )


def _statement_table(results: list[RunResult]) -> str:
    statements: Counter[str] = sum((r.statements for r in results), Counter())
    calls = sum(r.calls for r in results)
    return print_table(
        "Overhead: SQL statements per LLM call, by database and kind (all runs)",
        ["statement", "per call"],
        [[kind, f"{n / calls:.2f}"] for kind, n in statements.most_common(14)],
    )


async def main(quick: bool = False) -> list[str]:
    # Quick: one job of a writing project (seed 101), so no code sandbox starts.
    runs, jobs = (1, 1) if quick else (7, 4)
    results = [await measure_run(seed=101 + k, jobs=jobs) for k in range(runs)]
    rows = [
        [
            k + 1,
            r.jobs,
            r.calls,
            r.process_ms,
            r.process_ms - r.sim_ms,
            r.loop_ms,
            r.threads_ms,
            r.sim_ms,
            f"{_per_db(r.statements, 'store') / r.calls:.1f} / "
            f"{_per_db(r.statements, 'dbos') / r.calls:.1f}",
        ]
        for k, r in enumerate(results)
    ]
    engine = median(r.process_ms - r.sim_ms for r in results)
    rows.append(
        [
            "median",
            "",
            "",
            median(r.process_ms for r in results),
            f"{engine:.3f} ({'meets' if engine <= GOAL_MS else 'misses'} ≤ {GOAL_MS:g} ms)",
            median(r.loop_ms for r in results),
            median(r.threads_ms for r in results),
            median(r.sim_ms for r in results),
            "",
        ]
    )
    tables = [
        print_table(
            "Overhead: CPU ms per LLM call (simulator at latency 0, DBOS + SQLite)",
            [
                "run",
                "jobs",
                "calls",
                "process",
                "engine (process − simulator)",
                "event loop (excl. simulator)",
                "other threads",
                "simulator",
                "SQL statements per call (store / DBOS)",
            ],
            rows,
        )
    ]
    tables.append(_statement_table(results))
    tables.append(
        print_table(
            "Overhead: unit costs (process CPU ms, every thread)",
            ["operation", "ms"],
            await store_unit_costs(),
        )
    )
    profile = cProfile.Profile()
    profiled = await measure_run(seed=99, jobs=jobs, profile=profile)
    tables.append(_profile_table(profile, profiled.calls))
    return tables


if __name__ == "__main__":
    asyncio.run(main())
