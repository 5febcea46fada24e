"""Every provider adapter through the real SDK, against a local server speaking its wire format."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fake_llm_servers import FakeLLMServer, WireRequest, clear_provider_env

from orchestrator.config import DEFAULT_CATALOG, Settings, load_catalog
from orchestrator.domain import Evaluation, Role
from orchestrator.errors import (
    AuthFailed,
    MalformedOutput,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from orchestrator.plan import Plan
from orchestrator.providers import (
    LLMRequest,
    Pricing,
    input_token_bound,
    structured_output_bound,
)
from orchestrator.providers._pydantic_ai import PydanticAIClient
from orchestrator.providers.registry import build_clients

CATALOG = load_catalog(DEFAULT_CATALOG)
KEY = "sk-test-0123456789abcdef"
# provider → (a catalog model it serves, the wire it speaks, settings that point it at `url`)
PROVIDERS = {
    "anthropic": ("claude-haiku-4-5", "anthropic", "anthropic_api_key", "anthropic_base_url", ""),
    "openai": ("gpt-4o-mini", "openai", "openai_api_key", "openai_base_url", "/v1"),
    "google": ("gemini-3.5-flash-lite", "gemini", "gemini_api_key", "gemini_base_url", ""),
    "deepseek": ("deepseek-chat", "openai", "deepseek_api_key", "deepseek_base_url", "/v1"),
    "moonshot": ("kimi-k2.6", "openai", "moonshot_api_key", "moonshot_base_url", "/v1"),
    "openrouter": (
        "meta-llama/llama-3.3-70b-instruct",
        "openai",
        "openrouter_api_key",
        "openrouter_base_url",
        "/v1",
    ),
    "openai_compat": (
        "llama3.2",
        "openai",
        "openai_compat_api_key",
        "openai_compat_base_url",
        "/v1",
    ),
}


def settings_for(provider: str, url: str, **overrides: object) -> Settings:
    _, _, key_field, url_field, suffix = PROVIDERS[provider]
    fields: dict[str, object] = {key_field: KEY, url_field: url + suffix, "call_timeout_s": 5.0}
    return Settings(_env_file=None, **{**fields, **overrides})  # type: ignore[arg-type, call-arg]


def client_for(provider: str, url: str, **overrides: object) -> PydanticAIClient:
    clients = build_clients(settings_for(provider, url, **overrides), CATALOG).clients
    assert len(clients) == 1 and isinstance(clients[0], PydanticAIClient)
    return clients[0]


def ask(provider: str, *, structured: bool = False, max_tokens: int = 200) -> LLMRequest:
    return LLMRequest(
        model=PROVIDERS[provider][0],
        role=Role.EVALUATE if structured else Role.GENERATE,
        system="You are terse.",
        prompt="Rate the answer 'Paris' to 'capital of France?'",
        max_tokens=max_tokens,
        json_schema=Evaluation.model_json_schema() if structured else None,
        schema_name="evaluation" if structured else None,
    )


def scorer(request: WireRequest) -> str | dict[str, object]:
    if request.schema is not None:
        return {"score": 0.9, "reasoning": "correct"}
    return f"{request.wire} says hello to {request.model}"


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_provider_env(monkeypatch)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(scorer, api_key=KEY) as fake:
        yield fake


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# One provider per wire format (and OpenRouter's own model class), for the fault mapping:
# the OpenAI-wire providers share one SDK and one error path.
@pytest.fixture(params=["anthropic", "google", "openai", "openrouter"])
def wire_provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_text_answer_with_usage_and_cost(server: FakeLLMServer, provider: str) -> None:
    model, wire = PROVIDERS[provider][:2]
    response = await client_for(provider, server.url).complete(ask(provider))

    assert response.text == f"{wire} says hello to {model}"
    assert (response.model, response.provider, response.simulated) == (model, provider, False)
    sent = server.requests[-1]
    assert (sent.wire, sent.model, sent.api_key, sent.mode) == (wire, model, KEY, "text")
    assert sent.system == "You are terse." and sent.prompt.startswith("Rate the answer")
    assert sent.max_tokens == 200
    # The server bills a quarter of the request's bytes and of the answer's characters.
    assert response.input_tokens > 10 and response.output_tokens == len(response.text) // 4
    pricing = Pricing(CATALOG)
    cost = pricing.cost(model, response.input_tokens, response.output_tokens)
    assert (cost > 0) is (provider != "openai_compat")  # the local model is free
    assert cost <= pricing.worst_case(model, "You are terse.", sent.prompt, 200)


async def test_structured_output_is_forced_and_returned_as_json(
    server: FakeLLMServer, provider: str
) -> None:
    request = ask(provider, structured=True)
    response = await client_for(provider, server.url).complete(request)

    assert Evaluation.model_validate_json(response.text) == Evaluation(
        score=0.9, reasoning="correct"
    )
    sent = server.requests[-1]
    # An OpenAI-compatible endpoint is first asked for native JSON schema output (`auto`).
    assert sent.mode == ("native" if provider == "openai_compat" else "tool")
    assert sent.schema is not None and set(sent.schema["properties"]) == {"score", "reasoning"}
    assert request.json_schema == Evaluation.model_json_schema()  # the request is not mutated
    pricing = Pricing(CATALOG)
    cost = pricing.cost(request.model, response.input_tokens, response.output_tokens)
    schema = request.json_schema
    assert cost <= pricing.worst_case(
        request.model, request.system, request.prompt, request.max_tokens, json_schema=schema
    )


async def test_429_is_rate_limited_with_retry_after(server: FakeLLMServer, provider: str) -> None:
    server.script.append("rate_limit")
    with pytest.raises(RateLimited) as caught:
        await client_for(provider, server.url).complete(ask(provider))
    assert caught.value.retry_after == 2.0
    assert (caught.value.provider, caught.value.model) == (provider, PROVIDERS[provider][0])
    assert "HTTP 429" in str(caught.value)
    assert len(server.requests) == 1  # one attempt: the SDK does not retry behind our back


async def test_retry_after_ms_is_read_too() -> None:
    with FakeLLMServer(scorer, retry_after={"retry-after-ms": "250"}) as fake:
        fake.script.append("rate_limit")
        with pytest.raises(RateLimited) as caught:
            await client_for("openai", fake.url).complete(ask("openai"))
    assert caught.value.retry_after == 0.25


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("server_error", ProviderUnavailable),
        ("not_found", ModelNotFound),
        ("forbidden", AuthFailed),
        ("bad_json", MalformedOutput),
    ],
)
async def test_failures_map_to_orchestrator_errors(
    server: FakeLLMServer, wire_provider: str, fault: str, error: type[ProviderError]
) -> None:
    server.script.append(fault)
    client = client_for(wire_provider, server.url)
    with pytest.raises(error) as caught:
        await client.complete(ask(wire_provider, structured=True))
    assert type(caught.value) is error
    assert caught.value.__cause__ is not None  # the SDK's error is kept as the cause
    assert len(server.requests) == 1


@pytest.mark.parametrize("structured", [True, False], ids=["structured", "text"])
async def test_an_answer_of_the_wrong_shape_is_malformed(
    server: FakeLLMServer, wire_provider: str, structured: bool
) -> None:
    server.script.append("malformed")
    client = client_for(wire_provider, server.url)
    with pytest.raises(MalformedOutput):
        await client.complete(ask(wire_provider, structured=structured))
    assert len(server.requests) == 1  # pydantic-ai's own output retries are off


async def test_401_is_auth_failed_without_the_key_in_the_message(provider: str) -> None:
    with FakeLLMServer(scorer, api_key="the-right-key") as fake:
        with pytest.raises(AuthFailed) as caught:
            await client_for(provider, fake.url).complete(ask(provider))
        assert fake.requests[0].api_key == KEY  # we sent ours; the server refused it
    message = str(caught.value)
    assert "HTTP 401" in message and "Incorrect API key provided: ***" in message
    assert KEY not in message and KEY not in repr(caught.value)


async def test_a_slow_answer_times_out(provider: str) -> None:
    with FakeLLMServer(scorer) as fake:
        fake.script.append("slow")
        client = client_for(provider, fake.url, call_timeout_s=0.3)
        with pytest.raises(ProviderTimeout):
            await client.complete(ask(provider))
        fake.script.append(None)
        assert (await client.complete(ask(provider))).text  # the next call is fine


async def test_a_server_that_is_down_is_unavailable(provider: str) -> None:
    with FakeLLMServer() as fake:
        url = fake.url  # nothing listens here once the server is closed
    with pytest.raises(ProviderUnavailable):
        await client_for(provider, url, call_timeout_s=2.0).complete(ask(provider))


async def test_a_model_of_another_provider_is_refused_before_any_request(
    server: FakeLLMServer,
) -> None:
    client = client_for("openai", server.url)
    assert client.serves("gpt-4o") and not client.serves("claude-haiku-4-5")
    with pytest.raises(ModelNotFound):
        await client.complete(ask("anthropic"))
    assert server.requests == []


async def test_a_short_plan_request_is_billed_within_its_reservation(
    server: FakeLLMServer, wire_provider: str
) -> None:
    """The schema is input too: a short prompt with the plan schema is billed for more tokens
    than the prompt alone could be, and the reservation covers it."""
    plan = {"tasks": [{"id": "t1", "type": "summarization", "prompt": "Sum up."}]}
    server.responder = lambda request: plan
    schema = Plan.model_json_schema()
    request = ask(wire_provider).model_copy(
        update={"system": "", "prompt": "Plan.", "json_schema": schema, "schema_name": "plan"}
    )
    response = await client_for(wire_provider, server.url).complete(request)
    assert Plan.model_validate_json(response.text).tasks[0].id == "t1"
    assert "$defs" not in json.dumps(server.requests[-1].schema)  # inlined for the provider

    # Billed: a quarter of the request's bytes, the schema included.
    assert response.input_tokens > input_token_bound("Plan.")  # more than the text alone
    assert response.input_tokens <= input_token_bound("Plan.") + structured_output_bound(schema)
    pricing, model = Pricing(CATALOG), request.model
    cost = pricing.cost(model, response.input_tokens, response.output_tokens)
    assert cost <= pricing.worst_case(model, "", "Plan.", request.max_tokens, json_schema=schema)
