"""Scheduler benchmark, simulated only: many more instances than the engine can run.

Ready order FIFO (what the engine uses) against LONGEST_PATH (most tasks still ahead first,
the engine's alternative) and an oracle that knows every duration; the level barrier beside
them; and how the barrier's loss on layered graphs depends on the spread of durations.
"""

from __future__ import annotations

from random import Random
from statistics import mean

from bench import simulate
from bench.common import print_table
from bench.dags import FAMILIES, DagInstance, make_instance
from orchestrator.engine.scheduler import ReadyOrder

__all__ = ["ordering_table", "sigma_table"]

SIGMAS = (0.5, 0.75, 1.0, 1.25)


def ready_queue(dag: DagInstance, concurrency: int, order: ReadyOrder, check: bool) -> float:
    """(a) by the fast list scheduler; with `check`, also by the engine's `ReadyQueue` itself,
    and the two must agree (so the fast one stays a faithful copy of the engine's policy)."""
    fast = simulate.priority_schedule(dag, concurrency, simulate.engine_priority(dag, order))
    if check:
        exact = simulate.ready_queue(dag, concurrency, order)
        if abs(fast - exact) > 1e-9 * max(exact, 1.0):
            raise RuntimeError(f"{dag.name}: fast {fast} != ReadyQueue {exact} ({order})")
    return fast


def ordering_table(cases: list[tuple[DagInstance, int]], concurrencies: tuple[int, ...]) -> str:
    rows = []
    for family in FAMILIES:
        for concurrency in concurrencies:
            cell = [d for d, c in cases if d.family == family and c == concurrency]
            if not cell:
                continue
            fifo, longest, oracle, barrier, gains = [], [], [], [], []
            for k, dag in enumerate(cell):
                bound = dag.lower_bound(concurrency)
                f = ready_queue(dag, concurrency, ReadyOrder.FIFO, check=k < 5)
                lp = ready_queue(dag, concurrency, ReadyOrder.LONGEST_PATH, check=k < 5)
                fifo.append(f / bound)
                longest.append(lp / bound)
                oracle.append(simulate.weighted_longest_path(dag, concurrency) / bound)
                barrier.append(simulate.barrier(dag, concurrency) / f)
                gains.append(f / lp - 1)
            wins = sum(g > 1e-9 for g in gains)
            losses = sum(g < -1e-9 for g in gains)
            rows.append(
                [
                    family,
                    concurrency,
                    len(cell),
                    mean(fifo),
                    mean(longest),
                    f"{mean(gains) * 100:+.1f} %",
                    f"{wins}/{losses}/{len(cell) - wins - losses}",
                    mean(oracle),
                    f"{mean(barrier):.3f} ({min(barrier):.2f}-{max(barrier):.2f})",
                ]
            )
    return print_table(
        "Scheduler, simulated only: ready order FIFO vs LONGEST_PATH, and the barrier",
        [
            "family",
            "conc.",
            "instances",
            "(a) FIFO",
            "(a) LONGEST_PATH",
            "LP speed-up",
            "LP wins/losses/ties",
            "oracle (known durations)",
            "(b) ÷ (a) FIFO, mean (range)",
        ],
        rows,
    )


def sigma_table(concurrencies: tuple[int, ...], per_cell: int, sizes: tuple[int, int]) -> str:
    """How much the barrier loses on layered graphs depends on the spread of durations."""
    rows = []
    for sigma in SIGMAS:
        for concurrency in concurrencies:
            ratios = []
            for k in range(per_cell):
                rng = Random(f"sigma:{concurrency}:{k}")
                size = rng.randint(*sizes)
                dag = make_instance(
                    "layered", size, mean_s=1.0, seed=rng.randrange(10**9), sigma=sigma
                )
                a = ready_queue(dag, concurrency, ReadyOrder.FIFO, check=False)
                ratios.append(simulate.barrier(dag, concurrency) / a)
            rows.append(
                [
                    sigma,
                    concurrency,
                    len(ratios),
                    mean(ratios),
                    f"{min(ratios):.2f}-{max(ratios):.2f}",
                ]
            )
    return print_table(
        "Scheduler, simulated only: barrier ÷ ready queue on layered graphs by duration spread",
        ["lognormal sigma", "conc.", "instances", "(b) ÷ (a) mean", "range"],
        rows,
    )
