"""Scale-out on PostgreSQL: simulated jobs at latency 0 completed per minute by two
`orchestrator worker` processes ÷ one (the CPU-bound case: a second process should use the
second core).
`PYTHONPATH=. .venv/bin/python -m bench.scaleout [--jobs 24] [--reps 3] [--one-session]`.

Each run gets a scratch PostgreSQL database and fresh workers (the simulator, latency 0,
default queue settings but a 1 s heartbeat). Once every worker is ready, this process writes
the same N job rows as `Runtime.submit` would, without starting their runs: the workers'
look for runs never started (runtime/unstarted.py, every heartbeat) puts them on the shared
queue, so the only processes measured are the workers and PostgreSQL, not a submitter.
The clock runs from the first job written to the last job finished. Before the database is
dropped, every job that did not succeed is explained (its error, warnings and failed DBOS
workflows), with what the workers' output said of errors (bench/scaleout_failures.py).

CPU is read from /proc: the workers' (and their children's), the PostgreSQL backends
connected to the run's database (sampled every second, so a backend that exits between two
samples loses its last second), and the whole machine's, whose rest is the other engineers'
load, given beside the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from tempfile import TemporaryDirectory

import psycopg

from bench.common import print_table
from bench.scaleout_failures import error_lines, failure_report
from bench.scaleout_probe import Sampler, Workers, cpu_of, loop_sched_s, scratch_database
from orchestrator.domain import JobSpec, JobStatus
from orchestrator.events import JobEvent, LogEvent, StatusEvent
from orchestrator.runtime.service import new_job_id
from orchestrator.runtime.unstarted import START_GRACE_S
from orchestrator.store import Store

__all__ = ["main"]

# Analysis and writing projects: no generated code to test, so the work is the engine's
# (the sandboxes' pytest runs of code projects would be child processes' CPU).
PROJECTS = (
    "Write a short blog post about keeping houseplants alive in winter",
    "Compare three ways to back up a home server and recommend one",
    "Analyse the risks of migrating a small shop's website to a new host",
    "Summarise the arguments for and against a four-day work week",
    "Weigh the options for heating a small house",
)
GOAL = 1.8
IDLE_S = 5.0  # how long the workers' CPU is read before any job is written


def job_specs(count: int) -> list[JobSpec]:
    """The same jobs in every run: a numbered description seeds the simulator's answers."""
    return [
        JobSpec(
            project_description=f"{PROJECTS[i % len(PROJECTS)]} (#{i})",
            success_criteria="Complete and correct.",
            budget_usd=1.0,
        )
        for i in range(count)
    ]


@dataclass(frozen=True)
class Run:
    workers: int
    jobs: int
    finals: Counter[str]
    wall_s: float
    by_worker: list[int]  # jobs each worker ran, most first
    calls: int  # llm_calls rows
    worker_cpu_s: float
    pg_cpu_s: float
    others_cpu_s: float  # the machine's busy CPU that was neither ours nor PostgreSQL's
    loop_on_cpu_s: float  # the workers' event-loop threads, summed: on a core
    loop_waiting_s: float  # ... runnable, waiting for a core
    idle_core: float  # share of a core one worker uses with no job (queue polls, heartbeats)
    pg_backends: int  # the most backends connected to the run's database at once
    pg_active: float  # the run's PostgreSQL backends running a query, on average
    pg_lock_waits: Counter[str]  # ... waiting on a lock, on average, by kind
    waiting_queries: Counter[str]  # samples of a backend waiting on a lock, by lock and query
    load_start: float
    load_mean: float
    load_max: float

    @property
    def busy_cpu_s(self) -> float:
        """The workers' CPU minus what they would have used idle for as long."""
        return self.worker_cpu_s - self.idle_core * self.workers * self.wall_s

    @property
    def per_min(self) -> float:
        return self.jobs / self.wall_s * 60


async def submit(store_url: str, specs: list[JobSpec]) -> None:
    """The jobs' rows and their first events, as `Runtime.submit` writes them, dated as if
    written `START_GRACE_S` ago: a worker leaves a run recorded more recently to the process
    that recorded it (runtime/unstarted.py), and the run's clock would count that wait."""
    store = await Store.open(store_url)
    try:
        for spec in specs:
            job_id, now = new_job_id(), time.time() - START_GRACE_S - 1

            def announce(job_id: str = job_id, now: float = now) -> list[JobEvent]:
                return [
                    StatusEvent(status=JobStatus.PENDING, ts=now),
                    LogEvent(level="INFO", msg="job created", ts=now),
                ]

            await store.create_job(
                job_id=job_id, spec=spec, simulated=True, now=now, announce=announce
            )
    finally:
        await store.close()


def wait_finished(dsn: str, jobs: int, deadline_s: float) -> None:
    """Poll on one connection: PostgreSQL's connection slots are shared with the workers and
    with other engineers' tests, and a new connection per look can find none left."""
    deadline = time.monotonic() + deadline_s
    query = "select count(*) from jobs where final_status is not null"
    with psycopg.connect(dsn, autocommit=True) as conn:
        while (row := conn.execute(query).fetchone()) is None or row[0] < jobs:
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still unfinished after {deadline_s:.0f} s")
            time.sleep(0.25)


def outcome(dsn: str) -> tuple[Counter[str], list[int], int]:
    with psycopg.connect(dsn) as conn:
        finals = conn.execute("select final_status, count(*) from jobs group by 1").fetchall()
        # Job workflows only: a task's workflow id is its job's, a colon and the task's.
        runners = conn.execute(
            "select executor_id, count(*) from dbos.workflow_status "
            "where workflow_uuid not like '%:%' group by 1 order by 2 desc"
        ).fetchall()
        row = conn.execute("select count(*) from llm_calls").fetchone()
    return (
        Counter({str(s): int(n) for s, n in finals}),
        [n for _, n in runners],
        row[0] if row else 0,
    )


def run_once(
    workers: int, specs: list[JobSpec], tmp: Path, deadline_s: float, *, own_sessions: bool
) -> Run:
    with scratch_database() as dsn:
        store_url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        procs = Workers(workers, store_url, tmp, own_sessions=own_sessions)
        try:
            with procs:
                idle = cpu_of(procs.pids)
                time.sleep(IDLE_S)
                idle = (cpu_of(procs.pids) - idle) / IDLE_S / workers
                sampler = Sampler(dsn)
                with sampler:
                    before, sched_before = cpu_of(procs.pids), _sched(procs.pids)
                    started = time.perf_counter()
                    asyncio.run(submit(store_url, specs))
                    wait_finished(dsn, len(specs), deadline_s)
                    wall = time.perf_counter() - started
                    worker_cpu = cpu_of(procs.pids) - before
                    on_cpu, waiting = (
                        b - a for a, b in zip(sched_before, _sched(procs.pids), strict=True)
                    )
        finally:
            # Before the database is dropped (a run that timed out too): why any job did
            # not succeed, and what the workers said of errors.
            explain(dsn, procs.output)
        finals, by_worker, calls = outcome(dsn)
    usage = sampler.usage()
    return Run(
        workers=workers,
        jobs=len(specs),
        finals=finals,
        wall_s=wall,
        by_worker=by_worker,
        calls=calls,
        worker_cpu_s=worker_cpu,
        pg_cpu_s=usage.pg_cpu_s,
        others_cpu_s=max(0.0, usage.busy_cpu_s - worker_cpu - usage.pg_cpu_s - usage.own_cpu_s),
        loop_on_cpu_s=on_cpu,
        loop_waiting_s=waiting,
        idle_core=idle,
        pg_backends=usage.pg_backends,
        pg_active=usage.pg_active,
        pg_lock_waits=usage.pg_lock_waits,
        waiting_queries=usage.waiting_queries,
        load_start=usage.load_start,
        load_mean=usage.load_mean,
        load_max=usage.load_max,
    )


def explain(dsn: str, outputs: list[list[str]]) -> None:
    try:
        for line in failure_report(dsn):
            print(line, flush=True)
    except psycopg.Error as e:  # no tables yet (no worker started), or no connection left
        print(f"the jobs' failures could not be read: {e}", flush=True)
    for n, lines in enumerate(outputs, start=1):
        said = error_lines(lines)
        if said:
            print(f"--- worker w{n}, its lines on errors:\n" + "\n".join(said), flush=True)


def _sched(pids: list[int]) -> tuple[float, float]:
    pairs = [loop_sched_s(pid) for pid in pids]
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def _row(rep: int, r: Run) -> list[str]:
    per_job = r.worker_cpu_s / r.jobs
    per_call = f"{r.worker_cpu_s / r.calls * 1000:.0f}" if r.calls else "-"
    return [
        str(rep),
        str(r.workers),
        ", ".join(f"{s} {n}" for s, n in sorted(r.finals.items())),
        "/".join(str(n) for n in r.by_worker),
        f"{r.wall_s:.1f}",
        f"{r.per_min:.1f}",
        f"{per_job:.2f} ({per_call})",
        f"{r.pg_cpu_s / r.jobs:.2f}",
        f"{r.worker_cpu_s / r.wall_s:.2f} / {r.pg_cpu_s / r.wall_s:.2f} / "
        f"{r.others_cpu_s / r.wall_s:.2f}",
        f"{r.loop_on_cpu_s / r.wall_s / r.workers:.0%} + "
        f"{r.loop_waiting_s / r.wall_s / r.workers:.0%}",
        f"{r.idle_core:.1%}",
        f"{r.pg_backends} / {r.pg_active:.2f} / {sum(r.pg_lock_waits.values()):.2f}"
        + "".join(f", {k} {n:.2f}" for k, n in r.pg_lock_waits.most_common(2)),
        f"{r.load_start:.1f} / {r.load_mean:.1f} / {r.load_max:.1f}",
    ]


RUN_HEADER = [
    "rep",
    "workers",
    "final status",
    "jobs per worker",
    "wall s",
    "jobs/min",
    "worker CPU s/job (ms/call)",
    "PG CPU s/job",
    "cores used: workers / PG / others",
    "event loop on a core + waiting for one",
    "idle worker's CPU",
    "PG backends: most connected / running a query / waiting on a lock (mean)",
    "load 1-min start / mean / max",
]


def report(runs: list[tuple[int, Run]]) -> None:
    print_table("Each run (the same jobs in every run)", RUN_HEADER, [_row(i, r) for i, r in runs])
    for workers in (1, 2):
        waits: Counter[str] = sum(
            (r.waiting_queries for _, r in runs if r.workers == workers), Counter()
        )
        print_table(
            f"Queries seen waiting on a lock, {workers} worker(s), all runs (1 sample/s)",
            ["samples", "lock: query"],
            [[str(n), q] for q, n in waits.most_common(8)],
        )
    one = {rep: r for rep, r in runs if r.workers == 1}
    two = {rep: r for rep, r in runs if r.workers == 2}
    pairs = [(one[rep], two[rep]) for rep in sorted(one.keys() & two.keys())]
    if not pairs:
        return
    ratios = [b.per_min / a.per_min for a, b in pairs]
    rows = []
    for label, group in (("1", [a for a, _ in pairs]), ("2", [b for _, b in pairs])):
        rows.append(
            [
                label,
                str(len(group)),
                f"{median(r.per_min for r in group):.1f}",
                f"{median(r.worker_cpu_s / r.jobs for r in group):.2f}",
                f"{median(r.pg_cpu_s / r.jobs for r in group):.2f}",
                f"{median(r.others_cpu_s / r.wall_s for r in group):.2f}",
                f"{median(r.load_mean for r in group):.1f}",
            ]
        )
    print_table(
        "Median per configuration",
        [
            "workers",
            "runs",
            "jobs/min",
            "worker CPU s/job",
            "PG CPU s/job",
            "others' cores used",
            "load 1-min (mean over the run)",
        ],
        rows,
    )
    # The jobs' own CPU: what the workers used minus what they use idle (queue polls,
    # heartbeats), which grows with the wall time, long on a loaded machine.
    worker_1 = median(a.busy_cpu_s / a.jobs for a, _ in pairs)
    worker_2 = median(b.busy_cpu_s / b.jobs for _, b in pairs)
    pg_2 = median(b.pg_cpu_s / b.jobs for _, b in pairs)
    shown = ", ".join(f"{x:.2f}" for x in ratios)
    print(
        f"\n2 workers ÷ 1, jobs per minute, per repetition: {shown}; median "
        f"{median(ratios):.2f}× (goal ≥ {GOAL}×)\n"
        f"The jobs' own worker CPU (idle polling taken out): {worker_1:.2f} s/job with one "
        f"worker, {worker_2:.2f} with two; PostgreSQL {pg_2:.2f} s/job with two. On an idle "
        f"2-core machine one worker does at most one core's worth ({60 / worker_1:.1f} "
        f"jobs/min), two workers and PostgreSQL share the two cores "
        f"({120 / (worker_2 + pg_2):.1f} jobs/min): at most "
        f"{2 * worker_1 / (worker_2 + pg_2):.2f}×",
        flush=True,
    )


def autogroup() -> bool:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__)
    parser.add_argument("--jobs", type=int, default=24, help="jobs per run")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each configuration")
    parser.add_argument("--deadline", type=float, default=900, help="seconds to wait per run")
    parser.add_argument(
        "--one-session",
        action="store_true",
        help="start the workers in this process's session (one CPU share under Linux "
        "autogroup scheduling) instead of one session each",
    )
    args = parser.parse_args()
    print(
        f"{args.jobs} jobs per run, {args.reps} repetitions; workers in "
        f"{'one session' if args.one_session else 'a session each'}; "
        f"autogroup scheduling {'on' if autogroup() else 'off'}",
        flush=True,
    )
    specs = job_specs(args.jobs)
    runs: list[tuple[int, Run]] = []
    with TemporaryDirectory(prefix="orch-bench-scaleout-") as tmp:
        for rep in range(1, args.reps + 1):
            # Alternate which goes first, so a load that drifts falls on both alike.
            for workers in (1, 2) if rep % 2 else (2, 1):
                run = run_once(
                    workers,
                    specs,
                    Path(tmp) / f"r{rep}w{workers}",
                    args.deadline,
                    own_sessions=not args.one_session,
                )
                print(" | ".join(_row(rep, run)), flush=True)
                runs.append((rep, run))
    report(runs)


if __name__ == "__main__":
    main()
