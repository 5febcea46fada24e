"""The provider's bill is the judge: whole jobs, through the real runtime and the real SDKs,
against a billing double that bills malformed and timed-out answers as a provider does.

For randomized jobs (budgets, concurrency, fault mixes with many billed malformed answers) with
latency, so that calls of one job are in flight together: the bill never passes the budget,
the job's recorded total equals the bill (or covers it, where a timed-out answer's usage was
never seen), no settlement cost more than it reserved, and the overlap really happened.
"""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from fake_llm_servers import Answer, BillLine, FakeLLMServer, WireRequest, echo
from fakes import plan_task
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from orchestrator.config import Settings
from orchestrator.domain import CallOutcome, CallRecord, JobSpec
from orchestrator.providers import Pricing
from orchestrator.runtime import Runtime

KEY = "sk-billing-test-0f1e2d3c"


def long_answers(request: WireRequest) -> Answer:
    """Text answers that use much of their cap (so budgets run out); a plan of three tasks
    that may run at once; other structured answers echo."""
    if request.schema is not None:
        if "tasks" in request.schema.get("properties", {}):
            return {"tasks": [plan_task(f"t{i}") for i in range(1, 4)]}
        return echo(request)
    words = request.max_tokens * (3 + len(request.prompt) % 5) // 8
    return " ".join(["word"] * words)


def bill_usd(pricing: Pricing, lines: list[BillLine]) -> Decimal:
    return sum((pricing.cost(b.model, b.input_tokens, b.output_tokens) for b in lines), Decimal(0))


def overlapped(calls: list[CallRecord]) -> bool:
    """Whether two attempts of the job were in flight at the same moment."""
    spans = sorted((c.created_at, c.created_at + c.latency_ms / 1000) for c in calls)
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


def job_settings(tmp: Path, server: FakeLLMServer, **kw: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp / "data",
        openai_api_key=KEY,
        openai_base_url=f"{server.url}/v1",
        anthropic_api_key=KEY,
        anthropic_base_url=server.url,
        retry_backoff_s=0.01,
        queue_poll_interval_s=0.02,
        **kw,
    )


async def run_jobs_one_by_one(
    settings_: Settings, server: FakeLLMServer, budgets: list[tuple[float, int]]
) -> list[tuple[Decimal, Decimal, Decimal, list[CallRecord], int]]:
    """Each job alone against the server: (budget, recorded total, bill, calls, overruns)."""
    runtime = await Runtime.start(settings_)
    pricing = runtime.deps.pricing
    out = []
    try:
        for budget, concurrency in budgets:
            server.bill.clear()
            job_id = await runtime.submit(
                JobSpec(
                    # Text tasks: the calls are what this test is about, not code checks.
                    project_description="Write a short guide to brewing green tea, "
                    "with a summary of its steps",
                    success_criteria="Covers water temperature and steeping time",
                    budget_usd=budget,
                    concurrency=concurrency,
                )
            )
            await runtime.wait(job_id)
            assert (await runtime.store.get_job(job_id)).final_status is not None
            money = await runtime.store.job_budget(job_id)
            calls = await runtime.store.list_calls(job_id=job_id)
            overruns = sum(1 for c in calls if c.cost_usd > c.reserved_usd)
            out.append(
                (money.budget_usd, money.spent_usd, bill_usd(pricing, server.bill), calls, overruns)
            )
    finally:
        await runtime.stop()
    return out


@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # shrinking whole jobs would take minutes each
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    budgets=st.lists(
        st.tuples(st.floats(0.1, 0.6, allow_nan=False), st.integers(2, 4)),
        min_size=2,
        max_size=2,
    ),
    malformed=st.sampled_from([0.3, 0.5]),
    seed=st.integers(0, 1000),
)
def test_the_recorded_total_of_every_job_is_its_bill_and_within_budget(
    tmp_path_factory: pytest.TempPathFactory,
    budgets: list[tuple[float, int]],
    malformed: float,
    seed: int,
) -> None:
    kinds = ("malformed",) * 6 + ("rate_limit", "server_error")
    with FakeLLMServer(
        long_answers,
        api_key=KEY,
        fault_rate=malformed * 8 / 6,
        fault_kinds=kinds,
        seed=seed,
        latency_s=(0.02, 0.08),
    ) as server:
        tmp = tmp_path_factory.mktemp("billing")
        results = asyncio.run(run_jobs_one_by_one(job_settings(tmp, server), server, budgets))
        assert server.faults["malformed"] > 0
    for budget, recorded, bill, calls, overruns in results:
        assert bill <= budget
        assert recorded == bill  # every billed answer is charged, malformed ones included
        assert overruns == 0
        assert not any(c.outcome is CallOutcome.IN_FLIGHT for c in calls)
    billed_failures = [c for r in results for c in r[3] if c.outcome is CallOutcome.MALFORMED]
    assert billed_failures and all(c.cost_usd > 0 for c in billed_failures)
    assert any(overlapped(r[3]) for r in results), "no two calls of a job were in flight at once"


async def test_timed_out_answers_are_charged_at_least_what_they_were_billed(
    tmp_path: Path,
) -> None:
    """An answer the client stopped waiting for is billed by the provider; its usage is
    never seen, so it is charged its reservation: the total covers the bill, within budget."""
    kinds = ("slow", "malformed", "bad_json")
    with FakeLLMServer(
        long_answers,
        api_key=KEY,
        fault_rate=0.3,
        fault_kinds=kinds,
        seed=11,
        slow_s=2.0,
        latency_s=(0.01, 0.04),
    ) as server:
        settings_ = job_settings(tmp_path, server, call_timeout_s=0.3)
        [(budget, recorded, bill, calls, overruns)] = await run_jobs_one_by_one(
            settings_, server, [(0.3, 3)]
        )
        # Answers still held back are billed already: the bill is complete here.
        assert server.faults["slow"] > 0
    assert bill <= recorded <= budget
    assert overruns == 0
    timeouts = [c for c in calls if c.outcome is CallOutcome.TIMEOUT]
    assert timeouts and all(c.cost_usd > 0 for c in timeouts)
