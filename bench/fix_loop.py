"""The fix loop on simulated jobs with injected bugs: does the final tree pass its tests?

`python -m bench fix_loop [--quick]`. N simulated code projects (hello world, a REST handler,
CSV parsing, maths, word counts, a CSV-to-JSON CLI, an ISO-8601 duration library: seven
kinds, varied wording) run on the offline simulator
with its `bug` fault at 1.0: every project's code is first written with a bug its own tests
catch. Each job runs to its end (acceptance on the assembled tree, then at most
`fix_rounds` fix rounds). From each job's log: whether the tree's tests passed at the first
acceptance (before the fix loop) and at the last (after it); from its recorded calls, what
the fix rounds (`fix_N` calls) cost as a share of the job's spend.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from bench.common import all_events, fresh_runtime, print_table
from orchestrator.config import FaultRates
from orchestrator.domain import JobSpec, ProjectStatus
from orchestrator.events import LogEvent

_KINDS = (
    "Write a hello world Python script{x}, with tests",
    "Write a small REST API endpoint handler in Python{x}, with tests",
    "Write a Python script that parses CSV records{x}, with tests",
    "Write a Python program for prime numbers and fibonacci{x}, with tests",
    "Write a Python tool that counts the words of a text{x}, with tests",
    "Write a Python CLI that converts CSV to JSON{x}, with tests",
    "Build a small Python library that parses ISO-8601 durations{x}, with tests and a README",
)
_VARIANTS = ("", " for a workshop", " for a demo", " for a class", " for a team", " for me")


def descriptions(n: int) -> list[str]:
    out = []
    for i in range(n):
        kind = _KINDS[i % len(_KINDS)]
        variant = _VARIANTS[(i // len(_KINDS)) % len(_VARIANTS)]
        out.append(kind.format(x=f"{variant} (#{i + 1})"))
    return out


@dataclass
class Outcome:
    status: ProjectStatus | None
    tested: bool  # the tree had tests: acceptance ran
    before: bool  # its tests passed at the first acceptance
    after: bool  # ... and at the last
    rounds: int
    share: float  # the fix rounds' cost ÷ the job's spend


async def run(n: int, rounds: int, concurrency: int) -> tuple[list[Outcome], float]:
    async with fresh_runtime(
        sim_latency_scale=0, sim_faults=FaultRates(bug=1.0), fix_rounds=rounds
    ) as rt:
        started = time.perf_counter()
        pending = descriptions(n)
        results: list[Outcome] = []
        gate = asyncio.Semaphore(concurrency)

        async def job(description: str) -> None:
            async with gate:
                spec = JobSpec(project_description=description, budget_usd=1.0, concurrency=2)
                job_id = await rt.submit(spec)
                status = await rt.wait(job_id)
                lines = [
                    e.event.msg
                    for e in await all_events(rt.store, job_id)
                    if isinstance(e.event, LogEvent)
                ]
                calls = await rt.store.list_calls(job_id=job_id)
                spent = float((await rt.store.job_budget(job_id)).spent_usd)
                fix = sum(c.cost_usd for c in calls if c.task_id.startswith("fix_"))
                verdicts = [
                    m
                    for m in lines
                    if m.startswith("acceptance: ") or (m.startswith("fix round") and " → " in m)
                ]
                results.append(
                    Outcome(
                        status=status,
                        tested=bool(verdicts),
                        before=bool(verdicts) and "tests pass" in verdicts[0],
                        after=bool(verdicts) and "tests pass" in verdicts[-1],
                        rounds=max(len(verdicts) - 1, 0),
                        share=fix / spent if spent else 0.0,
                    )
                )

        await asyncio.gather(*(job(d) for d in pending))
        return results, time.perf_counter() - started


def _spread(shares: list[float]) -> str:
    if not shares:
        return "-"
    return f"{100 * statistics.median(shares):.1f} %, {100 * max(shares):.1f} %"


def _pct(part: int, whole: int) -> str:
    return f"{part} / {whole} ({100 * part / whole:.0f} %)" if whole else "-"


async def main(quick: bool = False) -> list[str]:
    n, concurrency = (7, 7) if quick else (50, 6)
    results, seconds = await run(n, rounds=2, concurrency=concurrency)
    tested = [r for r in results if r.tested]
    shares = [r.share for r in tested]
    rounds = [r.rounds for r in tested]
    success = sum(r.status is ProjectStatus.SUCCESS for r in results)
    nt = len(tested)
    rows = [
        ("jobs (with tests on their tree)", f"{len(results)} ({nt})"),
        ("tree passes its tests before the fix loop", _pct(sum(r.before for r in tested), nt)),
        ("tree passes its tests after the fix loop", _pct(sum(r.after for r in tested), nt)),
        ("final status SUCCESS", _pct(success, len(results))),
        (
            "fix rounds run (mean, max)",
            f"{statistics.mean(rounds or [0]):.2f}, {max(rounds or [0])}",
        ),
        ("fix loop cost ÷ job spend (mean)", f"{100 * statistics.mean(shares or [0]):.1f} %"),
        ("fix loop cost ÷ job spend (median, max)", _spread(shares)),
        ("wall time", f"{seconds:.0f} s ({concurrency} jobs at once)"),
    ]
    title = f"Fix loop: {n} simulated jobs with injected bugs"
    return [print_table(title, ("measure", "value"), rows)]


if __name__ == "__main__":
    import sys

    asyncio.run(main("--quick" in sys.argv))
