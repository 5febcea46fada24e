"""Whole jobs through the durable runtime on real adapters: providers are local fake servers.

Nothing here injects clients: the runtime builds them from settings (`build_clients`), so a
job takes the same path as with real API keys, down to the SDKs' HTTP requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import StartRuntime
from fake_llm_servers import Answer, FakeLLMServer, WireRequest, clear_provider_env, echo
from pydantic import SecretStr
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.config import Settings
from orchestrator.domain import (
    CallOutcome,
    CallRecord,
    JobRecord,
    JobSpec,
    ProjectStatus,
    Role,
    TaskState,
    TaskStatus,
)
from orchestrator.engine.health import BreakerState, HealthBook
from orchestrator.store import Store

KEY = "sk-runtime-test-31415926"
SPEC = JobSpec(
    project_description="Summarise three topics about distributed systems",
    success_criteria="Each summary is two sentences",
    budget_usd=0.5,
    concurrency=2,
)


def plan_node(task_id: str, deps: list[str]) -> dict[str, object]:
    prompt = f"Summarise topic {task_id} in two sentences."
    return {"id": task_id, "type": "summarization", "prompt": prompt, "dependencies": deps}


def job_answers(request: WireRequest) -> Answer:
    """What a cooperative model answers: a plan, a passing score, or prose."""
    properties = (request.schema or {}).get("properties", {})
    if "tasks" in properties:
        return {"tasks": [plan_node("a", []), plan_node("b", ["a"]), plan_node("c", [])]}
    if "score" in properties:
        return {"score": 0.95, "reasoning": "Two clear sentences; meets the criteria."}
    if request.schema is not None:  # another structure (a provider check): a valid instance
        return echo(request)
    return "Consensus lets replicas agree on one value. Raft elects a leader to order writes."


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_provider_env(monkeypatch)


@pytest.fixture
def compat_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(job_answers) as server:
        yield server


async def test_a_job_with_30_percent_faults_across_providers_finishes_within_budget(
    start_runtime: StartRuntime,
) -> None:
    observed: list[BreakerState] = []
    health: list[HealthBook] = []

    def answers(request: WireRequest) -> Answer:
        # The first request after the plan: the decomposition's fallbacks are over.
        if not observed and "tasks" not in (request.schema or {}).get("properties", {}):
            observed.append(health[0].state("gemini-3.8-flash"))
        return job_answers(request)

    kinds = ("rate_limit", "server_error", "slow", "malformed", "bad_json")
    fast = {"retry-after-ms": "20"}
    with ExitStack() as stack:
        faulty = {"api_key": KEY, "fault_rate": 0.3, "fault_kinds": kinds, "retry_after": fast}
        # Seeds whose first draw is a fault, so every provider fails at least once whatever
        # share of the calls routing sends it; the rest of the draws are ~30% faults.
        seeds = {"anthropic": 4, "openai": 1, "gemini": 3}
        servers = {
            name: stack.enter_context(FakeLLMServer(answers, seed=seed, **faulty))  # type: ignore[arg-type]
            for name, seed in seeds.items()
        }
        # Gemini 3.8 Flash ranks first for decomposition: its first three answers fail, so its
        # breaker opens and the plan comes from another provider.
        servers["gemini"].script.extend(["server_error"] * 3)
        runtime = await start_runtime(
            anthropic_api_key=SecretStr(KEY),
            anthropic_base_url=servers["anthropic"].url,
            openai_api_key=SecretStr(KEY),
            openai_base_url=f"{servers['openai'].url}/v1",
            gemini_api_key=SecretStr(KEY),
            gemini_base_url=servers["gemini"].url,
            call_timeout_s=1.0,
            retry_backoff_s=0.01,
        )
        health.append(runtime.deps.health)
        job_id = await runtime.submit(SPEC)
        status = await runtime.wait(job_id)
        faults = sum(sum(s.faults.values()) for s in servers.values())
        requests = sum(len(s.requests) for s in servers.values())

    assert status in (ProjectStatus.SUCCESS, ProjectStatus.PARTIAL_SUCCESS)
    store = runtime.store
    tasks = await store.list_tasks(job_id)
    assert sorted(t.task_id for t in tasks) == ["a", "b", "c"]  # the model's plan, not a fallback
    finished = (TaskStatus.COMPLETED, TaskStatus.DEGRADED, TaskStatus.FAILED, TaskStatus.SKIPPED)
    assert all(t.status in finished for t in tasks)
    assert (status is ProjectStatus.SUCCESS) == all(t.status is TaskStatus.COMPLETED for t in tasks)

    calls = await store.list_calls(job_id=job_id)
    # Every request the servers saw is a recorded attempt (an attempt may time out unsent).
    assert 0 < requests <= len(calls)
    failed = [c for c in calls if c.outcome is not CallOutcome.OK]
    assert len(failed) >= faults >= 6  # every injected fault fails its attempt
    assert {c.provider for c in failed} == {"anthropic", "openai", "google"}

    plan_calls = [c for c in calls if c.role is Role.DECOMPOSE]
    assert [c.model for c in plan_calls[:3]] == ["gemini-3.8-flash"] * 3
    assert all(c.outcome is not CallOutcome.OK for c in plan_calls[:3])  # 500s (or timeouts)
    planned_by = next(c for c in plan_calls if c.outcome is CallOutcome.OK)
    assert planned_by.provider != "google"  # the fallback changed provider
    assert observed == [BreakerState.OPEN]

    spent = await store.job_spend(job_id)
    assert spent == sum(Decimal(str(c.cost_usd)) for c in calls)
    assert 0 < spent <= Decimal(str(SPEC.budget_usd))
    assert (await store.get_job(job_id)).total_cost <= SPEC.budget_usd
    assert runtime.deps.health.snapshot("gemini-3.8-flash").trust_factor < 1


def test_cli_runs_a_job_on_an_openai_compatible_endpoint_and_lists_its_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compat_server: FakeLLMServer
) -> None:
    """`orchestrator run` → the runtime → the real OpenAI adapter → the fake endpoint; then
    `orchestrator models` rebuilds the model's statistics from the store in a fresh process
    state, and `--check` calls the endpoint once more."""
    monkeypatch.chdir(tmp_path)  # no stray .env; result files land here
    monkeypatch.setenv("ORCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCH_OPENAI_COMPAT_BASE_URL", f"{compat_server.url}/v1")
    monkeypatch.setenv("ORCH_OPENAI_COMPAT_API_KEY", KEY)
    monkeypatch.setenv("COLUMNS", "160")  # rich tables at full width
    runner = CliRunner()

    ran = runner.invoke(app, ["run", SPEC.project_description, "--budget", "0.5"])
    assert ran.exit_code == 0, ran.output
    assert "SUCCESS" in ran.output and "simulated" not in ran.output
    job, tasks, calls = asyncio.run(_only_job(Settings(_env_file=None)))  # type: ignore[call-arg]
    assert not job.simulated and job.total_cost == 0  # the example local model is free
    assert sorted(t.task_id for t in tasks) == ["a", "b", "c"]  # the model's plan
    assert all(t.status is TaskStatus.COMPLETED and t.model == "llama3.2" for t in tasks)
    assert {(c.model, c.provider, c.simulated, c.outcome) for c in calls} == {
        ("llama3.2", "openai_compat", False, CallOutcome.OK)
    }
    sent = compat_server.requests
    assert len(sent) == len(calls) and all(r.api_key == KEY for r in sent)
    plans = [r for r in sent if "tasks" in (r.schema or {}).get("properties", {})]
    # Decomposition: structured output, as json_schema (what `auto` tries first).
    assert len(plans) == 1 and plans[0].mode == "native"

    listed = runner.invoke(app, ["models"])
    assert listed.exit_code == 0, listed.output
    assert "openai_compat (ORCH_OPENAI_COMPAT_BASE_URL)" in listed.output
    [row] = [line for line in listed.output.splitlines() if "llama3.2" in line]
    assert "ready" in row and f" {len(calls)} (0) " in row and "100%" in row
    assert "gpt-4o" not in listed.output  # not configured: listed only with --all
    assert "not configured" in runner.invoke(app, ["models", "--all"]).output

    checked = runner.invoke(app, ["models", "--check"])
    assert checked.exit_code == 0, checked.output
    assert "all 1 provider(s) answered" in checked.output
    assert len(sent) == len(calls) + 1 and sent[-1].mode == "native"
    assert "json_schema (auto)" in checked.output  # the mode the endpoint answers in
    assert KEY not in ran.output + listed.output + checked.output


async def _only_job(settings: Settings) -> tuple[JobRecord, list[TaskState], list[CallRecord]]:
    store = await Store.open(settings.store_url)
    try:
        [job], _ = await store.list_jobs()
        return job, await store.list_tasks(job.job_id), await store.list_calls(job_id=job.job_id)
    finally:
        await store.close()


def test_cli_models_says_when_the_simulator_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCH_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    listed = runner.invoke(app, ["models"])
    assert listed.exit_code == 0 and "simulated" in listed.output
    assert "no provider is configured" in listed.output
    checked = runner.invoke(app, ["models", "--check"])
    assert checked.exit_code == 1 and "nothing to check" in checked.output


def test_settings_fixture_has_no_provider(settings: Settings) -> None:
    # The shared `settings` fixture is built after this module clears the provider variables.
    assert settings.openai_api_key is None and settings.openai_compat_base_url is None
