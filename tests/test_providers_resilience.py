"""The engine's resilience with the real adapters: real SDKs against local wire-format servers.

Retries honour Retry-After, a failing model's breaker opens, the call falls back to another
provider, the breaker closes after its cool-down, 401 takes a model out for the job with a
readable (key-free) log line, and unconfigured providers are skipped without noise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fake_llm_servers import FakeLLMServer, clear_provider_env
from test_executor import Control, RecordingSleep

from orchestrator.config import DEFAULT_CATALOG, Settings, load_catalog
from orchestrator.domain import CallOutcome, Evaluation, Role, TaskType
from orchestrator.engine.calls_api import CallSpec
from orchestrator.engine.executor import CallExecutor
from orchestrator.engine.health import BreakerState, HealthBook
from orchestrator.engine.ledger import MemoryLedger
from orchestrator.engine.routing import Router
from orchestrator.providers import Pricing, build_clients

CATALOG = load_catalog(DEFAULT_CATALOG)
PRICING = Pricing(CATALOG)
KEY = "sk-resilience-test-5a4b3c2d"
# gpt-4o ranks well above claude-haiku-4-5 (see the catalog), so OpenAI answers first, and
# still does after three failures cut its trust by 14%.
PREFER = ["gpt-4o", "claude-haiku-4-5"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    """One job's executor over real adapters for OpenAI and Anthropic, on two fake servers."""

    def __init__(self, openai: FakeLLMServer, anthropic: FakeLLMServer | None, **kw: float) -> None:
        fields: dict[str, object] = {
            "openai_api_key": KEY,
            "openai_base_url": f"{openai.url}/v1",
            "call_retries": 2,
            "retry_backoff_s": 0.01,
            "call_timeout_s": 5.0,
            **kw,
        }
        if anthropic is not None:
            fields.update(anthropic_api_key=KEY, anthropic_base_url=anthropic.url)
        settings = Settings(_env_file=None, **fields)  # type: ignore[arg-type, call-arg]
        self.clock = Clock()
        self.health = HealthBook(self.clock, cooldown_s=30)
        self.ledger = MemoryLedger("1")
        self.sleep = RecordingSleep()
        self.executor = CallExecutor(
            job_id="job1",
            clients=build_clients(settings, CATALOG),
            router=Router(CATALOG, PRICING, self.health),
            pricing=PRICING,
            ledger=self.ledger,
            health=self.health,
            control=Control(),
            settings=settings,
            sleep=self.sleep,
        )


def gen(task_id: str, **kw: object) -> CallSpec:
    fields: dict[str, object] = {
        "role": Role.GENERATE,
        "task_id": task_id,
        "task_type": TaskType.SUMMARIZATION,
        "iteration": 1,
        "system": "You are a careful writer.",
        "prompt": "Summarise the design in three bullet points.",
        "prefer": PREFER,
    }
    return CallSpec.model_validate({**fields, **kw})


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_provider_env(monkeypatch)


@pytest.fixture
def servers() -> Iterator[tuple[FakeLLMServer, FakeLLMServer]]:
    with FakeLLMServer(api_key=KEY) as openai, FakeLLMServer(api_key=KEY) as anthropic:
        yield openai, anthropic


async def test_breaker_opens_falls_back_to_another_provider_and_closes_after_cooldown(
    servers: tuple[FakeLLMServer, FakeLLMServer],
) -> None:
    openai, anthropic = servers
    rig = Rig(openai, anthropic)
    openai.script.extend(["server_error"] * 3)

    first = await rig.executor(gen("t1"))
    assert (first.model, first.provider) == ("claude-haiku-4-5", "anthropic")
    outcomes = [(r.model, r.outcome) for r in rig.ledger.rows]
    assert outcomes == [("gpt-4o", CallOutcome.ERROR)] * 3 + [("claude-haiku-4-5", CallOutcome.OK)]
    assert len(rig.sleep.delays) == 2  # two retries of gpt-4o, then the fallback
    assert rig.health.state("gpt-4o") is BreakerState.OPEN

    second = await rig.executor(gen("t2"))
    assert second.model == "claude-haiku-4-5"
    assert len(openai.requests) == 3  # the open breaker kept the call away from OpenAI

    rig.clock.now += 30  # the cool-down: half-open, one probe may go
    third = await rig.executor(gen("t3"))
    assert third.model == "gpt-4o"
    assert rig.health.state("gpt-4o") is BreakerState.CLOSED
    assert len(openai.requests) == 4

    assert rig.ledger.spent == sum(Decimal(str(r.cost_usd)) for r in rig.ledger.rows)
    assert rig.ledger.spent > 0 and rig.executor.overruns == 0


async def test_retry_after_is_honoured_then_the_same_model_answers(
    servers: tuple[FakeLLMServer, FakeLLMServer],
) -> None:
    openai, anthropic = servers
    rig = Rig(openai, anthropic)
    openai.script.append("rate_limit")  # with `retry-after: 2`
    result = await rig.executor(gen("t1"))
    assert result.model == "gpt-4o"
    assert [r.outcome for r in rig.ledger.rows] == [CallOutcome.RATE_LIMITED, CallOutcome.OK]
    assert len(rig.sleep.delays) == 1 and rig.sleep.delays[0] >= 2.0
    assert anthropic.requests == []


async def test_a_refused_key_takes_the_model_out_with_a_readable_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeLLMServer(api_key="not-our-key") as openai, FakeLLMServer(api_key=KEY) as anthropic:
        rig = Rig(openai, anthropic)
        notes: list[str] = []
        rig.executor.note = notes.append  # the job's own log
        with caplog.at_level(logging.WARNING, logger="orchestrator.engine.executor"):
            assert (await rig.executor(gen("t1"))).model == "claude-haiku-4-5"
            assert (await rig.executor(gen("t2"))).model == "claude-haiku-4-5"
        assert len(openai.requests) == 1  # no retry, and never again in this job
    assert "gpt-4o" in rig.executor.unavailable
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("gpt-4o is unavailable for job job1: openai gpt-4o: HTTP 401")
    assert "Incorrect API key provided: ***" in line and KEY not in caplog.text
    [note] = notes
    assert note.startswith("gpt-4o is unavailable for the rest of this job: openai gpt-4o: HTTP")
    assert KEY not in note


async def test_a_slow_provider_times_out_and_another_answers(
    servers: tuple[FakeLLMServer, FakeLLMServer],
) -> None:
    openai, anthropic = servers
    rig = Rig(openai, anthropic, call_timeout_s=0.3, call_retries=0)
    openai.script.append("slow")
    result = await rig.executor(gen("t1"))
    assert result.model == "claude-haiku-4-5"
    assert [r.outcome for r in rig.ledger.rows] == [CallOutcome.TIMEOUT, CallOutcome.OK]


async def test_malformed_structured_output_is_retried(
    servers: tuple[FakeLLMServer, FakeLLMServer],
) -> None:
    openai, anthropic = servers
    openai.responder = lambda request: {"score": 0.9, "reasoning": "fine"}
    rig = Rig(openai, anthropic)
    openai.script.append("malformed")  # cut-off tool-call arguments
    spec = gen("t1", role=Role.EVALUATE, json_schema=Evaluation.model_json_schema())
    result = await rig.executor(spec)
    assert Evaluation.model_validate_json(result.text).score == 0.9
    assert [r.outcome for r in rig.ledger.rows] == [CallOutcome.MALFORMED, CallOutcome.OK]


async def test_with_one_provider_configured_its_own_critic_answers_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeLLMServer(api_key=KEY) as openai:
        rig = Rig(openai, None)
        critique = CallSpec(
            role=Role.CRITIQUE,
            task_id="t1",
            iteration=1,
            system="Critique.",
            prompt="Critique this summary.",
            avoid_providers=["openai"],  # the generator's provider: preferred against, not banned
        )
        with caplog.at_level(logging.WARNING):
            result = await rig.executor(critique)
    assert result.ok and result.provider == "openai"
    assert caplog.records == []  # unconfigured providers are no outage: nothing to warn about
    assert "gemini-3.5-flash-lite" in rig.executor.unavailable  # skipped, never called
    assert {r.model for r in rig.ledger.rows} == {result.model}
