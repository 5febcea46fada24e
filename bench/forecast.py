"""Is the forecast honest? Simulated jobs through the real runtime, each planned, forecast,
approved and run; its actual cost set against the forecast's band.

Rounds run one after another, each on a fresh runtime (empty history) with its own simulator
seed and fault rates; within a round, jobs of varied descriptions and budgets run in small
concurrent batches, so later jobs are forecast from the calls of earlier ones ("warm"), the
first ones from priors ("cold"). The forecast covers the tasks (planning is paid before it is
made); the actual cost is the job's spend after approval minus what planning cost. Once enough
earlier jobs ran against forecasts made from a comparable history, the band comes from their
errors (engine/calibration.py): those jobs are also counted apart. Every job's plan is also
forecast from no history at all, beside its real forecast, so the priors are measured on
every job and not only on the few of each round that ran before any history.

    .venv/bin/python -m bench.forecast [--rounds N] [--jobs N] [--first R] [--save F]
    .venv/bin/python -m bench.forecast --load F [F ...]     # the tables of saved rounds

A long run can be split: rounds R.. in separate runs (`--first R --rounds 1 --save F`), their
samples reported together with `--load`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from random import Random

from bench import budget
from bench.common import fresh_runtime, print_table, quiet_logs
from orchestrator.config import DEFAULT_CATALOG, FaultRates, load_catalog
from orchestrator.domain import JobSpec, ProjectStatus
from orchestrator.engine.forecast import History
from orchestrator.providers import ClientSet, SimulatedClient
from orchestrator.runtime import Runtime

__all__ = ["Sample", "main"]

# The budget benchmark's projects, and a few with more tasks of other types.
PROJECTS = (
    *budget.PROJECTS,
    "Build a command-line todo app in Python with tests",
    "Review this module for bugs and suggest fixes: a CSV parser",
    "Design a REST API for a library's loans and write its OpenAPI outline",
)
BATCH = 4


@dataclass(frozen=True)
class Sample:
    warm: bool
    calibrated: bool  # the job's band came from past forecasts' errors
    low: float
    expected: float
    high: float
    actual: float
    status: ProjectStatus
    # The same plan forecast from no history (priors only), made beside the real one: every
    # job measures the priors, not only the few that ran before any history.
    cold_low: float = 0.0
    cold_expected: float = 0.0
    cold_high: float = 0.0

    def as_cold(self) -> Sample:
        return Sample(
            warm=False,
            calibrated=False,
            low=self.cold_low,
            expected=self.cold_expected,
            high=self.cold_high,
            actual=self.actual,
            status=self.status,
        )

    @property
    def inside(self) -> bool:
        return self.low <= self.actual <= self.high

    @property
    def error(self) -> float:
        """|expected − actual| relative to actual."""
        return abs(self.expected - self.actual) / self.actual if self.actual else 0.0


async def _one(rt: Runtime, spec: JobSpec) -> Sample | None:
    job_id = await rt.submit(spec)
    if await rt.wait(job_id) is not None:  # ended while planning (budget, fault): no forecast
        return None
    review = await rt.reviews.view(job_id)
    cold = (await rt.reviews.forecast(review.tasks, History())).total
    await rt.approve(job_id)
    status = await rt.wait(job_id)
    assert status is not None
    actual = float(await rt.store.job_spend(job_id)) - review.spent_usd
    total = review.forecast.total
    return Sample(
        warm=review.forecast.recorded_calls > 0,
        calibrated="past jobs' forecast errors" in review.forecast.basis,
        low=total.low,
        expected=total.expected,
        high=total.high,
        actual=actual,
        status=status,
        cold_low=cold.low,
        cold_expected=cold.expected,
        cold_high=cold.high,
    )


async def run_round(number: int, jobs: int) -> list[Sample]:
    rng = Random(f"forecast-round-{number}")
    catalog = load_catalog(DEFAULT_CATALOG)
    faults = FaultRates()
    if number % 2:  # every other round with injected faults
        faults = FaultRates(
            rate_limit=rng.uniform(0, 0.05),
            server_error=rng.uniform(0, 0.05),
            timeout=rng.uniform(0, 0.02),
            malformed=rng.uniform(0, 0.05),
        )
    simulator = SimulatedClient(
        catalog, seed=rng.randrange(10**9), latency_scale=0.0, faults=faults
    )
    samples: list[Sample] = []
    async with fresh_runtime(ClientSet([simulator], catalog), retry_backoff_s=0.01) as rt:
        specs = [
            JobSpec(
                project_description=rng.choice(PROJECTS),
                success_criteria="Complete and correct.",
                budget_usd=round(10 ** rng.uniform(-1.3, 0.7), 4),  # $0.05 .. $5
                concurrency=rng.randint(2, 6),
                review=True,
            )
            for _ in range(jobs)
        ]
        for start in range(0, jobs, BATCH):
            chunk = specs[start : start + BATCH]
            for sample in await asyncio.gather(*(_one(rt, spec) for spec in chunk)):
                if sample is not None:
                    samples.append(sample)
    return samples


def _percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f} %" if whole else "-"


def _rows(samples: list[Sample]) -> list[list[object]]:
    if not samples:
        return [["jobs", 0]]
    full = [s for s in samples if s.status is not ProjectStatus.BUDGET_EXHAUSTED]
    below = sum(s.actual < s.low for s in samples)
    above = sum(s.actual > s.high for s in samples)
    errors = statistics.median(s.error for s in samples)
    ratio = statistics.median(s.actual / s.expected for s in samples if s.expected)
    width = statistics.fmean((s.high - s.low) / s.expected for s in samples if s.expected)
    inside_all = _percent(sum(s.inside for s in samples), len(samples))
    inside_full = _percent(sum(s.inside for s in full), len(full))
    return [
        ["jobs (of which budget-exhausted)", f"{len(samples)} ({len(samples) - len(full)})"],
        ["actual inside [low, high], all jobs", inside_all],
        ["actual inside [low, high], jobs not cut by the budget", inside_full],
        ["below low / above high", f"{below} / {above}"],
        ["median abs(expected − actual) ÷ actual", f"{errors * 100:.1f} %"],
        ["median actual ÷ expected", f"{ratio:.2f}"],
        ["mean band width (high − low) ÷ expected", f"{width:.2f}"],
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.forecast",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=80, help="jobs per round")
    parser.add_argument("--first", type=int, default=0, help="number of the first round")
    parser.add_argument("--save", type=Path, help="append each job's sample to this file")
    parser.add_argument("--load", type=Path, nargs="+", help="report saved samples; run none")
    args = parser.parse_args()
    quiet_logs()
    samples: list[Sample] = []
    for path in args.load or ():
        for line in path.read_text().splitlines():
            data = json.loads(line)
            samples.append(Sample(**{**data, "status": ProjectStatus(data["status"])}))
    for number in range(args.first, args.first + args.rounds) if not args.load else ():
        found = asyncio.run(run_round(number, args.jobs))
        if args.save is not None:
            with args.save.open("a") as out:
                out.writelines(json.dumps(asdict(s)) + "\n" for s in found)
        samples += found
        print(f"round {number}: {len(samples)} jobs so far", flush=True)
    for label, chosen in (
        ("cold start (no history: priors)", [s for s in samples if not s.warm]),
        ("warm (history from earlier jobs of the round)", [s for s in samples if s.warm]),
        ("warm, band from past jobs' forecast errors", [s for s in samples if s.calibrated]),
        ("all jobs", samples),
        ("every job forecast from priors only (no history)", [s.as_cold() for s in samples]),
    ):
        print_table(f"Forecast calibration: {label}", ["measure", "value"], _rows(chosen))


if __name__ == "__main__":
    main()
