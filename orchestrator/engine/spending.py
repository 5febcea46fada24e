"""`Spending`: the money side of one job's calls, for `CallExecutor`.

Before an attempt, its worst case is reserved in the job's ledger; when only other calls'
reservations stand in the way it waits for them to settle (they usually cost a fraction of
what they hold), and near the end of the budget the answer cap is fitted to what is unspent
(waiting, again, for calls in flight), down to the shortest answer worth a call (less for a
review than for a generation); when even that does not fit, the middle of a generation's or
review's prompt may be cut (`cut`). The input is counted by the client's own tokenizer
where it has one (`CountsTokens`), else as one token per byte: a true bound either way.
After the attempt, what the provider billed is settled: the answer's price, or for a failed
attempt the usage the provider reported, else its reservation when it may have been billed
unseen (a timeout), else nothing. A paid answer whose settlement failed (the database went
away at that moment) is kept and stored first when its call is asked again, so the call is
never paid twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from orchestrator.config import ModelInfo
from orchestrator.domain import CallRecord, Role
from orchestrator.engine.context_fit import cut_middle
from orchestrator.engine.ledger import AttemptKey, JobLedger, attempt_key
from orchestrator.errors import BudgetExceeded, ProviderError
from orchestrator.providers.base import CountsTokens, LLMClient, LLMRequest
from orchestrator.providers.pricing import Pricing

__all__ = ["MIN_FITTED_TOKENS", "RESERVATION_POLL_S", "Spending", "shortest_answer"]

log = logging.getLogger(__name__)

# A call whose full answer cap does not fit the budget left still runs with a lower cap,
# fitted to what is left, but never below this many tokens (shorter is rarely an answer).
# Near the end of a budget this is what lets a job use it: a quarter of the cap as the floor
# left BUDGET_EXHAUSTED jobs at 42 % of their budget in bench/budget.py, 256 at 49 %.
MIN_FITTED_TOKENS = 256
# Roles whose answer is useful short: an evaluation is a score and two or three sentences
# of JSON (60-100 tokens), and a critique cut at its cap still lists its first problems
# (plain text, nothing to parse). 256 tokens held back the last reviews of jobs that had
# the money for one (bench/budget.py --why).
MIN_FITTED_BY_ROLE: dict[Role, int] = {Role.EVALUATE: 128, Role.CRITIQUE: 128}
# Calls whose prompt may lose the middle of its material when even the shortest answer does
# not fit: a generation's dependency outputs and project files are context, and a review
# of most of an output beats none. Never a revision (it rewrites the whole output, so it
# must see all of it) nor a plan (its prompt is the user's description).
CUT_ROLES = frozenset({Role.GENERATE, Role.CRITIQUE, Role.EVALUATE})
MIN_KEPT_SHARE = 0.5  # of the prompt's bytes: below this an answer would be made blind
CUT_WHY = "to fit what is left of the budget"
# How often a call that waits for other calls' reservations looks at the budget again (the
# budget is in the database, shared by every process running the job).
RESERVATION_POLL_S = 0.1


@dataclass(kw_only=True, eq=False)
class Spending:
    ledger: JobLedger
    pricing: Pricing
    sleep: Callable[[float], Awaitable[None]]
    stopped: Callable[[], bool]  # the job was cancelled or ran out of time
    note: Callable[[str], None]  # a line for the job's own log
    # Settlements that cost more than their reservation (0 while worst cases are true bounds).
    overruns: int = field(default=0, init=False)
    _shortened: bool = field(default=False, init=False)  # said once in the job's log
    _cut: bool = field(default=False, init=False)  # said once in the job's log
    _unsettled: dict[AttemptKey, CallRecord] = field(default_factory=dict, init=False)

    def worst_case(
        self, model: ModelInfo, request: LLMRequest, client: LLMClient | None = None
    ) -> Decimal:
        """The most `request` can cost: its input counted by the client's own tokenizer when
        it has one (`CountsTokens`), else one token per byte; and its full answer cap."""
        counted = client.input_tokens_bound(request) if isinstance(client, CountsTokens) else None
        return self.pricing.worst_case(
            model.name,
            request.system,
            request.sent_prompt,
            request.max_tokens,
            json_schema=request.json_schema,
            input_tokens=counted,
        )

    async def reserve(
        self,
        row: CallRecord,
        model: ModelInfo,
        request: LLMRequest,
        *,
        shorten: bool,
        cut: bool = False,
        client: LLMClient | None = None,
    ) -> LLMRequest:
        """Record `row` in flight with the worst case of `request` reserved; returns the
        request to send (with a lower answer cap when `shorten` had to fit it, and when
        `cut` too, with the middle of its prompt cut when even the shortest answer did not
        fit). Raises BudgetExceeded when it does not fit.

        A shortened cap is fitted to what is unspent, not to what other calls in flight leave
        free: they usually settle for a fraction of what they hold, so the call waits for
        them, and fits its cap again to what they left if they took more."""
        worst = self.worst_case(model, request, client)
        row.reserved_usd = float(worst)
        try:
            await self._reserve_when_free(row, worst)
            return request
        except BudgetExceeded:
            if not shorten:
                raise
        money = await self.ledger.budget()
        while True:
            unspent = money.budget_usd - money.spent_usd
            fitted = self._fit_to_budget(model, request, client, unspent)
            if fitted is None and cut:
                fitted = self._cut_to_budget(model, request, client, unspent)
            if fitted is None:
                raise BudgetExceeded(float(worst), float(money.available_usd))
            shorter, worst = fitted
            row.reserved_usd = float(worst)
            try:
                await self._reserve_when_free(row, worst)
                return shorter
            except BudgetExceeded:
                money = await self.ledger.budget()
                if self.stopped() or money.budget_usd - money.spent_usd >= unspent:
                    raise
                # Others' settlements took part of what was unspent: fit again to the rest.

    def billed(self, model: ModelInfo, error: ProviderError, worst: Decimal) -> Decimal:
        """What a failed attempt costs: the usage the provider reported for it; else its
        reservation when the request may have been billed unseen (a timeout); else 0."""
        if error.usage is not None:
            return self.pricing.cost(model.name, *error.usage)
        return worst if error.billed else Decimal(0)

    async def settle(self, row: CallRecord) -> Decimal:
        """Record the returned attempt and charge its `cost_usd`; returns that cost."""
        cost, worst = Decimal(str(row.cost_usd)), Decimal(str(row.reserved_usd))
        if cost > worst:
            self.overruns += 1
            log.error(
                "budget overrun: a %s call cost %s but reserved only %s (worst case too low)",
                row.model,
                cost,
                worst,
            )
        try:
            await self.ledger.settle(row)
        except BaseException:
            self._unsettled[attempt_key(row)] = row
            raise
        return cost

    async def store_unsettled(
        self, *, job_id: str, task_id: str, iteration: int, role: Role, slot: int
    ) -> None:
        """Store first the paid answers of this logical call whose settlement failed."""
        call = (job_id, task_id, iteration, role, slot)
        mine = sorted(k for k in self._unsettled if k[:5] == call)
        for key in mine:
            await self.ledger.settle(self._unsettled[key])
            del self._unsettled[key]

    async def _reserve_when_free(self, row: CallRecord, worst: Decimal) -> None:
        """Reserve `worst`, waiting while only reservations of calls in flight stand in the
        way; BudgetExceeded when it does not fit the unspent budget, or the job stops."""
        while True:
            try:
                await self.ledger.reserve(row, worst)
                return
            except BudgetExceeded:
                money = await self.ledger.budget()
                held_by_others = money.reserved_usd > 0
                fits_unspent = worst <= money.budget_usd - money.spent_usd
                if not (held_by_others and fits_unspent) or self.stopped():
                    raise
            await self.sleep(RESERVATION_POLL_S)

    def _fit_to_budget(
        self, model: ModelInfo, request: LLMRequest, client: LLMClient | None, unspent: Decimal
    ) -> tuple[LLMRequest, Decimal] | None:
        """The request with the largest `max_tokens` whose worst case fits `unspent`, if that
        is still a useful answer (at least `shortest_answer`); else None. The reservation
        stays a true upper bound."""
        floor = min(request.max_tokens, shortest_answer(request.role))

        def worst(max_tokens: int) -> Decimal:
            capped = request.model_copy(update={"max_tokens": max_tokens})
            return self.worst_case(model, capped, client)

        if worst(floor) > unspent:
            return None
        low, high = floor, request.max_tokens  # `low` fits
        while low < high:
            middle = (low + high + 1) // 2
            if worst(middle) <= unspent:
                low = middle
            else:
                high = middle - 1
        if low < request.max_tokens and not self._shortened:
            self._shortened = True
            self.note(
                f"the budget is nearly spent: answers are now capped below {request.max_tokens}"
                " tokens so that calls still fit"
            )
        return request.model_copy(update={"max_tokens": low}), worst(low)

    def _cut_to_budget(
        self, model: ModelInfo, request: LLMRequest, client: LLMClient | None, unspent: Decimal
    ) -> tuple[LLMRequest, Decimal] | None:
        """The request with its shortest answer and the most of its prompt (whole lines from
        its start and end, at least MIN_KEPT_SHARE of it) whose worst case fits `unspent`;
        None for a role in no CUT_ROLES, a re-ask, or when even that does not fit."""
        if request.role not in CUT_ROLES or request.reask is not None:
            return None
        floor = min(request.max_tokens, shortest_answer(request.role))
        size = len(request.prompt.encode("utf-8"))
        least = int(size * MIN_KEPT_SHARE)
        identity = request.request_hash()  # a resumed call still finds its recorded answer

        def cut(allowed: int) -> tuple[LLMRequest, int]:
            text, dropped = cut_middle(request.prompt, allowed, CUT_WHY)
            update = {"prompt": text, "max_tokens": floor, "fitted_from": identity}
            return request.model_copy(update=update), dropped

        def fits(allowed: int) -> bool:
            shorter, _ = cut(allowed)
            # A prompt of a few long lines loses most of itself at line boundaries: not sent.
            kept = len(shorter.prompt.encode("utf-8")) >= least // 2
            return kept and self.worst_case(model, shorter, client) <= unspent

        if not fits(least):
            return None
        low, high = least, size  # `low` fits
        while low < high:
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        shorter, dropped = cut(low)
        if not self._cut:
            self._cut = True
            self.note(
                f"the budget is nearly spent: the middle of a {request.role.value} prompt "
                f"({dropped} lines) was cut so that the call still fits"
            )
        return shorter, self.worst_case(model, shorter, client)


def shortest_answer(role: Role) -> int:
    """The fewest answer tokens a call of `role` is made with near the end of a budget."""
    return MIN_FITTED_BY_ROLE.get(role, MIN_FITTED_TOKENS)
