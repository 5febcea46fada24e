"""Why a job that ran out left money unspent: what `bench.budget --why` adds.

In the round's worker process, `CallExecutor.__call__` is wrapped: every logical call that
comes back BUDGET_EXHAUSTED is noted with what was left of the budget at that moment, the
cheapest model allowed to answer it (the router's `last_resort`) at its shortest answer,
and the cheapest model of the whole catalog that could take the role (any model not of the
author's provider for a review). After the job, `classify` names the reason of the call
that came closest to fitting.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orchestrator.config import ModelInfo
from orchestrator.domain import Role
from orchestrator.engine.calls_api import CallResult, CallSpec, CallStatus
from orchestrator.engine.executor import CallExecutor
from orchestrator.engine.spending import shortest_answer

__all__ = ["Blocked", "JobWhy", "blocked_calls", "classify", "install", "why_table"]


@dataclass(frozen=True)
class Price:
    model: str
    provider: str
    input_usd: Decimal  # the prompt's worst case with no answer
    short_usd: Decimal  # with the shortest answer a call is made with

    @property
    def answer_usd(self) -> Decimal:
        return self.short_usd - self.input_usd


@dataclass(frozen=True)
class Blocked:
    role: Role
    task_type: str
    prompt_chars: int
    left: Decimal  # budget − spent when the call gave up
    held: Decimal  # reserved by calls in flight then
    allowed: Price | None  # cheapest model the router lets answer it
    anyone: Price | None  # cheapest catalog model not of the author's provider (for reviews)


@dataclass
class JobWhy:
    blocked: list[Blocked] = field(default_factory=list)


_JOBS: dict[str, JobWhy] = {}


def blocked_calls(job_id: str) -> list[Blocked]:
    return _JOBS.pop(job_id, JobWhy()).blocked


def install() -> None:
    """Wrap `CallExecutor.__call__` in this process (idempotent)."""
    if getattr(CallExecutor.__call__, "_why", False):
        return
    original = CallExecutor.__call__

    async def call(self: CallExecutor, spec: CallSpec) -> CallResult:
        result = await original(self, spec)
        if result.status is CallStatus.BUDGET_EXHAUSTED:
            _JOBS.setdefault(self.job_id, JobWhy()).blocked.append(await _blocked(self, spec))
        return result

    call._why = True  # type: ignore[attr-defined]
    CallExecutor.__call__ = call  # type: ignore[method-assign]


async def _blocked(ex: CallExecutor, spec: CallSpec) -> Blocked:
    money = await ex.ledger.budget()
    catalog: Any = ex.router._catalog  # a benchmark looks inside
    authors = {catalog.models[m].provider for m in spec.avoid_models if m in catalog.models}

    def price(model: ModelInfo) -> Price:
        client = ex.clients.for_model(model.name)
        request = ex._request(spec, model)
        spending = ex._spending
        short = min(shortest_answer(spec.role), request.max_tokens)
        return Price(
            model=model.name,
            provider=model.provider,
            input_usd=spending.worst_case(
                model, request.model_copy(update={"max_tokens": 0}), client
            ),
            short_usd=spending.worst_case(
                model, request.model_copy(update={"max_tokens": short}), client
            ),
        )

    allowed = [price(m) for m in ex.router.last_resort(spec, exclude=ex.unavailable)]
    review = spec.role in (Role.CRITIQUE, Role.EVALUATE)
    anyone = [
        price(m)
        for m in catalog.models.values()
        if not (review and m.provider in authors) and m.name not in ex.unavailable
    ]
    return Blocked(
        role=spec.role,
        task_type=spec.task_type.value if spec.task_type else "-",
        prompt_chars=len(spec.system) + len(spec.prompt),
        left=money.budget_usd - money.spent_usd,
        held=money.reserved_usd,
        allowed=min(allowed, key=lambda p: p.short_usd, default=None),
        anyone=min(anyone, key=lambda p: p.short_usd, default=None),
    )


def classify(blocked: list[Blocked], pending: int) -> str:
    """The reason of the job's unspent money, from the call that came closest to fitting."""
    if not blocked:
        return "no call ran out (the job ended otherwise)"
    b = min(blocked, key=lambda x: (x.allowed.short_usd if x.allowed else Decimal("1e9")) - x.left)
    if b.allowed is None:
        return f"{b.role.value}: no model allowed at all"
    if b.allowed.short_usd <= b.left:
        return f"{b.role.value}: fitted later (calls in flight held it)"
    if b.anyone is not None and b.anyone.short_usd <= b.left:
        return f"{b.role.value}: a model outside the role's list would fit"
    if b.allowed.input_usd > b.left:
        return f"{b.role.value}: the prompt alone costs more than is left"
    return f"{b.role.value}: the prompt + the shortest answer cost more than is left"


def why_table(rows: list[tuple[str, float, int, int, list[Blocked]]]) -> list[list[object]]:
    """Rows (reason, count, mean use) from (reason, use, calls, pending, blocked) per job."""
    by = Counter(r[0] for r in rows)
    out: list[list[object]] = []
    for reason, n in by.most_common():
        uses = [r[1] for r in rows if r[0] == reason]
        calls = [r[2] for r in rows if r[0] == reason]
        pend = sum(r[3] > 0 for r in rows if r[0] == reason)
        out.append(
            [
                reason,
                n,
                f"{sum(uses) / len(uses) * 100:.1f} %",
                f"{min(calls)}–{max(calls)}",
                pend,
            ]
        )
    return out


def describe(b: Blocked) -> str:
    def p(x: Price | None) -> str:
        if x is None:
            return "none"
        return f"{x.model}/{x.provider} in {x.input_usd:.6f} + ans {x.answer_usd:.6f}"

    return (
        f"{b.role.value}/{b.task_type} prompt {b.prompt_chars} ch, left {b.left:.6f}"
        f" (held {b.held:.6f}); allowed {p(b.allowed)}; any {p(b.anyone)}"
    )
