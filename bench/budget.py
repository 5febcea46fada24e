"""Budget benchmark: randomized simulator jobs through the real runtime; does spend ever pass
the budget?

Each round builds a catalog of made-up models with random prices, output caps, qualities and
routing, written as a YAML file for `Settings(catalog_path=...)`; their providers are
unknown to genai-prices, so `Pricing` uses the catalog's explicit prices (checked before
the round starts). A round also draws the simulator's seed, latency scale and fault rates,
then runs its jobs (random budget from very tight to generous, concurrency 3-8, random
project) in concurrent batches on one runtime. Spend is `Store.job_spend` (exact Decimal).
Rounds run in worker processes (DBOS allows one runtime per process), two at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from random import Random

import yaml

from bench import budget_why
from bench.common import fresh_runtime, print_table, quiet_logs
from orchestrator.config import DEFAULT_CATALOG, Catalog, FaultRates, load_catalog
from orchestrator.domain import JobSpec, ProjectStatus
from orchestrator.providers import ClientSet, Pricing, SimulatedClient

__all__ = ["JobOutcome", "main", "random_catalog", "run_round"]

NINETY = Decimal("0.9")
PROVIDERS = ("alpha", "beta", "gamma", "delta")  # unknown to genai-prices on purpose
PROJECTS = (
    "Write a Python script that prints the first 20 prime numbers",
    "Write a short blog post about keeping houseplants alive in winter",
    "Extract the product names and prices from a CSV of orders into JSON",
    "Compare three ways to back up a home server and recommend one",
    "Write a poem about the sea at night",
    "Analyse the risks of migrating a small shop's website to a new host",
    "Summarise the arguments for and against a four-day work week",
)


@dataclass(frozen=True)
class JobOutcome:
    round: int
    budget: Decimal
    spend: Decimal
    concurrency: int
    status: ProjectStatus
    calls: int
    output_tokens: int  # what the calls wrote
    output_cap: int  # the max_tokens their reservations assumed (the model's cap)
    # With --why: the calls that came back BUDGET_EXHAUSTED, and tasks left pending.
    blocked: tuple[budget_why.Blocked, ...] = ()
    pending: int = 0


def random_catalog(rng: Random) -> Catalog:
    """Made-up models (random price, output cap, quality) and random routing lists."""
    base = load_catalog(DEFAULT_CATALOG)
    models = {}
    for i in range(rng.randint(5, 9)):
        price_in = 10 ** rng.uniform(-1.3, 1.3)  # $0.05 .. $20 per million input tokens
        models[f"bench-{i}"] = {
            "provider": PROVIDERS[i % len(PROVIDERS)],
            "quality": round(rng.uniform(0.80, 0.97), 3),
            "max_output_tokens": rng.choice([512, 1024, 2048, 4096, 8192]),
            "price": {
                "input_per_mtok": round(price_in, 4),
                "output_per_mtok": round(price_in * rng.uniform(1.5, 8), 4),
            },
        }
    names = list(models)

    def some() -> list[str]:
        return rng.sample(names, rng.randint(3, len(names)))

    return Catalog.model_validate(
        {
            "models": models,
            "task_types": {
                t.value: {
                    "threshold": p.threshold,
                    "max_iterations": p.max_iterations,
                    "models": some(),
                }
                for t, p in base.task_types.items()
            },
            "roles": {role: some() for role in ("decompose", "critique", "evaluate")},
        }
    )


def check_catalog_prices(catalog: Catalog) -> None:
    """Fail loudly if genai-prices, not the catalog, would price a model."""
    pricing = Pricing(catalog)
    for name, info in catalog.models.items():
        assert info.price is not None
        if pricing.per_mtok(name) != info.price:
            raise AssertionError(f"{name}: genai-prices overrides the catalog price")


def genai_prices_overrides_catalog() -> bool:
    """Whether a catalog `price` on a model genai-prices knows (gpt-4o) is ignored."""
    base = load_catalog(DEFAULT_CATALOG)
    data = base.model_dump(mode="json")
    data["models"]["gpt-4o"]["price"] = {"input_per_mtok": 123.0, "output_per_mtok": 456.0}
    catalog = Catalog.model_validate(data)
    return Pricing(catalog).per_mtok("gpt-4o").input_per_mtok != 123.0


async def _run_round(number: int, jobs: int, batch: int, why: bool) -> list[JobOutcome]:
    if why:
        budget_why.install()
    rng = Random(f"budget-round-{number}")
    catalog = random_catalog(rng)
    check_catalog_prices(catalog)
    faults = FaultRates()
    if rng.random() < 0.6:
        faults = FaultRates(
            rate_limit=rng.uniform(0, 0.05),
            server_error=rng.uniform(0, 0.05),
            timeout=rng.uniform(0, 0.02),
            malformed=rng.uniform(0, 0.05),
        )
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.yaml"
        path.write_text(yaml.safe_dump(catalog.model_dump(mode="json", exclude_none=True)))
        # The simulator only, whatever API keys the environment holds: no real spending.
        simulator = SimulatedClient(
            catalog,
            seed=rng.randrange(10**9),
            latency_scale=rng.choice([0.0, 0.0, 0.005, 0.02]),
            faults=faults,
        )
        clients = ClientSet([simulator], catalog)
        async with fresh_runtime(clients, catalog_path=path, retry_backoff_s=0.02) as rt:
            specs = [
                JobSpec(
                    project_description=rng.choice(PROJECTS),
                    success_criteria="Complete and correct.",
                    # From far below one call's worst case to several whole jobs.
                    budget_usd=round(10 ** rng.uniform(-3.3, 0.7), 6),
                    concurrency=rng.randint(3, 8),
                    time_limit_s=600,
                )
                for _ in range(jobs)
            ]
            for start in range(0, jobs, batch):
                chunk = specs[start : start + batch]
                ids = [await rt.submit(spec) for spec in chunk]
                statuses = await asyncio.gather(*(rt.wait(job_id) for job_id in ids))
                for spec, job_id, status in zip(chunk, ids, statuses, strict=True):
                    assert status is not None  # no review stop: jobs run unreviewed
                    calls = await rt.store.list_calls(job_id=job_id)
                    tasks = await rt.store.list_tasks(job_id)
                    outcomes.append(
                        JobOutcome(
                            round=number,
                            budget=Decimal(str(spec.budget_usd)),
                            spend=await rt.store.job_spend(job_id),
                            concurrency=spec.concurrency,
                            status=status,
                            calls=len(calls),
                            output_tokens=sum(c.output_tokens for c in calls),
                            output_cap=sum(catalog.model(c.model).max_output_tokens for c in calls),
                            blocked=tuple(budget_why.blocked_calls(job_id)),
                            pending=sum(not t.status.is_terminal() for t in tasks),
                        )
                    )
    return outcomes


def run_round(number: int, jobs: int, batch: int, why: bool = False) -> list[JobOutcome]:
    """One round in this process (the entry point of a worker process)."""
    quiet_logs()
    return asyncio.run(_run_round(number, jobs, batch, why))


def _percent(part: float, whole: float) -> str:
    return f"{part / whole * 100:.1f} %" if whole else "-"


def _table(outcomes: list[JobOutcome], overrides: bool) -> str:
    over = max(o.spend - o.budget for o in outcomes)
    exhausted = [o for o in outcomes if o.status is ProjectStatus.BUDGET_EXHAUSTED]
    spent = [o for o in exhausted if o.spend > 0]
    statuses = {s: sum(o.status is s for o in outcomes) for s in ProjectStatus}
    budgets = [o.budget for o in outcomes]
    written = sum(o.output_tokens for o in outcomes)
    rows: list[list[object]] = [
        ["jobs (rounds: each a random catalog, seed, latency, faults)",
         f"{len(outcomes)} ({len({o.round for o in outcomes})})"],
        ["LLM calls recorded", sum(o.calls for o in outcomes)],
        ["budgets (USD, log-uniform)", f"{min(budgets)} .. {max(budgets)}"],
        ["**max overshoot** max(spend − budget), exact USD",
         f"{over} ({'none' if over <= 0 else 'OVER BUDGET'})"],
        ["jobs over budget", sum(o.spend > o.budget for o in outcomes)],
        ["ended BUDGET_EXHAUSTED", len(exhausted)],
        ["final statuses", ", ".join(f"{s.value} {n}" for s, n in statuses.items() if n)],
        ["mean budget utilisation (spend ÷ budget), all jobs",
         _percent(sum(float(o.spend / o.budget) for o in outcomes), len(outcomes))],
        ["mean utilisation of the BUDGET_EXHAUSTED jobs",
         _percent(sum(float(o.spend / o.budget) for o in exhausted), len(exhausted))],
        ["  of those that made a call (spend > 0)",
         _percent(sum(float(o.spend / o.budget) for o in spent), len(spent))],
        ["BUDGET_EXHAUSTED jobs: none spent (budget below one call) / ≥ 90 % used",
         f"{len(exhausted) - len(spent)} / {sum(o.spend >= o.budget * NINETY for o in exhausted)}"],
        ["output tokens written ÷ output tokens reserved (max_tokens)",
         _percent(written, sum(o.output_cap for o in outcomes))],
        ["genai-prices overrides a catalog `price` of a model it knows",
         "yes" if overrides else "no"],
    ]  # fmt: skip
    return print_table(
        "Budget: randomized jobs through the real runtime", ["measure", "value"], rows
    )


def _why_tables(outcomes: list[JobOutcome]) -> str:
    """Jobs that ran out below 90 %: why their next call did not fit, grouped, then each."""
    short = [
        o
        for o in outcomes
        if o.status is ProjectStatus.BUDGET_EXHAUSTED and o.spend < o.budget * NINETY
    ]
    rows = [
        (budget_why.classify(list(o.blocked), o.pending), float(o.spend / o.budget), o.calls,
         o.pending, list(o.blocked))
        for o in short
    ]  # fmt: skip
    text = print_table(
        "Budget: why jobs that ran out stopped below 90 %",
        ["reason (the call closest to fitting)", "jobs", "mean use", "calls made", "with pending"],
        budget_why.why_table(rows),
    )
    for o, row in zip(short, rows, strict=True):
        print(
            f"- round {o.round} budget {o.budget} used {row[1] * 100:.1f} % calls {o.calls}"
            f" pending {o.pending}: {row[0]}",
            flush=True,
        )
        for b in o.blocked:
            print(f"    {budget_why.describe(b)}", flush=True)
    return text


def main(
    quick: bool = False,
    *,
    rounds: int = 10,
    jobs: int = 100,
    first: int = 0,
    why: bool = False,
    save: Path | None = None,
    load: list[Path] | None = None,
) -> list[str]:
    """`save`: each round's outcomes go to a file in that directory as the round ends (a run
    cut short keeps its finished rounds); `load`: tables from such files, running nothing."""
    if quick:  # one small round in this process: no worker start-up to pay for
        return [_table(run_round(0, jobs=4, batch=4), genai_prices_overrides_catalog())]
    if load:
        loaded = [o for path in load for o in pickle.loads(path.read_bytes())]
        tables = [_table(loaded, genai_prices_overrides_catalog())]
        return tables + ([_why_tables(loaded)] if why else [])
    batch = 25
    outcomes: list[JobOutcome] = []
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(run_round, n, jobs, batch, why) for n in range(first, first + rounds)
        ]
        for future in as_completed(futures):
            part = future.result()
            outcomes += part
            if save is not None:
                save.mkdir(parents=True, exist_ok=True)
                (save / f"round-{part[0].round}.pkl").write_bytes(pickle.dumps(part))
            worst = max(o.spend - o.budget for o in part)
            print(
                f"  budget round {part[0].round}: {len(part)} jobs, max(spend − budget) {worst}"
                f" ({len(outcomes)}/{rounds * jobs} jobs done)",
                file=sys.stderr,
                flush=True,
            )
    tables = [_table(outcomes, genai_prices_overrides_catalog())]
    if why:
        tables.append(_why_tables(outcomes))
    return tables


if __name__ == "__main__":  # python -m bench.budget [--rounds N] [--jobs M]
    parser = argparse.ArgumentParser(prog="python -m bench.budget", description=__doc__)
    parser.add_argument("--rounds", type=int, default=10, help="rounds (random catalogs)")
    parser.add_argument("--jobs", type=int, default=100, help="jobs per round")
    parser.add_argument("--first", type=int, default=0, help="number of the first round")
    parser.add_argument(
        "--why", action="store_true", help="say why jobs that ran out stopped below 90 %%"
    )
    parser.add_argument("--save", type=Path, help="directory for each round's outcomes")
    parser.add_argument("--load", type=Path, nargs="+", help="round files to tabulate")
    args = parser.parse_args()
    quiet_logs()
    main(
        rounds=args.rounds,
        jobs=args.jobs,
        first=args.first,
        why=args.why,
        save=args.save,
        load=args.load,
    )  # prints its table
