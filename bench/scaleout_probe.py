"""What bench/scaleout.py runs and reads: a scratch PostgreSQL database, worker processes,
and CPU seconds from /proc (the workers', PostgreSQL backends', the whole machine's)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

import orchestrator
from bench.api_server import KEYS, ORCHESTRATOR

__all__ = ["Sampler", "Usage", "Workers", "cpu_of", "loop_sched_s", "scratch_database"]

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
TICK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 180


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new PostgreSQL database (psycopg URL), dropped on exit."""
    name = f"orch_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def cpu_s(pid: int) -> float | None:
    """CPU seconds of a process and of its children it has waited for; None once gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), 11-14 after the name.
    return sum(int(v) for v in fields[11:15]) / TICK


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_s(pid) or 0.0 for pid in pids)


def loop_sched_s(pid: int) -> tuple[float, float]:
    """(seconds on a core, seconds runnable but waiting for one) of the process's main
    thread, its event loop: together, how long it wanted a core (schedstat, proc(5))."""
    with open(f"/proc/{pid}/task/{pid}/schedstat", encoding="ascii") as f:
        on_cpu_ns, waiting_ns, _slices = (int(v) for v in f.read().split())
    return on_cpu_ns / 1e9, waiting_ns / 1e9


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot (every core)."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


class Workers:
    """`count` `orchestrator worker` processes on the database, ready on enter, SIGTERM on
    exit. The simulator at latency 0; a 1 s heartbeat, so jobs written to the store are put
    on the queue, and the fair share follows them, within a second.

    `own_sessions`: each worker in a session of its own, as separate services are. With
    Linux's autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled) the scheduler
    shares the cores fairly between sessions first: workers left in this process's session
    share one session's CPU, so on a machine busy with other sessions a second worker
    gets no more CPU than the first had alone."""

    def __init__(self, count: int, store_url: str, tmp: Path, *, own_sessions: bool) -> None:
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith("ORCH_") and not KEYS.match(k)
        }
        self._env = {
            **clean,
            # The workers run the code this process imported (a checkout on PYTHONPATH, else
            # the installed one), wherever their working directory is.
            "PYTHONPATH": str(Path(orchestrator.__file__).resolve().parent.parent),
            "ORCH_DATABASE_URL": store_url,
            "ORCH_SIM_LATENCY_SCALE": "0",
            "ORCH_WORKER_HEARTBEAT_S": "1",
        }
        self._count = count
        self._own_sessions = own_sessions
        self._tmp = tmp
        self._procs: list[subprocess.Popen[str]] = []
        self.output: list[list[str]] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def __enter__(self) -> Workers:
        waiting = []
        for n in range(1, self._count + 1):
            data_dir = self._tmp / f"w{n}"
            data_dir.mkdir(parents=True)
            proc = subprocess.Popen(
                [ORCHESTRATOR, "worker", "--worker-id", f"w{n}"],
                env={**self._env, "ORCH_DATA_DIR": str(data_dir)},
                cwd=data_dir,  # no .env of the checkout
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=self._own_sessions,
            )
            self._procs.append(proc)
            lines: list[str] = []
            self.output.append(lines)
            ready = threading.Event()
            threading.Thread(target=_drain, args=(proc, lines, ready, f"w{n}"), daemon=True).start()
            waiting.append(ready)
        try:
            for n, ready in enumerate(waiting):
                if not ready.wait(START_TIMEOUT_S) or self._procs[n].poll() is not None:
                    raise RuntimeError(
                        f"worker w{n + 1} did not start:\n" + "".join(self.output[n])
                    )
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is not None:
            for n, lines in enumerate(self.output):
                print(f"--- worker w{n + 1}, last lines:\n" + "".join(lines[-40:]), flush=True)
        self._stop()

    def _stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def _drain(
    proc: subprocess.Popen[str], lines: list[str], ready: threading.Event, name: str
) -> None:
    """Collect the process's output (the pipe never fills up); set `ready` at its ready line."""
    pattern = re.compile(rf"worker {re.escape(name)} ready")
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if pattern.search(line):
            ready.set()
    ready.set()  # it ended: the waiter sees poll() is not None


@dataclass(frozen=True)
class Usage:
    pg_cpu_s: float  # backends connected to the run's database
    busy_cpu_s: float  # the whole machine
    own_cpu_s: float  # this process (the submitter, the sampler)
    load_start: float
    load_mean: float
    load_max: float
    pg_backends: int  # the most backends connected to the run's database at once
    pg_active: float  # backends of the run's database running a query, on average
    pg_lock_waits: Counter[str]  # ... waiting on a lock, on average, by kind of lock
    waiting_queries: Counter[str]  # samples of a backend waiting on a lock, by lock and query


class Sampler:
    """Once a second while entered: the 1-minute load average, and the CPU and state of every
    PostgreSQL backend of the run's database (CPU: a backend seen at the first sample counts
    from there; one that connects later, from its start; state: running a query, or waiting
    on a lock, e.g. a row another transaction holds)."""

    def __init__(self, dsn: str, every_s: float = 1.0) -> None:
        self._dsn = dsn
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._loads: list[float] = []
        self._samples = self._active = self._most = 0
        self._locks: Counter[str] = Counter()  # backends seen waiting on a lock, by kind
        self._waiting: Counter[str] = Counter()  # ... by kind and query
        self._busy = self._own = 0.0
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def __enter__(self) -> Sampler:
        self._conn = psycopg.connect(self._dsn, autocommit=True)
        self._busy, self._own = machine_busy_s(), _own_cpu_s()
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._busy, self._own = machine_busy_s() - self._busy, _own_cpu_s() - self._own
        if self._conn is not None:
            self._conn.close()

    def usage(self) -> Usage:
        pg = sum(self._last[pid] - self._first.get(pid, 0.0) for pid in self._last)
        return Usage(
            pg_cpu_s=pg,
            busy_cpu_s=self._busy,
            own_cpu_s=self._own,
            load_start=self._loads[0],
            load_mean=sum(self._loads) / len(self._loads),
            load_max=max(self._loads),
            pg_backends=self._most,
            pg_active=self._active / self._samples,
            pg_lock_waits=Counter({k: n / self._samples for k, n in self._locks.items()}),
            waiting_queries=self._waiting,
        )

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._sample()

    def _sample(self, *, first: bool = False) -> None:
        self._loads.append(os.getloadavg()[0])
        assert self._conn is not None
        rows = self._conn.execute(
            "select pid, state, wait_event_type, wait_event, left(query, 100) "
            "from pg_stat_activity "
            "where datname = current_database() and pid <> pg_backend_pid()"
        ).fetchall()
        self._samples += 1
        self._most = max(self._most, len(rows))
        for pid, state, wait_type, wait, query in rows:
            if state == "active" and wait_type is None:
                self._active += 1
            elif wait_type == "Lock":
                self._locks[str(wait)] += 1
                self._waiting[f"{wait}: {' '.join(str(query).split())}"] += 1
            used = cpu_s(pid)
            if used is None:
                continue
            if first:
                self._first[pid] = used
            self._last[pid] = used


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system
