"""CallExecutor against the real simulator: recording, fallback, retries, budget, resume."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import NoReturn

import pytest

from orchestrator.config import Catalog, FaultRates, ModelInfo, Settings
from orchestrator.domain import CallOutcome, CallRecord, Role, TaskType
from orchestrator.engine.calls_api import CallSpec, CallStatus
from orchestrator.engine.executor import CallExecutor
from orchestrator.engine.health import BreakerState, HealthBook
from orchestrator.engine.ledger import MemoryLedger
from orchestrator.engine.routing import Router
from orchestrator.errors import AuthFailed, ProviderError, RateLimited
from orchestrator.providers.base import LLMClient, LLMRequest, LLMResponse
from orchestrator.providers.pricing import Pricing
from orchestrator.providers.registry import ClientSet
from orchestrator.providers.simulator import SimulatedClient

# Ranked alpha > beta > gamma (quality vs price), one provider each.
MODELS = {
    "alpha-big": ("alpha", 0.95, 10.0),
    "beta-mid": ("beta", 0.90, 2.0),
    "gamma-small": ("gamma", 0.80, 0.2),
}


def no_genai_price(info: ModelInfo) -> NoReturn:
    raise LookupError("test catalog: explicit prices only")


def make_catalog() -> Catalog:
    names = list(MODELS)
    return Catalog.model_validate(
        {
            "models": {
                name: {
                    "provider": provider,
                    "quality": quality,
                    "max_output_tokens": 1000,
                    "price": {"input_per_mtok": price, "output_per_mtok": price},
                }
                for name, (provider, quality, price) in MODELS.items()
            },
            "task_types": {
                t.value: {"threshold": 0.8, "max_iterations": 2, "models": names} for t in TaskType
            },
            "roles": {r.value: names for r in (Role.DECOMPOSE, Role.CRITIQUE, Role.EVALUATE)},
        }
    )


class CheckedLedger(MemoryLedger):
    """A MemoryLedger that runs `check` after every reservation and settlement."""

    def __init__(self, budget: str, check: Callable[[MemoryLedger], None]) -> None:
        super().__init__(budget)
        self._check = check

    async def reserve(self, call: CallRecord, amount: Decimal) -> None:
        await super().reserve(call, amount)
        self._check(self)

    async def settle(self, call: CallRecord) -> None:
        await super().settle(call)
        self._check(self)


class Control:
    def __init__(self, deadline: float | None = None) -> None:
        self.stop = False
        self.deadline = time.time() + 3600 if deadline is None else deadline

    def cancelled(self) -> bool:
        return self.stop


class OnlyFor:
    """A client that serves only some models (as a real provider serves only its own)."""

    def __init__(self, inner: LLMClient, models: set[str]) -> None:
        self.inner = inner
        self.models = models
        self.name = f"only-{sorted(models)}"
        self.simulated = inner.simulated

    def serves(self, model: str) -> bool:
        return model in self.models

    async def complete(self, request: LLMRequest) -> LLMResponse:
        return await self.inner.complete(request)


class ScriptedClient:
    """Fails with the scripted errors of a model, in order, then answers via the simulator."""

    name = "scripted"
    simulated = True

    def __init__(self, inner: SimulatedClient, script: dict[str, list[ProviderError]]) -> None:
        self.inner = inner
        self.script = script
        self.calls: Counter[str] = Counter()

    def serves(self, model: str) -> bool:
        return self.inner.serves(model)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.calls[request.model] += 1
        errors = self.script.get(request.model)
        if errors:
            raise errors.pop(0)
        return await self.inner.complete(request)


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


class Rig:
    """One job's executor and everything it talks to."""

    def __init__(
        self,
        *,
        budget: str = "10",
        client: LLMClient | None = None,
        per_model: dict[str, LLMClient] | None = None,
        ledger: MemoryLedger | None = None,
        control: Control | None = None,
        health_clock: Callable[[], float] = lambda: 0.0,  # frozen: an open breaker stays open
        **settings: float,
    ) -> None:
        self.catalog = make_catalog()
        self.pricing = Pricing(self.catalog, lookup=no_genai_price)
        self.ledger = ledger or MemoryLedger(budget)
        self.health = HealthBook(health_clock, cooldown_s=30)
        self.control = control or Control()
        self.sleep = RecordingSleep()
        self.executor = CallExecutor(
            job_id="job1",
            clients=ClientSet(
                [*(OnlyFor(c, {m}) for m, c in (per_model or {}).items()), client or sim()],
                self.catalog,
            ),
            router=Router(self.catalog, self.pricing, self.health),
            pricing=self.pricing,
            ledger=self.ledger,
            health=self.health,
            control=self.control,
            settings=Settings(_env_file=None, **settings),  # type: ignore[call-arg, arg-type]
            sleep=self.sleep,
            rng=random.Random(3),
        )

    def worst_case(self, model: str, spec: CallSpec) -> Decimal:
        return self.pricing.worst_case(model, spec.system, spec.prompt, 1000)


def sim(**kw: object) -> SimulatedClient:
    return SimulatedClient(make_catalog(), latency_scale=0, **kw)  # type: ignore[arg-type]


def gen(task_id: str = "t1", **kw: object) -> CallSpec:
    return CallSpec(
        role=Role.GENERATE,
        task_id=task_id,
        task_type=TaskType.SUMMARIZATION,
        iteration=1,
        system="You are a careful writer.",
        prompt="Summarise the design document in five bullet points.",
        **kw,  # type: ignore[arg-type]
    )


async def test_ok_path_records_one_row_and_settles_the_real_cost() -> None:
    rig = Rig()
    result = await rig.executor(gen())
    assert result.status is CallStatus.OK and result.text
    assert result.model == "alpha-big"
    [row] = rig.ledger.rows
    assert (row.outcome, row.attempt, row.model, row.provider) == (
        CallOutcome.OK, 0, "alpha-big", "alpha",
    )  # fmt: skip
    request = LLMRequest(
        model="alpha-big", role=Role.GENERATE, system=gen().system, prompt=gen().prompt,
        max_tokens=1000, task_type=TaskType.SUMMARIZATION, iteration=1,
    )  # fmt: skip
    assert row.request_hash == request.request_hash()
    cost = rig.pricing.cost("alpha-big", result.input_tokens, result.output_tokens)
    assert rig.ledger.spent == cost > 0
    assert row.cost_usd == result.cost_usd == float(cost)
    assert row.response_text == result.text
    assert rig.ledger.reserved == 0
    assert rig.health.snapshot("alpha-big").call_count == 1


async def test_a_rate_limited_model_falls_back_to_another_provider() -> None:
    always_429 = sim(faults=FaultRates(rate_limit=1))
    rig = Rig(per_model={"alpha-big": always_429}, call_retries=2)
    result = await rig.executor(gen())
    assert result.status is CallStatus.OK
    assert result.provider == "beta"
    outcomes = [(r.attempt, r.model, r.outcome) for r in rig.ledger.rows]
    assert outcomes == [
        (0, "alpha-big", CallOutcome.RATE_LIMITED),
        (1, "alpha-big", CallOutcome.RATE_LIMITED),
        (2, "alpha-big", CallOutcome.RATE_LIMITED),
        (3, "beta-mid", CallOutcome.OK),
    ]
    assert len(rig.sleep.delays) == 2  # backoff between the three tries of alpha
    assert rig.ledger.spent == Decimal(str(result.cost_usd))  # a 429 is not billed


async def test_retry_after_is_honoured() -> None:
    rate_limit: list[ProviderError] = [
        RateLimited("429", retry_after=7.0),
        RateLimited("429", retry_after=9.0),
    ]
    scripted = ScriptedClient(sim(), {"alpha-big": rate_limit})
    rig = Rig(client=scripted, call_retries=3, retry_backoff_s=0.01)
    result = await rig.executor(gen())
    assert result.status is CallStatus.OK and result.model == "alpha-big"
    assert rig.sleep.delays == [7.0, 9.0]  # jitter (≤ 0.01 s, then ≤ 0.02 s) is below both


async def test_a_wait_past_the_deadline_falls_back_instead_of_sleeping() -> None:
    scripted = ScriptedClient(sim(), {"alpha-big": [RateLimited("429", retry_after=3600)]})
    rig = Rig(client=scripted, control=Control(deadline=time.time() + 600), call_retries=3)
    result = await rig.executor(gen())
    assert result.status is CallStatus.OK and result.model == "beta-mid"
    assert rig.sleep.delays == []


async def test_a_recorded_answer_is_never_paid_twice() -> None:
    first = Rig()
    answer = await first.executor(gen())
    spent = first.ledger.spent
    # The job restarts: a new executor over the same recorded calls and budget.
    scripted = ScriptedClient(sim(), {})
    again = Rig(ledger=first.ledger, client=scripted)
    result = await again.executor(gen())
    assert result == answer
    assert len(again.ledger.rows) == 1
    assert again.ledger.spent == spent
    assert sum(scripted.calls.values()) == 0
    other = await again.executor(gen(task_id="t2"))  # another logical call is paid for
    assert other.ok and again.ledger.spent > spent


async def test_attempt_numbers_continue_after_a_restart() -> None:
    failing = ScriptedClient(sim(), {m: [RateLimited("429")] for m in MODELS})
    first = Rig(client=failing, call_retries=0)
    assert (await first.executor(gen())).status is CallStatus.FAILED
    again = Rig(ledger=first.ledger)
    result = await again.executor(gen())
    assert result.ok
    assert [r.attempt for r in again.ledger.rows] == [0, 1, 2, 3]


async def test_an_auth_failure_takes_the_model_out_for_the_job() -> None:
    scripted = ScriptedClient(sim(), {"alpha-big": [AuthFailed("401 bad key")] * 5})
    rig = Rig(client=scripted, call_retries=2)
    assert (await rig.executor(gen("t1"))).model == "beta-mid"
    assert (await rig.executor(gen("t2"))).model == "beta-mid"
    assert scripted.calls["alpha-big"] == 1  # no retry, and never again in this job
    assert "alpha-big" in rig.executor.unavailable


async def test_a_model_no_client_serves_is_skipped_for_the_job() -> None:
    rig = Rig(client=OnlyFor(sim(), {"beta-mid", "gamma-small"}))
    result = await rig.executor(gen())
    assert result.ok and result.model == "beta-mid"
    assert "no configured client" in rig.executor.unavailable["alpha-big"]
    assert [r.model for r in rig.ledger.rows] == ["beta-mid"]  # nothing was called


async def test_a_hanging_provider_times_out_and_falls_back() -> None:
    class Hanging(SimulatedClient):
        async def complete(self, request: LLMRequest) -> LLMResponse:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    rig = Rig(per_model={"alpha-big": Hanging(make_catalog())}, call_timeout_s=0.01, call_retries=0)
    result = await rig.executor(gen())
    assert result.ok and result.model == "beta-mid"
    assert rig.ledger.rows[0].outcome is CallOutcome.TIMEOUT


async def test_a_cancelled_job_makes_no_call() -> None:
    rig = Rig()
    rig.control.stop = True
    result = await rig.executor(gen())
    assert result.status is CallStatus.CANCELLED
    assert rig.ledger.rows == []


async def test_a_job_past_its_deadline_makes_no_call() -> None:
    rig = Rig(control=Control(deadline=time.time() - 1))
    result = await rig.executor(gen())
    assert result.status is CallStatus.TIMEOUT
    assert rig.ledger.rows == []


async def test_mixed_faults_never_overspend_and_open_the_breaker() -> None:
    faults = FaultRates(rate_limit=0.1, server_error=0.1, timeout=0.05, malformed=0.05)
    flaky = sim(seed=5, faults=faults)
    broken = sim(faults=FaultRates(server_error=1))
    now = [0.0]

    def check(ledger: MemoryLedger) -> None:
        assert ledger.spent + ledger.reserved <= Decimal("0.04")

    rig = Rig(
        client=flaky,
        per_model={"alpha-big": broken},
        ledger=CheckedLedger("0.04", check),
        health_clock=lambda: now[0],
        call_retries=2,
    )
    results = []
    for batch in range(20):  # 200 calls, 10 at a time (a job's concurrency)
        specs = [gen(f"t{batch}-{i}") for i in range(10)]
        results += await asyncio.gather(*(rig.executor(s) for s in specs))
        now[0] += 5  # breakers re-open for a probe after 30 s: every 6 batches

    statuses = Counter(r.status for r in results)
    assert statuses[CallStatus.OK] > 20
    assert statuses[CallStatus.BUDGET_EXHAUSTED] > 0  # the budget ran out before the end
    assert rig.ledger.spent <= Decimal("0.04")
    assert rig.executor.overruns == 0 and rig.ledger.reserved == 0
    paid = sum(Decimal(str(r.cost_usd)) for r in rig.ledger.rows)
    assert abs(paid - rig.ledger.spent) < Decimal("1e-9")
    assert {r.outcome for r in rig.ledger.rows} >= {
        CallOutcome.OK, CallOutcome.RATE_LIMITED, CallOutcome.ERROR, CallOutcome.TIMEOUT,
        CallOutcome.MALFORMED,
    }  # fmt: skip
    assert rig.health.state("alpha-big") is not BreakerState.CLOSED
    alpha_rows = [r for r in rig.ledger.rows if r.model == "alpha-big"]
    # The first batch's 10 calls each try it once before the breaker stops them; after that
    # only one probe per cool-down (every 6 batches) reaches it.
    assert 3 <= len(alpha_rows) <= 10 + 20 // 6
    assert all(r.status is not CallStatus.FAILED or r.error for r in results)


@pytest.mark.parametrize("retries", [0, 1])
async def test_every_attempt_is_charged_to_the_logical_call(retries: int) -> None:
    failing = ScriptedClient(sim(), {m: [RateLimited("429")] * 9 for m in MODELS})
    rig = Rig(client=failing, call_retries=retries)
    result = await rig.executor(gen())
    assert result.status is CallStatus.FAILED
    assert "429" in result.error and result.cost_usd == 0
    assert len(rig.ledger.rows) == 3 * (retries + 1)
