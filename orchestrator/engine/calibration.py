"""A forecast's band learnt from its own errors: how far past jobs' real costs fell from what
their forecasts expected.

Each job stores the forecast it ran against (at approval, or when it started unreviewed).
Once it has ended having run its plan, every task gives a ratio actual ÷ expected, and so
does the job as a whole. A new forecast's band is its expected cost times the spread of
those ratios, read as a split-conformal interval: with n past ratios, the high end is the
⌈(n + 1)(1 − t)⌉-th smallest and the low end the ⌊(n + 1)t⌋-th, t = (1 − COVERAGE) / 2 a
tail; if the past is like the future (exchangeable), a new ratio falls inside with
probability at least COVERAGE. With too few ratios for that rank, the band is the extremes
seen.

Whatever makes jobs cost more or less than the sizes of their calls say (fallbacks after
faults and the price of the model that took over, retries, iterations, routes that changed,
dependencies' long outputs) is in these ratios, for simulated and real providers alike.

Only forecasts made from a comparable history count: from at least 1/COMPARABLE as many
recorded calls as the forecast at hand. A forecast from priors, or from the few calls of the
first jobs, is further off than one from thousands of calls, and would widen its band for
nothing (that history is capped, store/_review.HISTORY_CALLS, so in time every past forecast
is comparable).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orchestrator.domain import TaskType
from orchestrator.plan import ForecastOutcome

__all__ = ["COVERAGE", "MIN_OUTCOMES", "Band", "Calibration", "conformal_band"]

# The share of costs the band should hold.
COVERAGE = 0.90
# The fewest ratios whose conformal ranks at COVERAGE fall inside them (⌈20 × 0.95⌉ = 19):
# with fewer in a group (a task type and model, a type, all tasks, the jobs) the wider group
# is used, else the spread of the recorded call sizes.
MIN_OUTCOMES = 19
# A past forecast counts if it rested on at least 1/COMPARABLE of the calls this one does.
COMPARABLE = 2


@dataclass(frozen=True)
class Band:
    """Factors of the expected cost: the band is [expected × low, expected × high]."""

    low: float
    high: float
    outcomes: int  # the past ratios it comes from


def conformal_band(ratios: Sequence[float], coverage: float = COVERAGE) -> Band:
    """The split-conformal interval of `ratios` at `coverage` (see the module docstring)."""
    if not ratios:
        raise ValueError("no ratios to calibrate from")
    ordered = sorted(ratios)
    n = len(ordered)
    tail = (1 - coverage) / 2
    high_rank = math.ceil((n + 1) * (1 - tail) - 1e-9)  # 1-based ranks
    low_rank = math.floor((n + 1) * tail + 1e-9)
    return Band(
        low=ordered[max(low_rank, 1) - 1],
        high=ordered[min(high_rank, n) - 1],
        outcomes=n,
    )


class Calibration:
    """The ratios actual ÷ expected of past forecasts made from a history comparable to
    `recorded_calls` calls, per task type and model, per type, of all tasks and of jobs."""

    def __init__(self, outcomes: Iterable[ForecastOutcome] = (), recorded_calls: int = 0) -> None:
        exact: dict[tuple[TaskType, str | None], list[float]] = defaultdict(list)
        by_type: dict[TaskType, list[float]] = defaultdict(list)
        tasks: list[float] = []
        jobs: list[float] = []
        for o in outcomes:
            if o.expected <= 0 or o.recorded_calls * COMPARABLE < recorded_calls:
                continue
            ratio = o.actual / o.expected
            if o.task_type is None:
                jobs.append(ratio)
                continue
            exact[(o.task_type, o.model)].append(ratio)
            by_type[o.task_type].append(ratio)
            tasks.append(ratio)
        self._exact, self._by_type, self._tasks, self._jobs = exact, by_type, tasks, jobs

    @property
    def jobs(self) -> int:
        """How many past jobs' forecasts were checked against their cost."""
        return len(self._jobs)

    def task(self, task_type: TaskType, model: str | None) -> Band | None:
        """The band of a task, from the narrowest group with enough ratios; None if none has."""
        return _band(self._exact.get((task_type, model)), self._by_type.get(task_type), self._tasks)

    def job(self) -> Band | None:
        """The band of a whole job's cost, or None with too few past jobs."""
        return _band(self._jobs)


def _band(*groups: list[float] | None) -> Band | None:
    for group in groups:
        if group and len(group) >= MIN_OUTCOMES:
            return conformal_band(group)
    return None
