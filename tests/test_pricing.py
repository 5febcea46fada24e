"""Pricing: genai-prices behind a cached per-model lookup, worst cases that really are upper
bounds, and a clear start-up error for a model nobody can price."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from functools import partial

import pytest
import yaml
from genai_prices import Usage, calc_price
from genai_prices.types import ModelPrice, Tier, TieredPrices
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.config import DEFAULT_CATALOG, Catalog, ModelInfo, Price, load_catalog
from orchestrator.errors import CatalogError
from orchestrator.providers.pricing import Pricing, genai_price_lookup, input_token_bound

CATALOG = load_catalog(DEFAULT_CATALOG)
PRICING = Pricing(CATALOG)
MODELS = sorted(m for m, info in CATALOG.models.items() if info.price is None)  # genai-prices
QUANTUM = Decimal("1e-10")


def catalog_with(**models: Mapping[str, object]) -> Catalog:
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    raw["models"].update(models)
    return Catalog.model_validate(raw)


# gemini-2.5-pro re-prices every token above 200k input tokens. Retired, so not in the default
# catalog any more, but genai-prices still prices it: the tier tests need one such price.
TIERED_CATALOG = catalog_with(**{"gemini-2.5-pro": {"provider": "google"}})
TIERED = Pricing(TIERED_CATALOG)

# Every quarter hour of the coming day: the times at which a call may be billed.
DAY = [datetime.now(tz=UTC) + timedelta(minutes=15 * k) for k in range(96)]


def genai_cost(
    model: str, input_tokens: int, output_tokens: int, *, at: datetime | None = None
) -> Decimal:
    """What genai-prices charges at `at`, or the most it charges at any time of the day."""
    info = TIERED_CATALOG.model(model)  # the default catalog's models and gemini-2.5-pro
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return max(
        calc_price(
            usage, model_ref=model, provider_id=info.pricing_provider, genai_request_timestamp=t
        ).total_price
        for t in ([at] if at is not None else DAY)
    )


def test_a_call_costs_the_peak_price_even_in_an_off_peak_hour() -> None:
    """DeepSeek bills less from 16:30 to 00:30 UTC; a budget must hold at any hour."""
    off_peak = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    peak = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    cheap = genai_cost("deepseek-chat", 1_000_000, 1_000_000, at=off_peak)
    full = genai_cost("deepseek-chat", 1_000_000, 1_000_000, at=peak)
    assert cheap < full
    started_off_peak = Pricing(CATALOG, lookup=partial(genai_price_lookup, now=off_peak))
    assert started_off_peak.cost("deepseek-chat", 1_000_000, 1_000_000) == full
    assert PRICING.cost("deepseek-chat", 1_000_000, 1_000_000) == full
    assert PRICING.per_mtok("deepseek-chat").output_per_mtok == float(
        genai_cost("deepseek-chat", 0, 1_000_000, at=peak)
    )


@pytest.mark.parametrize("model", MODELS)
def test_every_seed_model_is_priced_above_zero(model: str) -> None:
    price = PRICING.per_mtok(model)
    assert price.input_per_mtok > 0
    assert price.output_per_mtok > 0
    assert PRICING.cost(model, 1_000, 1_000) > 0


@pytest.mark.parametrize("model", MODELS)
def test_per_mtok_is_the_price_of_a_million_tokens_at_the_base_tier(model: str) -> None:
    price = PRICING.per_mtok(model)
    assert Decimal(str(price.input_per_mtok)) * 1_000 / 1_000_000 == PRICING.cost(model, 1_000, 0)
    assert Decimal(str(price.output_per_mtok)) * 1_000 / 1_000_000 == PRICING.cost(model, 0, 1_000)


@settings(max_examples=200, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    input_tokens=st.integers(0, 2_000_000),
    output_tokens=st.integers(0, 200_000),
)
def test_cost_is_genai_prices_rounded_up(model: str, input_tokens: int, output_tokens: int) -> None:
    exact = genai_cost(model, input_tokens, output_tokens)
    cost = PRICING.cost(model, input_tokens, output_tokens)
    assert cost == exact.quantize(QUANTUM, rounding=ROUND_CEILING)
    assert exact <= cost < exact + QUANTUM


def test_tiered_model_costs_more_per_token_above_its_tier() -> None:
    below = TIERED.cost("gemini-2.5-pro", 200_000, 1_000) / 200_000
    above = TIERED.cost("gemini-2.5-pro", 300_000, 1_000) / 300_000
    assert above > below
    assert TIERED.cost("gemini-2.5-pro", 300_000, 1_000) == genai_cost(
        "gemini-2.5-pro", 300_000, 1_000
    )


@settings(max_examples=300, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    system=st.text(max_size=300),
    prompt=st.text(max_size=3_000),
    max_tokens=st.integers(1, 16_384),
    in_share=st.fractions(0, 1),
    out_share=st.fractions(0, 1),
)
def test_worst_case_bounds_every_call_within_its_limits(
    model: str, system: str, prompt: str, max_tokens: int, in_share: Fraction, out_share: Fraction
) -> None:
    bound = input_token_bound(system + prompt)
    input_tokens = int(bound * in_share)
    output_tokens = int(max_tokens * out_share)
    worst = PRICING.worst_case(model, system, prompt, max_tokens)
    assert worst >= PRICING.cost(model, input_tokens, output_tokens)
    assert worst >= genai_cost(model, input_tokens, output_tokens)


def test_worst_case_covers_a_prompt_that_crosses_a_price_tier() -> None:
    prompt = "word " * 50_000  # 250,000 bytes: past gemini-2.5-pro's 200k tier
    worst = TIERED.worst_case("gemini-2.5-pro", "", prompt, 4_096)
    assert worst == TIERED.cost("gemini-2.5-pro", input_token_bound(prompt), 4_096)
    assert worst >= genai_cost("gemini-2.5-pro", 200_000, 4_096)


def test_worst_case_finds_the_peak_below_a_cheaper_tier() -> None:
    # A volume discount: 10 $/Mtok up to 1,000 input tokens, then 1 $/Mtok for all of them.
    # 1,000 tokens cost more than 5,000, so the bound alone would under-reserve.
    discount = ModelPrice(
        input_mtok=TieredPrices(base=Decimal(10), tiers=[Tier(start=1_000, price=Decimal(1))]),
        output_mtok=Decimal(2),
    )

    def lookup(info: ModelInfo) -> ModelPrice:
        return discount if info.name == "bulk-model" else genai_price_lookup(info)

    pricing = Pricing(catalog_with(**{"bulk-model": {"provider": "bulk"}}), lookup=lookup)
    prompt = "x" * (5_000 - 64)
    assert input_token_bound(prompt) == 5_000
    assert pricing.cost("bulk-model", 1_000, 10) > pricing.cost("bulk-model", 5_000, 10)
    worst = pricing.worst_case("bulk-model", "", prompt, 10)
    assert worst == pricing.cost("bulk-model", 1_000, 10)
    for n in range(0, 5_001, 250):
        assert worst >= pricing.cost("bulk-model", n, 10)


def test_model_nobody_can_price_fails_at_construction() -> None:
    catalog = catalog_with(**{"mystery-7b": {"provider": "nowhere-ai"}})
    with pytest.raises(CatalogError) as raised:
        Pricing(catalog)
    message = str(raised.value)
    assert "mystery-7b" in message
    assert "price" in message


def test_catalog_price_is_used_when_genai_prices_does_not_know_the_model() -> None:
    price = {"input_per_mtok": 0.5, "output_per_mtok": 1.5}
    pricing = Pricing(catalog_with(**{"local-llama": {"provider": "ollama", "price": price}}))
    assert pricing.per_mtok("local-llama") == Price(**price)
    assert pricing.cost("local-llama", 1_000_000, 1_000_000) == Decimal("2.0")
    assert pricing.worst_case("local-llama", "", "", 1_000) == pricing.cost(
        "local-llama", 64, 1_000
    )


def test_genai_prices_wins_over_a_catalog_price_for_a_model_it_knows() -> None:
    price = {"input_per_mtok": 99.0, "output_per_mtok": 99.0}
    pricing = Pricing(catalog_with(**{"gpt-4o": {"provider": "openai", "price": price}}))
    assert pricing.per_mtok("gpt-4o") == PRICING.per_mtok("gpt-4o")


def test_price_provider_overrides_the_serving_provider() -> None:
    # kimi-k2.6 is served by "moonshot" but priced by genai-prices under "moonshotai".
    assert CATALOG.model("kimi-k2.6").pricing_provider == "moonshotai"
    assert PRICING.cost("kimi-k2.6", 1_000, 1_000) == genai_cost("kimi-k2.6", 1_000, 1_000)


def test_model_outside_the_catalog_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError):
        PRICING.cost("not-a-model", 1, 1)


@pytest.mark.parametrize(
    ("text", "bound"),
    [("", 64), ("abc", 67), ("é", 66), ("日本", 70), ("🙂", 68), ("a\nb", 67)],
)
def test_input_token_bound_is_utf8_bytes_plus_framing(text: str, bound: int) -> None:
    assert input_token_bound(text) == bound
