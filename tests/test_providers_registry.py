"""Which providers are configured, from the environment; what is available; secrets stay secret."""

from __future__ import annotations

import logging
from typing import ClassVar

import pytest
from fake_llm_servers import FakeLLMServer, clear_provider_env
from pydantic import SecretStr

from orchestrator.config import DEFAULT_CATALOG, Settings, load_catalog
from orchestrator.errors import AuthFailed, CatalogError, ModelNotFound
from orchestrator.providers import (
    LLMClient,
    Pricing,
    PydanticAIClient,
    SimulatedClient,
    build_clients,
    configured_vendors,
    probe,
)
from orchestrator.providers._pydantic_ai import provider_error

CATALOG = load_catalog(DEFAULT_CATALOG)
KEY = "sk-registry-test-9f8e7d6c"


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_provider_env(monkeypatch)


def env_settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_no_provider_configured_means_the_simulator_answers_every_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "   ")  # blank configures nothing
    settings = env_settings()
    assert configured_vendors(settings) == []
    clients = build_clients(settings, CATALOG)
    assert clients.simulated
    assert [type(c) for c in clients.clients] == [SimulatedClient]
    assert clients.available_models() == list(CATALOG.models)


def test_keys_come_from_the_vendors_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)  # Gemini's alternative name
    monkeypatch.setenv("MOONSHOTAI_API_KEY", KEY)  # pydantic-ai's name for Moonshot's
    monkeypatch.setenv("ORCH_OPENAI_COMPAT_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = env_settings()
    names = [v.name for v in configured_vendors(settings)]
    assert names == ["anthropic", "google", "moonshot", "openai_compat"]
    assert settings.openai_compat_base_url == "http://127.0.0.1:11434/v1"

    clients = build_clients(settings, CATALOG)
    assert not clients.simulated
    assert all(isinstance(c, PydanticAIClient) for c in clients.clients)
    available = clients.available_models()
    served = {"anthropic", "google", "moonshot", "openai_compat"}
    assert available == [m for m, info in CATALOG.models.items() if info.provider in served]
    assert clients.for_model("kimi-k2.6").name == "moonshot"
    assert not clients.serves("gpt-4o")
    with pytest.raises(ModelNotFound):
        clients.for_model("gpt-4o")  # OpenAI has no key: its models are not available


def test_gemini_api_key_wins_over_google_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    gemini = env_settings().gemini_api_key
    assert gemini is not None and gemini.get_secret_value() == "gemini-key"


def test_secrets_never_show_in_reprs_dumps_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.setenv(name, KEY)
    monkeypatch.setenv("ORCH_OPENAI_COMPAT_API_KEY", KEY)
    settings = env_settings()
    clients = build_clients(settings, CATALOG)
    shown = [repr(settings), str(settings), settings.model_dump_json(), repr(clients.clients)]
    shown += [repr(v) for v in configured_vendors(settings)]
    assert all(KEY not in text for text in shown)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == KEY  # still usable where it must be

    class Refused(Exception):  # the shape of pydantic-ai's ModelHTTPError, as far as we read it
        status_code = 401
        body: ClassVar = {"error": {"message": f"Incorrect API key provided: {KEY}."}}

    error = provider_error(
        Refused(), provider="openai", model="gpt-4o", secrets=(settings.openai_api_key,)
    )
    assert isinstance(error, AuthFailed)
    assert str(error) == (
        "openai gpt-4o: HTTP 401: the API key was refused or lacks access: "
        "Incorrect API key provided: ***."
    )


def test_a_model_nobody_can_price_is_refused_with_a_clear_message() -> None:
    raw = CATALOG.model_dump()
    raw["models"]["my-local-model"] = {"provider": "openai_compat", "quality": 0.7}
    catalog = type(CATALOG).model_validate(raw)
    with pytest.raises(CatalogError) as caught:
        Pricing(catalog)
    assert "my-local-model" in str(caught.value) and "price" in str(caught.value)
    # The catalog's own example local model is priced by its explicit `price` (free).
    assert Pricing(CATALOG).cost("llama3.2", 1_000_000, 1_000_000) == 0


def test_every_catalog_provider_has_an_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.setenv(name, KEY)
    for name in ("MOONSHOT_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.setenv(name, KEY)
    monkeypatch.setenv("ORCH_OPENAI_COMPAT_BASE_URL", "http://127.0.0.1:1/v1")
    clients = build_clients(env_settings(), CATALOG)
    assert len(clients.clients) == 7
    assert clients.available_models() == list(CATALOG.models)


async def test_probe_reports_what_works_per_provider(caplog: pytest.LogCaptureFixture) -> None:
    with FakeLLMServer(api_key=KEY) as good, FakeLLMServer(api_key="another-key") as refusing:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            openai_api_key=SecretStr(KEY),
            openai_base_url=f"{good.url}/v1",
            anthropic_api_key=SecretStr(KEY),
            anthropic_base_url=refusing.url,
        )
        clients = build_clients(settings, CATALOG)
        with caplog.at_level(logging.DEBUG):
            results = await probe(clients.clients, CATALOG, Pricing(CATALOG), timeout_s=10)
        sent = good.requests[0]
    by_provider = {r.provider: r for r in results}
    assert set(by_provider) == {"anthropic", "openai"}
    ok, refused = by_provider["openai"], by_provider["anthropic"]
    assert ok.ok and ok.model == "gpt-4o-mini"  # the cheapest OpenAI model in the catalog
    assert ok.input_tokens > 0 and ok.cost_usd > 0
    assert sent.mode == "tool"  # the probe checks structured output, as decomposition needs
    assert not refused.ok and refused.error_type == "AuthFailed"
    assert refused.model == "claude-haiku-4-5" and "HTTP 401" in refused.detail
    assert KEY not in refused.detail and KEY not in caplog.text


async def test_the_simulator_is_never_probed() -> None:
    sim: LLMClient = SimulatedClient(CATALOG, latency_scale=0)
    assert await probe((sim,), CATALOG, Pricing(CATALOG), timeout_s=1) == []
