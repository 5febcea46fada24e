"""`python -m bench [scheduler|budget|overhead|fix_loop ...] [--quick]`: benchmarks as tables."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from datetime import UTC, datetime

from bench import budget, fix_loop, overhead, scheduler
from bench.common import quiet_logs

NAMES = ("scheduler", "budget", "overhead", "fix_loop")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores, {cpu}, {system}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)} (default: all)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: small sizes, well under a minute"
    )
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    names = args.names or list(NAMES)
    quiet_logs()
    print(f"# Benchmarks{' (quick)' if args.quick else ''}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {_machine()}")
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average before the run (1 / 5 / 15 min): {load}", flush=True)
    for name in names:
        started = time.perf_counter()
        if name == "scheduler":
            asyncio.run(scheduler.main(args.quick))
        elif name == "budget":
            budget.main(args.quick)
        elif name == "fix_loop":
            asyncio.run(fix_loop.main(args.quick))
        else:
            asyncio.run(overhead.main(args.quick))
        print(f"\n({name}: {time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
