"""The hard budget, as a property: whole jobs through the real runtime never overspend.

Prices, budgets, concurrency, latencies and injected faults are drawn by hypothesis; models
are fictional so their prices come from the catalog file the test writes.
"""

from __future__ import annotations

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path

import yaml
from fake_llm_servers import Answer, FakeLLMServer, WireRequest, echo
from fakes import plan_task
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.config import FaultRates, Settings
from orchestrator.domain import JobSpec, ProjectStatus, Role, TaskType
from orchestrator.runtime import Runtime

KEY = "sk-budget-test-5a6b7c8d"
PROVIDERS = {"m-a1": "alpha", "m-a2": "alpha", "m-b1": "beta", "m-c1": "gamma"}

prices = st.fixed_dictionaries(
    {
        name: st.tuples(st.floats(0.05, 30, allow_nan=False), st.floats(0.1, 80, allow_nan=False))
        for name in PROVIDERS
    }
)
jobs = st.lists(
    st.tuples(st.floats(0.0005, 0.08, allow_nan=False), st.integers(3, 8)),
    min_size=2,
    max_size=3,
)
faults = st.builds(
    FaultRates,
    rate_limit=st.sampled_from([0.0, 0.1]),
    server_error=st.sampled_from([0.0, 0.1]),
    malformed=st.sampled_from([0.0, 0.1]),
)


def write_catalog(path: Path, price_of: dict[str, tuple[float, float]]) -> None:
    models = list(PROVIDERS)
    catalog = {
        "models": {
            name: {
                "provider": PROVIDERS[name],
                "quality": 0.8 + 0.04 * i,
                "max_output_tokens": 2048,
                "price": {
                    "input_per_mtok": price_of[name][0],
                    "output_per_mtok": price_of[name][1],
                },
            }
            for i, name in enumerate(models)
        },
        "task_types": {
            t.value: {"threshold": 0.85, "max_iterations": 2, "models": models} for t in TaskType
        },
        "roles": {r.value: models for r in (Role.DECOMPOSE, Role.CRITIQUE, Role.EVALUATE)},
    }
    path.write_text(yaml.safe_dump(catalog))


async def run_jobs(settings_: Settings, specs: list[JobSpec]) -> list[tuple[Decimal, Decimal]]:
    runtime = await Runtime.start(settings_)
    try:
        ids = [await runtime.submit(spec) for spec in specs]
        statuses = await asyncio.gather(*(runtime.wait(i) for i in ids))
        assert all(isinstance(s, ProjectStatus) for s in statuses)
        return [
            (await runtime.store.job_spend(i), Decimal(str(spec.budget_usd)))
            for i, spec in zip(ids, specs, strict=True)
        ]
    finally:
        await runtime.stop()


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    price_of=prices,
    drawn=jobs,
    seed=st.integers(0, 10_000),
    latency=st.sampled_from([0.0, 0.002]),
    fault_rates=faults,
)
def test_total_spend_never_exceeds_the_budget(
    price_of: dict[str, tuple[float, float]],
    drawn: list[tuple[float, int]],
    seed: int,
    latency: float,
    fault_rates: FaultRates,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog.yaml"
        write_catalog(catalog, price_of)
        settings_ = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(tmp) / "data",
            catalog_path=catalog,
            sim_seed=seed,
            sim_latency_scale=latency,
            sim_faults=fault_rates,
            retry_backoff_s=0,
            queue_poll_interval_s=0.02,
        )
        specs = [
            JobSpec(
                project_description="Write a hello world Python script",
                success_criteria="Script prints Hello World",
                budget_usd=budget,
                concurrency=concurrency,
            )
            for budget, concurrency in drawn
        ]
        for spent, budget in asyncio.run(run_jobs(settings_, specs)):
            assert spent <= budget


async def run_out(
    settings_: Settings, budgets: list[float]
) -> tuple[list[tuple[ProjectStatus, Decimal]], int]:
    """Hello jobs (three calls at once) with these budgets: how each ended and what it
    spent; and how many calls were recorded."""
    runtime = await Runtime.start(settings_)
    try:
        ended = []
        for budget in budgets:
            spec = JobSpec(
                project_description="Write a hello world Python script",
                success_criteria="Script prints Hello World",
                budget_usd=budget,
                concurrency=3,
            )
            job_id = await runtime.submit(spec)
            status = await runtime.wait(job_id)
            assert isinstance(status, ProjectStatus)
            spent = await runtime.store.job_spend(job_id)
            calls = await runtime.store.list_calls(job_id=job_id)
            assert spent == sum((Decimal(str(c.cost_usd)) for c in calls), Decimal(0))
            ended.append((status, spent))
        return ended, len(await runtime.store.list_calls())
    finally:
        await runtime.stop()


def test_a_job_that_runs_out_has_used_its_budget(tmp_path: Path) -> None:
    """The last calls fit: the input counted as the simulator bills it (not a token per
    byte), answer caps fitted to what is unspent, waiting for calls in flight to settle."""
    bills = tmp_path / "billing.log"
    settings_ = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        sim_latency_scale=0.002,  # calls of a job overlap
        sim_billing_log=bills,
        queue_poll_interval_s=0.02,
    )
    budgets = [0.004, 0.005, 0.008]
    ended, recorded = asyncio.run(run_out(settings_, budgets))
    ran_out = [
        (spent, Decimal(str(budget)))
        for (status, spent), budget in zip(ended, budgets, strict=True)
        if status is ProjectStatus.BUDGET_EXHAUSTED
    ]
    assert ran_out, ended  # the budgets are tight enough to run out
    for spent, budget in ran_out:
        assert budget * Decimal("0.9") <= spent <= budget, (spent, budget)
    assert len(bills.read_text().splitlines()) == recorded  # every billed call is recorded


# The last calls: the second opinion's own candidate (of a third provider) is dear, and stops
# fitting long before the budget is used; the first reviewer's provider is cheap. Prices are
# the catalog's (the names are unknown to genai-prices), the bill is the wire server's.
LAST_CALLS_MODELS = {
    "gen-o": ("openai", 0.90, 0.15, 0.6),
    "review-g": ("google", 0.95, 0.10, 0.4),
    "review-a": ("anthropic", 0.80, 15.0, 75.0),
}


def write_wire_catalog(
    path: Path, models: dict[str, tuple[str, float, float, float]], reviewers: list[str]
) -> None:
    """A catalog of `models` (provider, quality, input and output USD per million tokens)
    whose task types and plans go to gen-o only and whose reviews go to `reviewers`."""
    catalog = {
        "models": {
            name: {
                "provider": provider,
                "quality": quality,
                "max_output_tokens": 1024,
                "price": {"input_per_mtok": price_in, "output_per_mtok": price_out},
            }
            for name, (provider, quality, price_in, price_out) in models.items()
        },
        "task_types": {
            t.value: {"threshold": 0.9, "max_iterations": 2, "models": ["gen-o"]} for t in TaskType
        },
        "roles": {"decompose": ["gen-o"], "critique": reviewers, "evaluate": reviewers},
    }
    path.write_text(yaml.safe_dump(catalog))


def wire_settings(tmp_path: Path, server: FakeLLMServer) -> Settings:
    """Every real provider pointed at the billing wire `server`, with the catalog written
    to tmp_path/catalog.yaml."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        catalog_path=tmp_path / "catalog.yaml",
        openai_api_key=KEY,
        openai_base_url=f"{server.url}/v1",
        anthropic_api_key=KEY,
        anthropic_base_url=server.url,
        gemini_api_key=KEY,
        gemini_base_url=server.url,
        queue_poll_interval_s=0.02,
    )


def three_summaries(request: WireRequest) -> Answer:
    """A plan of three independent tasks; short text answers (an eighth of their cap); other
    structured answers (evaluations) a small instance of their schema."""
    if request.schema is not None:
        if "tasks" in request.schema.get("properties", {}):
            return {"tasks": [plan_task(f"t{i}") for i in range(1, 4)]}
        return echo(request)
    return " ".join(["word"] * (request.max_tokens // 8))


async def run_alone(
    settings_: Settings, server: FakeLLMServer, budgets: list[float]
) -> list[tuple[ProjectStatus, Decimal, Decimal, Decimal]]:
    """Each job alone against the server: (how it ended, budget, recorded total, bill)."""
    runtime = await Runtime.start(settings_)
    pricing = runtime.deps.pricing
    ended = []
    try:
        for budget in budgets:
            server.bill.clear()
            job_id = await runtime.submit(
                JobSpec(project_description="Summarise three topics", budget_usd=budget)
            )
            status = await runtime.wait(job_id)
            assert isinstance(status, ProjectStatus)
            bill = sum(
                (pricing.cost(b.model, b.input_tokens, b.output_tokens) for b in server.bill),
                Decimal(0),
            )
            money = await runtime.store.job_budget(job_id)
            ended.append((status, money.budget_usd, money.spent_usd, bill))
    finally:
        await runtime.stop()
    return ended


def test_a_job_goes_on_with_cheaper_calls_when_a_dear_one_no_longer_fits(
    tmp_path: Path,
) -> None:
    """The second opinion's only candidate (review-a, of a third provider) costs more than
    these budgets at any answer cap, while the first reviewer's provider (review-g) is cheap:
    the job goes on with review-g's second opinions instead of stopping at the first one. A
    job stops only when nothing fits (then with ≥ 90 % of its budget billed); the bill never
    passes the budget and is what the job recorded. Stopping at the dear call, these jobs ran
    out having used 50-75 % of their budgets.
    """
    write_wire_catalog(tmp_path / "catalog.yaml", LAST_CALLS_MODELS, ["review-g", "review-a"])
    with FakeLLMServer(three_summaries, api_key=KEY, latency_s=(0.005, 0.02)) as server:
        settings_ = wire_settings(tmp_path, server)
        ended = asyncio.run(run_alone(settings_, server, [0.002, 0.003]))
    for status, budget, recorded, bill in ended:
        assert recorded == bill <= budget, ended
        if status is ProjectStatus.BUDGET_EXHAUSTED:
            assert bill >= budget * Decimal("0.9"), ended


# The last calls outside the lists: the task types' only model (gen-o) is dear, the reviewers
# (review-g) cheap, and a cheap model of a third provider (spare-a) is in no list at all.
OUTSIDE_MODELS = {
    "gen-o": ("openai", 0.95, 0.01, 0.4),
    "review-g": ("google", 0.90, 0.001, 0.1),
    "spare-a": ("anthropic", 0.80, 0.001, 0.05),
}


def test_a_last_call_goes_outside_its_models_when_none_of_them_fits(tmp_path: Path) -> None:
    """No call of gen-o (the only model of the plan's and the task types' lists) fits these
    budgets, even with a short answer, while spare-a, in no list at all, does: the plan, the
    generations and the revisions go to spare-a, the reviews to review-g, and a job runs out
    only at its last calls; the bill never passes the budget and is what the job recorded.
    With the last resort kept to the lists, these jobs spent nothing (no plan fitted). At
    these budgets one last review (input counted a token per byte, as without a tokenizer,
    and a 128-token answer) is 15-20 % of the budget: the jobs run out at 75-85 %."""
    write_wire_catalog(tmp_path / "catalog.yaml", OUTSIDE_MODELS, ["review-g"])
    with FakeLLMServer(three_summaries, api_key=KEY, latency_s=(0.005, 0.02)) as server:
        settings_ = wire_settings(tmp_path, server)
        ended = asyncio.run(run_alone(settings_, server, [0.00005, 0.00008]))
        answered_by_spare = any(b.model == "spare-a" for b in server.bill)
    assert any(status is ProjectStatus.BUDGET_EXHAUSTED for status, *_ in ended), ended
    for _status, budget, recorded, bill in ended:
        assert budget * Decimal("0.6") <= recorded == bill <= budget, ended
    assert answered_by_spare
