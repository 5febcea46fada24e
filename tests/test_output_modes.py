"""Structured output an OpenAI-compatible server accepts, malformed answers and context limits,
against the fake wire server (the real OpenAI SDK and pydantic-ai code path).

Modes (orchestrator/providers/output_modes.py): `auto` starts with json_schema and moves on
only when the server refuses the mode itself; a set mode never moves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fake_llm_servers import Answer, FakeLLMServer, WireRequest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.config import DEFAULT_CATALOG, OutputSetting, Settings, load_catalog
from orchestrator.domain import CallOutcome, Evaluation, Role
from orchestrator.engine.calls_api import CallSpec, CallStatus
from orchestrator.engine.executor import CallExecutor
from orchestrator.engine.health import BreakerState, HealthBook
from orchestrator.engine.ledger import MemoryLedger
from orchestrator.engine.routing import Router
from orchestrator.errors import ContextTooLong, ProviderError
from orchestrator.providers import Pricing, build_clients
from orchestrator.providers.base import LLMRequest

MODEL = "llama3.2"  # the default catalog's OpenAI-compatible model


def scores(request: WireRequest) -> Answer:
    if request.schema is not None:
        return {"score": 0.9, "reasoning": "fine"}
    return "plain text"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(scores) as fake:
        yield fake


def settings_for(server: FakeLLMServer, output: OutputSetting = "auto", **more: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        openai_compat_base_url=f"{server.url}/v1",
        openai_compat_output=output,
        retry_backoff_s=0,
        **more,  # type: ignore[arg-type]
    )


def evaluation_request(prompt: str = "Score this.") -> LLMRequest:
    return LLMRequest(
        model=MODEL,
        role=Role.EVALUATE,
        system="You are an evaluator.",
        prompt=prompt,
        max_tokens=200,
        json_schema=Evaluation.model_json_schema(),
        schema_name="evaluation",
    )


async def ask_twice(settings: Settings) -> list[str]:
    """Two structured calls through one client (one process); the modes they went out in."""
    client = build_clients(settings, settings.catalog).for_model(MODEL)
    described = []
    for _ in range(2):
        response = await client.complete(evaluation_request())
        assert Evaluation.model_validate_json(response.text).score == 0.9
        described.append(response.output_mode)
    return described


async def test_auto_uses_json_schema_where_the_server_takes_it(server: FakeLLMServer) -> None:
    described = await ask_twice(settings_for(server))

    assert [r.mode for r in server.requests] == ["native", "native"]
    assert described == ["json_schema (auto)"] * 2
    assert len(server.bill) == 2


async def test_json_schema_refused_moves_to_json_object_with_the_schema_once(
    server: FakeLLMServer,
) -> None:
    server.refuses = {"json_schema"}  # llama-cpp-python's server

    described = await ask_twice(settings_for(server))

    # Refused once, then json_object for good: the second call goes straight to it.
    assert [r.mode for r in server.requests] == ["native", "json_object", "json_object"]
    sent = server.requests[-1].body["response_format"]
    # The answer cap as `max_tokens`, which every local server knows.
    assert server.requests[-1].body["max_tokens"] == 200
    assert "max_completion_tokens" not in server.requests[-1].body
    assert sent["type"] == "json_object"
    assert set(sent["schema"]["properties"]) == {"score", "reasoning"}
    assert described[0].startswith("json_object (auto; the server refused json_schema")
    assert "HTTP 500" in described[0]  # its request validation error
    assert len(server.bill) == 2  # the refused request was not billed, nor paid


async def test_a_server_without_response_format_or_tools_gets_prompted_json(
    server: FakeLLMServer,
) -> None:
    server.refuses = {"json_schema", "response_format", "tools"}

    described = await ask_twice(settings_for(server))

    modes = [r.mode for r in server.requests]
    assert modes == ["native", "json_object", "tool", "prompted", "prompted"]
    last = server.requests[-1].body
    assert "response_format" not in last and "tools" not in last
    assert described[-1].startswith("prompted (auto; the server refused json_schema")
    assert "tool (" in described[-1]


async def test_tools_refused_moves_a_tool_endpoint_in_auto_only(server: FakeLLMServer) -> None:
    server.refuses = {"tools"}
    client = build_clients(settings_for(server, "tool"), Settings().catalog).for_model(MODEL)

    # A mode that was set is kept, and its refusal is an error that says what was refused.
    with pytest.raises(ProviderError, match="tools are not supported"):
        await client.complete(evaluation_request())
    assert [r.mode for r in server.requests] == ["tool"]


async def test_the_set_json_object_mode_is_used_from_the_first_call(
    server: FakeLLMServer,
) -> None:
    described = await ask_twice(settings_for(server, "json_object"))

    assert [r.mode for r in server.requests] == ["json_object", "json_object"]
    assert described == ["json_object (set by ORCH_OPENAI_COMPAT_OUTPUT)"] * 2


class Control:
    deadline = time.time() + 3600

    def cancelled(self) -> bool:
        return False


def executor_for(settings: Settings, notes: list[str]) -> tuple[CallExecutor, HealthBook]:
    catalog = settings.catalog
    pricing = Pricing(catalog)
    health = HealthBook()
    executor = CallExecutor(
        job_id="job00001",
        clients=build_clients(settings, catalog),
        router=Router(catalog, pricing, health),
        pricing=pricing,
        ledger=MemoryLedger("1"),
        health=health,
        control=Control(),
        settings=settings,
        note=notes.append,
    )
    return executor, health


def evaluation_spec(prompt: str = "Score this.") -> CallSpec:
    return CallSpec(
        role=Role.EVALUATE,
        task_id="task_001",
        system="You are an evaluator.",
        prompt=prompt,
        json_schema=Evaluation.model_json_schema(),
        schema_name="evaluation",
        max_tokens=200,
    )


async def test_a_malformed_answer_is_reasked_with_what_was_wrong(server: FakeLLMServer) -> None:
    server.script.extend(["malformed"])
    notes: list[str] = []
    executor, health = executor_for(settings_for(server), notes)

    result = await executor(evaluation_spec())

    assert result.ok and Evaluation.model_validate_json(result.text).score == 0.9
    first, second = server.requests
    assert "previous answer could not be used" not in first.prompt
    assert "Your previous answer could not be used" in second.prompt
    assert "not valid JSON" in second.prompt or "Invalid JSON" in second.prompt
    calls = await executor.ledger.attempts(
        job_id="job00001", task_id="task_001", iteration=0, role=Role.EVALUATE, slot=0
    )
    assert [c.outcome for c in calls] == [CallOutcome.MALFORMED, CallOutcome.OK]
    # Both answers are billed by the server and recorded with its counts.
    assert [(c.input_tokens, c.output_tokens) for c in calls] == [
        (b.input_tokens, b.output_tokens) for b in server.bill
    ]
    assert health.state(MODEL) is BreakerState.CLOSED
    assert notes == [f"{MODEL} gives structured output as json_schema (auto)"]


async def test_malformed_answers_fail_the_call_with_counted_reasons_not_the_breaker(
    server: FakeLLMServer,
) -> None:
    server.script.extend(["malformed"] * 20)
    executor, health = executor_for(settings_for(server, call_retries=2), [])

    result = await executor(evaluation_spec())
    again = await executor(evaluation_spec("Score that."))

    assert result.status is CallStatus.FAILED
    assert result.error.startswith(f"{MODEL}: 4 malformed answers (last: {MODEL}: ")
    # The only model is still there for the next call: malformed answers are no outage.
    assert health.state(MODEL) is BreakerState.CLOSED
    assert again.status is CallStatus.FAILED and len(server.requests) == 8


async def test_a_context_length_error_is_its_own_class_and_not_retried(
    server: FakeLLMServer,
) -> None:
    server.context_tokens = 600  # says nothing of it: the catalog and settings do not either
    client = build_clients(settings_for(server), Settings().catalog).for_model(MODEL)
    with pytest.raises(ContextTooLong, match="maximum context length is 600 tokens"):
        await client.complete(evaluation_request("word " * 1000))

    executor, health = executor_for(settings_for(server), [])
    before = len(server.requests)
    result = await executor(evaluation_spec("word " * 1000))

    assert result.status is CallStatus.FAILED
    assert "1 prompt too long for its context" in result.error
    assert len(server.requests) == before + 1  # never sent again as it was
    assert health.state(MODEL) is BreakerState.CLOSED


async def test_a_prompt_longer_than_the_servers_context_is_cut_before_sending(
    server: FakeLLMServer,
) -> None:
    server.context_tokens = 2048
    server.tells_context = True  # llama.cpp's GET /props
    notes: list[str] = []
    executor, _ = executor_for(settings_for(server), notes)
    lines = [f"line {i}: " + "dependency output " * 8 for i in range(400)]
    prompt = "TASK: score the output.\n" + "\n".join(lines) + "\nEND: answer now."

    result = await executor(evaluation_spec(prompt))

    assert result.ok
    [sent] = server.requests
    assert sent.prompt.startswith("TASK: score the output.\nline 0: ")
    assert sent.prompt.endswith("line 399: " + "dependency output " * 8 + "\nEND: answer now.")
    assert "lines cut here to fit the model's context" in sent.prompt
    assert len(json.dumps(sent.body)) // 4 + sent.max_tokens <= 2048
    [cut] = [n for n in notes if "does not fit" in n]
    assert cut.startswith(f"{MODEL}: the prompt (~") and "context of 2048 tokens" in cut


def test_discover_lists_the_servers_models_and_writes_a_user_catalog(
    server: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.models = ["qwen2.5-coder:7b", MODEL]
    server.context_tokens = 32768
    server.tells_context = True
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCH_OPENAI_COMPAT_BASE_URL", f"{server.url}/v1")
    runner = CliRunner()

    printed = runner.invoke(app, ["models", "--discover"])
    assert printed.exit_code == 0, printed.output
    listed = yaml.safe_load(printed.output.split("\n2 model(s)")[0])["models"]
    assert listed["qwen2.5-coder:7b"] == {
        "provider": "openai_compat",
        "quality": 0.6,
        "context_tokens": 32768,
        "max_output_tokens": 2048,
        "price": {"input_per_mtok": 0, "output_per_mtok": 0},
    }
    # Without a catalog of one's own, nothing is written.
    refused = runner.invoke(app, ["models", "--discover", "--write"])
    assert refused.exit_code == 2 and "ORCH_CATALOG_PATH" in refused.output

    mine = tmp_path / "my-catalog.yaml"
    monkeypatch.setenv("ORCH_CATALOG_PATH", str(mine))
    written = runner.invoke(app, ["models", "--discover", "--write"])
    assert written.exit_code == 0, written.output
    assert "added to" in written.output and "qwen2.5-coder:7b" in written.output
    catalog = load_catalog(mine)  # a valid catalog: the default one plus the new model
    assert catalog.models["qwen2.5-coder:7b"].context_tokens == 32768
    assert catalog.models[MODEL] == load_catalog(DEFAULT_CATALOG).models[MODEL]
    assert all("qwen2.5-coder:7b" in p.models for p in catalog.task_types.values())
    assert all("qwen2.5-coder:7b" in names for names in catalog.roles.values())
    again = runner.invoke(app, ["models", "--discover", "--write"])
    assert again.exit_code == 0 and "none (all were there)" in again.output


def test_discover_without_a_server_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCH_OPENAI_COMPAT_BASE_URL", raising=False)
    refused = CliRunner().invoke(app, ["models", "--discover"])
    assert refused.exit_code == 2
    assert "set ORCH_OPENAI_COMPAT_BASE_URL" in refused.output
