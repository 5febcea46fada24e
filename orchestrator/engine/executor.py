"""`CallExecutor`: one job's `Caller` — routing, budget, retries, fallback and recording.

For one `CallSpec`: stop at once if the job is cancelled or out of time; reuse a recorded
successful answer to the same request (never pay twice on resume or recovery); else try the
router's candidates in order — reserve the worst-case cost in the job's ledger (skip a
candidate that does not fit), call under a time limit, settle what the provider billed (a
failed attempt too: a cut-off or invalid answer is billed by its usage, a timed-out request
by its reservation), feed the health book (not for a call the job's deadline cut: it
ends the call as out of time and says nothing about the model); retry a retryable failure
with full-jitter exponential backoff (at least the provider's `retry_after`, never past the
deadline), then fall back. 401/403/404, or no client serving the model, take it out for the
rest of the job. Provider trouble never raises; bugs, and a database that stays unreachable, do.
The money side (reserve, wait, fit, settle what was billed) is `Spending` (spending.py); one
attempt (send under the time limit, settle, record its outcome) is `Attempts` (attempt.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.config import ModelInfo, Settings
from orchestrator.domain import CallOutcome, CallRecord
from orchestrator.engine.attempt import (
    Attempts,
    CallKey,
    LogicalCall,
    answer_result,
    outcome_of,
)
from orchestrator.engine.call_notes import JobNotes
from orchestrator.engine.calls_api import CallResult, CallSpec, CallStatus
from orchestrator.engine.context_fit import fit_for_client
from orchestrator.engine.health import HealthBook
from orchestrator.engine.ledger import JobLedger
from orchestrator.engine.routing import Router
from orchestrator.engine.spending import Spending
from orchestrator.errors import (
    AuthFailed,
    BudgetExceeded,
    MalformedOutput,
    ModelNotFound,
    ProviderError,
    RateLimited,
)
from orchestrator.providers.base import LLMClient, LLMRequest, Reask
from orchestrator.providers.pricing import Pricing
from orchestrator.providers.registry import ClientSet

# `outcome_of` lives in attempt.py; re-exported for callers that know it from here.
__all__ = ["CallExecutor", "JobControl", "outcome_of"]

log = logging.getLogger(__name__)


class JobControl(Protocol):
    def cancelled(self) -> bool: ...

    @property
    def deadline(self) -> float: ...  # epoch seconds; past it the job is out of time


@dataclass(kw_only=True, eq=False)
class CallExecutor:
    """The `Caller` of one job (see the module docstring)."""

    job_id: str
    clients: ClientSet
    router: Router
    pricing: Pricing
    ledger: JobLedger
    health: HealthBook
    control: JobControl
    settings: Settings
    max_tokens: int | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    # Where a line for the job's own log goes (the runtime writes it to the job's events).
    note: Callable[[str], None] = lambda _line: None
    # Models that answered 401/403/404 in this job. Kept here, not in the health book,
    # which the runtime shares between jobs: a key may be fixed before the next job.
    _unavailable: dict[str, str] = field(default_factory=dict, init=False)
    _outside_noted: bool = field(default=False, init=False)  # said once in the job's log
    _spending: Spending = field(init=False)
    _attempts: Attempts = field(init=False)

    def __post_init__(self) -> None:
        # Late-bound: tests replace `note` and `sleep` after construction.
        self._spending = Spending(
            ledger=self.ledger,
            pricing=self.pricing,
            sleep=lambda seconds: self.sleep(seconds),
            stopped=lambda: self._stop_status() is not None,
            note=lambda line: self.note(line),
        )
        self._attempts = Attempts(
            pricing=self.pricing,
            spending=self._spending,
            health=self.health,
            notes=JobNotes(lambda line: self.note(line)),
            call_timeout_s=self.settings.call_timeout_s,
            deadline=lambda: self.control.deadline,
            clock=lambda: self.clock(),
        )

    @property
    def overruns(self) -> int:
        """Settlements that cost more than they reserved (0 while worst cases are bounds)."""
        return self._spending.overruns

    @property
    def unavailable(self) -> dict[str, str]:
        """Models taken out for this job, with the reason."""
        return dict(self._unavailable)

    async def __call__(self, spec: CallSpec) -> CallResult:
        stop = self._stop_status()
        if stop is not None:
            return CallResult(status=stop, error=f"job {stop.value} before the call")
        key = CallKey(
            job_id=self.job_id,
            task_id=spec.task_id,
            iteration=spec.iteration,
            role=spec.role,
            slot=spec.slot,
        )
        await self._spending.store_unsettled(**key)
        tried = await self.ledger.attempts(**key)
        stale = [r for r in tried if r.outcome is CallOutcome.IN_FLIGHT]
        if stale:  # attempts of a process that stopped while they were in flight
            await self.ledger.close_interrupted(stale)
        cached = self._cached(spec, tried)
        if cached is not None:
            return cached
        call = LogicalCall(spec, key, attempt=max((r.attempt + 1 for r in tried), default=0))
        self._skip_unconfigured(spec)
        candidates = self.router.candidates(spec, exclude=self._unavailable)
        call.last_error = f"no model is available for {spec.role.value}"
        for model in candidates:
            result = await self._try_model(call, model)
            if result is not None:
                return result
        listed = {m.name for m in self.router.preferred(spec)}
        for cut in (False, True):
            if not call.budget_blocked:
                break
            # Nothing fits with its full answer cap: a shorter answer beats none, from the
            # cheapest model that can still give one (not one that failed this call); then
            # the same with the middle of the prompt cut.
            failed = {name for name, _one, _many in call.failures.counts}
            for model in self.router.last_resort(spec, exclude=self._unavailable):
                if model.name in failed or not self.clients.serves(model.name):
                    continue
                result = await self._try_model(call, model, shorten=True, cut=cut)
                if result is not None:
                    if result.ok and model.name not in listed:
                        self._note_outside(spec, model)
                    return result
        # Out of budget for what could still have answered (after attempts that failed and
        # were billed, too): the budget, not the models, ends the call.
        if call.budget_blocked:
            return call.end(CallStatus.BUDGET_EXHAUSTED)
        return call.end(CallStatus.FAILED)

    async def _try_model(
        self, call: LogicalCall, model: ModelInfo, *, shorten: bool = False, cut: bool = False
    ) -> CallResult | None:
        """Call `model`, with retries; a result ends the logical call, None falls back.

        `shorten`: when its worst case does not fit the budget, lower the answer cap; `cut`:
        and when even the shortest answer does not fit, cut the middle of the prompt."""
        if model.name in self._unavailable:
            return None
        try:
            client = self.clients.for_model(model.name)
        except ProviderError as e:  # no configured client serves it
            self._take_out(call, model, e)
            return None
        request = await self._fit_context(client, self._request(call.spec, model))
        retry = 0
        while True:
            stop = self._stop_status()
            if stop is not None:
                return call.end(stop)
            if not self.health.acquire(model.name):
                if retry == 0:  # else its own last failure says more
                    call.last_error = f"{model.name}: circuit breaker open"
                return None
            reserved = await self._reserve(call, model, client, request, shorten=shorten, cut=cut)
            if reserved is None:
                self.health.release(model.name)
                return None
            row, request = reserved
            call.called = True
            outcome = await self._attempts.run(call, model, client, request, row)
            if isinstance(outcome, CallResult):
                return outcome
            if isinstance(outcome, AuthFailed | ModelNotFound):
                self._take_out(call, model, outcome)
                return None
            call.last_error = f"{model.name}: {outcome}"
            call.failures.add(model.name, outcome)
            if isinstance(outcome, MalformedOutput) and request.reask is None:
                # One re-ask at once, quoting the answer and what was wrong: a small model
                # often gets it right when told; a bad answer is no outage to back off from.
                reask = Reask(answer=outcome.answer, error=str(outcome))
                request = request.model_copy(update={"reask": reask})
                continue
            if not outcome.retryable or retry >= self.settings.call_retries:
                return None
            delay = self._backoff(retry, outcome)
            if self.clock() + delay >= self.control.deadline:
                return None  # waiting would pass the deadline: another model may answer now
            await self.sleep(delay)
            retry += 1

    async def _reserve(
        self,
        call: LogicalCall,
        model: ModelInfo,
        client: LLMClient,
        request: LLMRequest,
        *,
        shorten: bool,
        cut: bool = False,
    ) -> tuple[CallRecord, LLMRequest] | None:
        """Record the next attempt in flight with its worst case reserved: the row and the
        request to send (with a lower answer cap when `shorten` had to fit it); None when
        it does not fit."""
        row = CallRecord(
            **call.key,
            attempt=call.attempt,
            model=model.name,
            provider=model.provider,
            simulated=client.simulated,
            request_hash=request.request_hash(),
            outcome=CallOutcome.IN_FLIGHT,
            created_at=self.clock(),
        )
        try:
            request = await self._spending.reserve(
                row, model, request, shorten=shorten, cut=cut, client=client
            )
        except BudgetExceeded as e:
            call.did_not_fit(model.name, e)
            return None
        call.attempt += 1
        return row, request

    async def _fit_context(self, client: LLMClient, request: LLMRequest) -> LLMRequest:
        fit = await fit_for_client(client, request)
        if fit.note:
            self.note(fit.note)
        return fit.request

    def _cached(self, spec: CallSpec, tried: list[CallRecord]) -> CallResult | None:
        """A recorded successful answer to this very request by a model that may answer it,
        in the order of preference.

        Health is ignored: a recorded answer costs nothing, whatever its model does now.
        """
        answered: dict[str, CallRecord] = {}
        for row in tried:
            if row.outcome is CallOutcome.OK:
                answered.setdefault(row.request_hash, row)
        if not answered:
            return None
        # The outside models too: a last resort may have answered it (never pay twice).
        for model in [*self.router.preferred(spec), *self.router.outside(spec)]:
            found = answered.get(self._request(spec, model).request_hash())
            if found is not None:
                return answer_result(found, cost_usd=found.cost_usd)  # already in `spent`
        return None

    def _request(self, spec: CallSpec, model: ModelInfo) -> LLMRequest:
        max_tokens = min(
            model.max_output_tokens,
            spec.max_tokens or model.max_output_tokens,
            self.max_tokens or model.max_output_tokens,
        )
        return LLMRequest(
            model=model.name,
            role=spec.role,
            system=spec.system,
            prompt=spec.prompt,
            max_tokens=max_tokens,
            json_schema=spec.json_schema,
            schema_name=spec.schema_name,
            task_type=spec.task_type,
            iteration=spec.iteration,
        )

    def _skip_unconfigured(self, spec: CallSpec) -> None:
        """Take out, quietly, the models no configured client serves (their provider has no key).

        Before routing, not when reached: the router prefers a critic of another provider only
        among models that can answer, so with one provider configured a critic of the
        generator's own provider still answers rather than a string of unconfigured ones.
        """
        for model in self.router.preferred(spec):
            if model.name not in self._unavailable and not self.clients.serves(model.name):
                log.debug("%s is not configured: no client serves it", model.name)
                self._unavailable[model.name] = f"no configured client serves model {model.name!r}"

    def _note_outside(self, spec: CallSpec, model: ModelInfo) -> None:
        if not self._outside_noted:
            self._outside_noted = True
            self.note(
                f"the budget is nearly spent: a {spec.role.value} call went to {model.name}, "
                "outside its models, the cheapest that still fitted"
            )

    def _take_out(self, call: LogicalCall, model: ModelInfo, error: ProviderError) -> None:
        log.warning("%s is unavailable for job %s: %s", model.name, self.job_id, error)
        self.note(f"{model.name} is unavailable for the rest of this job: {error}")
        self._unavailable[model.name] = str(error)
        call.last_error = f"{model.name}: {error}"

    def _stop_status(self) -> CallStatus | None:
        if self.control.cancelled():
            return CallStatus.CANCELLED
        if self.clock() >= self.control.deadline:
            return CallStatus.TIMEOUT
        return None

    def _backoff(self, retry: int, error: ProviderError) -> float:
        """Full-jitter exponential backoff, but at least the provider's `retry_after`."""
        delay = self.rng.uniform(0, self.settings.retry_backoff_s * 2**retry)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay
