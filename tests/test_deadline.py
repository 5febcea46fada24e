"""A job's time limit against a provider slower than the limit, on the real adapters.

The call the deadline cuts is the job's doing, not the model's: it neither opens the model's
breaker (shared by every job) nor lowers its trust, now or when a restart replays the calls.
"""

from __future__ import annotations

import time

from conftest import StartRuntime
from fake_llm_servers import FakeLLMServer
from pydantic import SecretStr

from orchestrator.domain import CallOutcome, JobSpec, ProjectStatus
from orchestrator.engine.health import BreakerState, HealthBook

KEY = "sk-deadline-test-2718"
MODEL = "llama3.2"  # the model of an OpenAI-compatible endpoint
# The old per-call timeout ignored the job's deadline: a 1 s job took the full 120 s.
GENEROUS_S = 60


async def test_a_one_second_limit_ends_the_job_without_blaming_the_model(
    start_runtime: StartRuntime,
) -> None:
    with FakeLLMServer(latency_s=(600.0, 600.0)) as server:
        runtime = await start_runtime(
            openai_compat_base_url=f"{server.url}/v1",
            openai_compat_api_key=SecretStr(KEY),
        )
        started = time.monotonic()
        job_id = await runtime.submit(JobSpec(project_description="slow", time_limit_s=1.0))
        status = await runtime.wait(job_id)
        took = time.monotonic() - started
        assert server.requests  # the call went out and was cut, not refused before
    assert status is ProjectStatus.TIMEOUT
    assert took < GENEROUS_S
    calls = await runtime.store.list_calls(job_id=job_id)
    assert calls and {c.outcome for c in calls} == {CallOutcome.DEADLINE}
    stats = runtime.deps.health.snapshot(MODEL)
    assert stats.breaker is BreakerState.CLOSED and stats.consecutive_failures == 0
    assert stats.trust_factor == 1.0 and stats.failure_count == 0
    restarted = HealthBook()
    restarted.seed_from(await runtime.store.list_calls())
    assert restarted.snapshot(MODEL).trust_factor == 1.0
