"""Retired models: pydantic-ai's deprecation data read per catalog model (a catalog entry may
override it), and routing that never sends a call to a retired model, with "today" passed in."""

from __future__ import annotations

import random
import time
from datetime import date

from fakes import catalog_of

from orchestrator.config import Catalog, Settings
from orchestrator.domain import CallOutcome, Role, TaskState, TaskType
from orchestrator.engine.calls_api import CallSpec, CallStatus
from orchestrator.engine.executor import CallExecutor
from orchestrator.engine.forecast import route_tasks
from orchestrator.engine.health import HealthBook
from orchestrator.engine.ledger import MemoryLedger
from orchestrator.engine.routing import Router
from orchestrator.providers.pricing import Pricing
from orchestrator.providers.registry import ClientSet
from orchestrator.providers.retirement import Retirements
from orchestrator.providers.simulator import SimulatedClient

# pydantic-ai: the Gemini API retired both on 2026-12-01 and answers them with these.
GEMINI_API = {"gemini-2.5-pro": "gemini-3.8-flash", "gemini-2.5-flash": "gemini-3.5-flash-lite"}
BEFORE, ON, AFTER = date(2026, 11, 30), date(2026, 12, 1), date(2027, 6, 1)


GOOGLE = catalog_of(
    {
        # The retired model ranks first on quality: only retirement keeps it out.
        "gemini-2.5-pro": {"provider": "google", "quality": 0.99},
        "gemini-2.5-flash": {"provider": "google", "quality": 0.98},
        "gemini-3.8-flash": {"provider": "google", "quality": 0.90},
        "claude-haiku-4-5": {"provider": "anthropic", "quality": 0.84},
    }
)
PRICING = Pricing(GOOGLE)


def router(today: date, cat: Catalog = GOOGLE, pricing: Pricing = PRICING) -> Router:
    return Router(cat, pricing, HealthBook(), retirements=Retirements(cat, today=lambda: today))


def generate(*prefer: str) -> CallSpec:
    return CallSpec(
        role=Role.GENERATE,
        task_id="t1",
        task_type=TaskType.SUMMARIZATION,
        iteration=1,
        system="You are brief.",
        prompt="Summarise: models retire.",
        prefer=list(prefer),
    )


def test_pydantic_ais_dates_and_replacements_turn_a_model_retired_on_its_date() -> None:
    for model, successor in GEMINI_API.items():
        retiring = Retirements(GOOGLE, today=lambda: BEFORE).of(model)
        assert (retiring.lifecycle, retiring.retirement_date) == ("retiring", ON)
        retired = Retirements(GOOGLE, today=lambda: ON).of(model)
        assert retired.lifecycle == "retired"
        assert retired.replacement == retired.rerouted_to == successor
        assert retired.source_url and "deprecations" in retired.source_url
    assert Retirements(GOOGLE, today=lambda: AFTER).of("gemini-3.8-flash").lifecycle == "current"


def test_a_catalog_entry_overrides_the_librarys_word() -> None:
    cat = catalog_of(
        {
            "gemini-2.5-pro": {"provider": "google", "deprecation": None},  # a proxy keeps it
            "claude-haiku-4-5": {
                "provider": "anthropic",
                "deprecation": {"retirement_date": "2027-09-01", "replacement": "claude-x"},
            },
        }
    )
    retirements = Retirements(cat, today=lambda: AFTER)
    assert retirements.of("gemini-2.5-pro").lifecycle == "current"
    haiku = retirements.of("claude-haiku-4-5")
    assert (haiku.lifecycle, haiku.retirement_date, haiku.replacement) == (
        "retiring", date(2027, 9, 1), "claude-x",
    )  # fmt: skip


def test_a_retired_model_is_never_routed_and_its_stand_in_takes_its_place() -> None:
    before = [m.name for m in router(BEFORE).candidates(generate())]
    assert before[0] in GEMINI_API and set(GEMINI_API) <= set(before)  # still served
    for today in (ON, AFTER):
        routed = [m.name for m in router(today).candidates(generate())]
        assert "gemini-2.5-pro" not in routed and "gemini-2.5-flash" not in routed
        assert routed == ["gemini-3.8-flash", "claude-haiku-4-5"]
        # Asked for by name (a pinned model), it is still not called.
        pinned = [m.name for m in router(today).candidates(generate("gemini-2.5-pro"))]
        assert pinned == ["gemini-3.8-flash"]
        # gemini-2.5-flash's stand-in is not in this catalog: nothing takes its place.
        assert router(today).candidates(generate("gemini-2.5-flash")) == []


async def test_a_call_for_a_retired_model_is_made_priced_and_recorded_as_its_stand_in() -> None:
    ledger = MemoryLedger("1")
    health = HealthBook()

    class Control:
        deadline = time.time() + 3600

        def cancelled(self) -> bool:
            return False

    executor = CallExecutor(
        job_id="job1",
        clients=ClientSet([SimulatedClient(GOOGLE, latency_scale=0)], GOOGLE),
        router=router(AFTER),
        pricing=PRICING,
        ledger=ledger,
        health=health,
        control=Control(),
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        rng=random.Random(1),
    )
    result = await executor(generate("gemini-2.5-pro"))
    assert result.status is CallStatus.OK
    assert result.model == "gemini-3.8-flash"
    [row] = ledger.rows
    assert (row.model, row.outcome) == ("gemini-3.8-flash", CallOutcome.OK)
    cost = PRICING.cost("gemini-3.8-flash", result.input_tokens, result.output_tokens)
    assert cost != PRICING.cost("gemini-2.5-pro", result.input_tokens, result.output_tokens)
    assert ledger.spent == cost
    assert health.snapshot("gemini-2.5-pro").call_count == 0


def test_the_forecast_prices_a_task_pinned_to_a_retired_model_as_its_stand_in() -> None:
    pinned = TaskState(
        job_id="job1",
        task_id="t1",
        type=TaskType.SUMMARIZATION,
        prompt="Summarise.",
        dependencies=[],
        acceptance_threshold=0.8,
        pinned_model="gemini-2.5-pro",
    )
    usable = set(GOOGLE.models)
    assert route_tasks([pinned], router(BEFORE), GOOGLE, usable)["t1"].generator == (
        "gemini-2.5-pro"
    )
    assert route_tasks([pinned], router(AFTER), GOOGLE, usable)["t1"].generator == (
        "gemini-3.8-flash"
    )


def test_the_tables_read_are_the_ones_the_model_profiles_carry() -> None:
    """retirement.py reads pydantic-ai's deprecation tables instead of building profiles (which
    imports the SDKs): for every model those tables and the default catalog name, the profile
    pydantic-ai builds carries the same deprecation, so a library change that moves the data
    fails here rather than hiding a retirement."""
    from pydantic_ai.models.google import GoogleModel
    from pydantic_ai.providers import _model_deprecations as tables
    from pydantic_ai.providers.anthropic import AnthropicProvider
    from pydantic_ai.providers.google import GoogleProvider
    from pydantic_ai.providers.openai import OpenAIProvider

    from orchestrator.providers.retirement import library_deprecation

    google = GoogleProvider(api_key="unused")
    profiles = {
        "anthropic": lambda m: (AnthropicProvider.model_profile(m) or {}).get("deprecation"),
        "openai": lambda m: (OpenAIProvider.model_profile(m) or {}).get("deprecation"),
        "google": lambda m: GoogleModel(m, provider=google).profile.get("deprecation"),
    }
    named = {
        "anthropic": set(tables.ANTHROPIC_MODEL_DEPRECATIONS),
        "openai": set(tables.OPENAI_MODEL_DEPRECATIONS),
        "google": set(tables.GEMINI_API_MODEL_DEPRECATIONS),
    }
    for info in Settings(_env_file=None).catalog.models.values():  # type: ignore[call-arg]
        named.setdefault(info.provider, set()).add(info.name)
    checked = 0
    for provider, models in named.items():
        for model in sorted(models) if provider in profiles else ():
            found = profiles[provider](model)
            ours = library_deprecation(provider, model)
            said = None if found is None else (found.retirement_date, found.replacement)
            assert (ours and (ours.retirement_date, ours.replacement)) == said, model
            checked += found is not None
    assert checked > 20  # the tables were read, not found empty
