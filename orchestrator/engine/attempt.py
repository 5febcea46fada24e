"""One attempt of a logical call: sent under a time limit, settled, and its outcome recorded.

`Attempts.run` sends a request to one model and settles what the provider billed the moment
it returns. How it ended becomes the attempt's `CallRecord` outcome (`outcome_of`): an
answer is OK; a wait the job's deadline cut is DEADLINE and ends the logical call as out of
time, with no health record (it says nothing about the model); any other provider error is
recorded in the health book, as an outage or a model failure as the error says, and handed
back to `CallExecutor`, which decides whether to re-ask, retry or fall back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from orchestrator.config import ModelInfo
from orchestrator.domain import CallOutcome, CallRecord, Role
from orchestrator.engine.call_notes import FailureTally, JobNotes
from orchestrator.engine.calls_api import CallResult, CallSpec, CallStatus
from orchestrator.engine.health import HealthBook
from orchestrator.engine.spending import Spending
from orchestrator.errors import (
    BudgetExceeded,
    MalformedOutput,
    ProviderError,
    ProviderTimeout,
    RateLimited,
)
from orchestrator.providers.base import LLMClient, LLMRequest, LLMResponse
from orchestrator.providers.pricing import Pricing
from orchestrator.storable import storable

__all__ = ["Attempts", "CallKey", "DeadlineCut", "LogicalCall", "answer_result", "outcome_of"]


class DeadlineCut(ProviderTimeout):
    """The job's time limit, not the model, ended the wait for an answer."""


def outcome_of(error: ProviderError) -> CallOutcome:
    if isinstance(error, DeadlineCut):
        return CallOutcome.DEADLINE
    if isinstance(error, RateLimited):
        return CallOutcome.RATE_LIMITED
    if isinstance(error, ProviderTimeout):
        return CallOutcome.TIMEOUT
    if isinstance(error, MalformedOutput):
        return CallOutcome.MALFORMED
    return CallOutcome.ERROR


class CallKey(TypedDict):
    """The logical call: every attempt of it shares this key."""

    job_id: str
    task_id: str
    iteration: int
    role: Role
    slot: int


@dataclass
class LogicalCall:
    """One logical call in progress: its key, attempt counter and what it cost so far."""

    spec: CallSpec
    key: CallKey
    attempt: int
    cost: Decimal = Decimal(0)
    last_error: str = ""
    called: bool = False  # some provider call was made
    budget_blocked: bool = False  # some candidate did not fit the budget
    # The candidate that came closest to fitting: (what it needed, why), for the error a
    # call out of budget ends with (the last one tried is the dearest of the last resort).
    closest_fit: tuple[float, str] | None = None
    failures: FailureTally = field(default_factory=FailureTally)

    def did_not_fit(self, model: str, refused: BudgetExceeded) -> None:
        self.budget_blocked = True
        self.last_error = f"{model}: {refused}"
        if self.closest_fit is None or refused.needed < self.closest_fit[0]:
            self.closest_fit = (refused.needed, self.last_error)

    def end(self, status: CallStatus) -> CallResult:
        last = self.last_error
        if status is CallStatus.BUDGET_EXHAUSTED and self.closest_fit is not None:
            last = self.closest_fit[1]
        error = self.failures.describe(last)
        return CallResult(status=status, cost_usd=float(self.cost), error=error)


# What an answer's `CallResult` takes from its `CallRecord` under the same names.
_FROM_RECORD = {"model", "provider", "input_tokens", "output_tokens", "latency_ms"}


def answer_result(row: CallRecord, *, cost_usd: float) -> CallResult:
    """The OK result of a recorded answer; `cost_usd` covers every attempt of the call."""
    return CallResult(
        status=CallStatus.OK,
        text=row.response_text,
        cost_usd=cost_usd,
        **row.model_dump(include=_FROM_RECORD),
    )


@dataclass(kw_only=True, eq=False)
class Attempts:
    """Sends one job's attempts and records how each ended (see the module docstring)."""

    pricing: Pricing
    spending: Spending
    health: HealthBook
    notes: JobNotes
    call_timeout_s: float
    deadline: Callable[[], float]  # epoch seconds; the job's, read at each attempt
    clock: Callable[[], float]

    async def run(
        self,
        call: LogicalCall,
        model: ModelInfo,
        client: LLMClient,
        request: LLMRequest,
        row: CallRecord,
    ) -> CallResult | ProviderError:
        """One provider call, settled the moment it returns: the OK result, or the error.

        A task cancelled mid-call (or a bug) leaves the attempt in flight: its cost is
        unknown, and whoever next runs the call, or ends the job, charges its reservation.
        """
        started = self.clock()
        worst = Decimal(str(row.reserved_usd))
        try:
            response = await self._complete(client, request, model)
        except ProviderError as e:
            row.latency_ms = max(self.clock() - started, 0.0) * 1000
            row.outcome, row.error = outcome_of(e), storable(str(e))
            row.input_tokens, row.output_tokens = e.usage or (0, 0)
            row.cost_usd = float(self.spending.billed(model, e, worst))
            call.cost += await self.spending.settle(row)
            if isinstance(e, DeadlineCut):  # says nothing about the model: no health record
                call.last_error = f"{model.name}: {e}"
                return call.end(CallStatus.TIMEOUT)
            self.health.record(
                model.name,
                ok=False,
                latency_ms=row.latency_ms,
                cost=row.cost_usd,
                outage=e.outage,
                timeout=isinstance(e, ProviderTimeout),
            )
            return e
        actual = self.pricing.cost(model.name, response.input_tokens, response.output_tokens)
        row.outcome = CallOutcome.OK
        row.input_tokens, row.output_tokens = response.input_tokens, response.output_tokens
        row.cost_usd, row.latency_ms = float(actual), response.latency_ms
        row.response_text = storable(response.text)  # a paid answer is always recorded
        call.cost += await self.spending.settle(row)
        self.health.record(model.name, ok=True, latency_ms=row.latency_ms, cost=row.cost_usd)
        self.notes.answered(call.spec, model, response)
        return answer_result(row, cost_usd=float(call.cost))

    async def _complete(
        self, client: LLMClient, request: LLMRequest, model: ModelInfo
    ) -> LLMResponse:
        # Never wait past the job's deadline for one answer.
        left = self.deadline() - self.clock()
        limit = min(self.call_timeout_s, left)
        try:
            async with asyncio.timeout(max(limit, 0.0)):
                return await client.complete(request)
        except TimeoutError as e:
            if left < self.call_timeout_s:
                raise DeadlineCut(
                    f"the job's time limit cut the call after {limit:.1f}s",
                    provider=model.provider,
                    model=model.name,
                ) from e
            raise ProviderTimeout(
                f"no answer within {limit:.1f}s", provider=model.provider, model=model.name
            ) from e
