"""What a call costs, from genai-prices (never a hand-typed table).

Each catalog model's price is looked up once, when `Pricing` is built, and pinned for the
life of the object: the budget ledger reserves a call's worst case and later settles its real
cost, and both must use the same price table even if genai-prices has a time-dated price
change in between. A model genai-prices does not know uses the catalog's explicit `price`;
a model with neither fails at start-up with `CatalogError` (never a silent $0).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from genai_prices import Usage, calc_price
from genai_prices.types import CalcPrice, ModelPrice, TieredPrices

from orchestrator.config import Catalog, ModelInfo, Price
from orchestrator.errors import CatalogError

__all__ = [
    "PriceLookup",
    "Pricing",
    "genai_price_lookup",
    "input_token_bound",
    "structured_output_bound",
]

# Framing tokens a chat API adds around the text (role markers, message separators, the
# system/user split). Generous: providers add well under 64 for one system + one user message.
FRAMING_TOKENS = 64
# What a structured-output call adds besides the schema text: the tool or response-format
# wrapper, a forced tool choice, and Anthropic's tool-use system prompt (~350 tokens).
STRUCTURED_FRAMING_TOKENS = 512
# Costs are rounded up to 1e-10 USD so a settled cost never falls below the exact price.
COST_QUANTUM = Decimal("1e-10")
# The only price keys our usage can hit: we report input and output tokens, and a provider
# may also charge per request.
_USED_PRICE_KEYS = ("input_mtok", "output_mtok", "requests_kcount")

# Costs computed are kept for reuse up to this many (then forgotten all at once).
_COSTS_KEPT = 4096

# Time-of-day prices change on the quarter hour at the finest (DeepSeek: at :30).
_PRICE_SCAN_MINUTES = 15

# A model's prices: one, or every price it can have (time-of-day discounts, date changes).
PriceLookup = Callable[[ModelInfo], ModelPrice | Sequence[ModelPrice]]
"""Resolve a catalog model to its genai-prices price(s); raise `LookupError` if unknown."""


def input_token_bound(text: str) -> int:
    """An upper bound of the input tokens `text` can be billed as, without a tokenizer.

    Byte-level BPE tokenizers (GPT, Claude, Gemini, DeepSeek, Kimi all use one) merge bytes
    and never split one: every token covers at least one UTF-8 byte, so a text never has more
    tokens than bytes. `FRAMING_TOKENS` covers the message framing the API adds.
    """
    return len(text.encode("utf-8")) + FRAMING_TOKENS


def structured_output_bound(json_schema: dict[str, object] | None) -> int:
    """An upper bound of the input tokens a structured-output schema adds to a call.

    The schema goes out as a tool's parameters or a response format, after the provider's
    adapter rewrote it (inlined `$defs`, strict-mode `additionalProperties` and `required`
    lists): twice its compact JSON bytes covers that growth, plus `STRUCTURED_FRAMING_TOKENS`.
    """
    if json_schema is None:
        return 0
    raw = json.dumps(json_schema, separators=(",", ":"), ensure_ascii=False)
    return 2 * len(raw.encode("utf-8")) + STRUCTURED_FRAMING_TOKENS


def genai_price_lookup(info: ModelInfo, *, now: datetime | None = None) -> tuple[ModelPrice, ...]:
    """Every price genai-prices gives a catalog model at some time of the coming day (raises
    `LookupError` if it does not know the model).

    Some providers charge less at some hours (DeepSeek off-peak). Pricing counts every call at
    the highest of them: a reservation made at a cheap hour must still cover a call billed at
    full price, and a job's spend must never read lower than the bill. Prices that a later
    one has replaced for good (a past price change) are not among them.
    """
    probe = Usage(input_tokens=1, output_tokens=1)
    model = calc_price(probe, model_ref=info.name, provider_id=info.pricing_provider).model
    start = now or datetime.now(tz=UTC)
    found: list[ModelPrice] = []
    for step in range(24 * 60 // _PRICE_SCAN_MINUTES):
        price = model.get_prices(start + timedelta(minutes=step * _PRICE_SCAN_MINUTES))
        if price not in found:
            found.append(price)
    return tuple(found)


@dataclass(frozen=True)
class _ModelPricing:
    prices: tuple[ModelPrice, ...]  # a call costs the most of them
    # Input-token counts where some tiered price drops at the next token: the only places
    # besides the top of the range where the cost of a call can peak (see `worst_case`).
    peaks: tuple[int, ...]


class Pricing:
    """Prices of every catalog model; built once at start-up and passed down."""

    def __init__(self, catalog: Catalog, *, lookup: PriceLookup = genai_price_lookup) -> None:
        self._catalog = catalog
        self._lookup = lookup
        self._models: dict[str, _ModelPricing] = {}
        # The router ranks by `per_mtok` and a call's worst case is priced again for each
        # model and answer cap tried: both are kept (exact: the prices are pinned).
        self._per_mtok: dict[str, Price] = {}
        self._costs: dict[tuple[str, int, int], Decimal] = {}
        # Validate the whole catalog now, so a model without a price fails at start-up.
        for name in catalog.models:
            self._pricing(name)

    def per_mtok(self, model: str) -> Price:
        """USD per million input/output tokens at the base tier (for display)."""
        price = self._per_mtok.get(model)
        if price is None:
            calc = self._highest(self._pricing(model).prices, 1_000, 1_000)
            price = self._per_mtok[model] = Price(
                input_per_mtok=float(calc["input_price"] * 1_000),
                output_per_mtok=float(calc["output_price"] * 1_000),
            )
        return price

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> Decimal:
        """Exact cost of a call in USD at the model's highest price, rounded up to 1e-10."""
        key = (model, input_tokens, output_tokens)
        cost = self._costs.get(key)
        if cost is None:
            if len(self._costs) >= _COSTS_KEPT:
                self._costs.clear()
            calc = self._highest(self._pricing(model).prices, input_tokens, output_tokens)
            cost = calc["total_price"].quantize(COST_QUANTUM, rounding=ROUND_CEILING)
            self._costs[key] = cost
        return cost

    def worst_case(
        self,
        model: str,
        system: str,
        prompt: str,
        max_tokens: int,
        *,
        json_schema: dict[str, object] | None = None,
        input_tokens: int | None = None,
    ) -> Decimal:
        """The most a call with this text and `max_tokens` can cost: what the ledger reserves.

        A call with a structured-output `json_schema` also pays for the schema it sends.
        `input_tokens`, when the client knows its tokenizer (`CountsTokens`), is the bound
        of the input tokens in place of one token per byte (schema included).

        Output tokens only add cost, so `max_tokens` is their worst case. Tiered prices are
        "cliffs" on the input-token count (crossing a tier re-prices every token), so over
        0..bound input tokens the cost is piecewise increasing and peaks either at the bound
        or just before a tier whose price is lower than the one below it; check all of those.
        """
        entry = self._pricing(model)
        bound = input_tokens
        if bound is None:
            bound = input_token_bound(system + prompt) + structured_output_bound(json_schema)
        candidates = [bound, *(p for p in entry.peaks if p < bound)]
        return max(self.cost(model, n, max_tokens) for n in candidates)

    def _pricing(self, model: str) -> _ModelPricing:
        entry = self._models.get(model)
        if entry is None:
            entry = self._models[model] = self._resolve(self._catalog.model(model))
        return entry

    def _resolve(self, info: ModelInfo) -> _ModelPricing:
        try:
            found = self._lookup(info)
            prices = (found,) if isinstance(found, ModelPrice) else tuple(found)
            prices = tuple(_trimmed(p) for p in prices)
        except LookupError as e:
            if info.price is None:
                raise CatalogError(
                    f"no price for model {info.name!r}: genai-prices does not know it under "
                    f"provider {info.pricing_provider!r} ({e}); set `price_provider` to the "
                    "provider genai-prices uses, or give the model an explicit "
                    "`price: {input_per_mtok: …, output_per_mtok: …}` in the catalog"
                ) from e
            prices = (
                ModelPrice(
                    input_mtok=Decimal(str(info.price.input_per_mtok)),
                    output_mtok=Decimal(str(info.price.output_per_mtok)),
                ),
            )
        peaks = tuple(sorted({n for p in prices for n in _peaks(p)}))
        return _ModelPricing(prices=prices, peaks=peaks)

    @staticmethod
    def _highest(
        prices: tuple[ModelPrice, ...], input_tokens: int, output_tokens: int
    ) -> CalcPrice:
        usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
        return max((p.calc_price(usage) for p in prices), key=lambda c: c["total_price"])


def _trimmed(full: ModelPrice) -> ModelPrice:
    """`full` without the price keys our usage never reports (cache, audio, searches...).

    genai-prices spends most of a calculation inferring those unreported counts (all 0 for
    us), so dropping them makes `cost()` ~4x cheaper on the hot path. The trimmed price is
    checked against the full one on probe usages; any difference (a model priced by, say,
    `input_text_mtok` only) keeps the full price.
    """
    kept = {key: getattr(full, key) for key in _USED_PRICE_KEYS}
    trimmed = ModelPrice(**{k: v for k, v in kept.items() if v is not None})
    probes = [1, 1_000, 1_000_000, *(n for s in _tier_starts(full) for n in (s, s + 1))]
    for n in probes:
        usage = Usage(input_tokens=n, output_tokens=n)
        if trimmed.calc_price(usage) != full.calc_price(usage):
            return full
    return trimmed


def _tier_starts(price: ModelPrice) -> set[int]:
    return {t.start for v in vars(price).values() if isinstance(v, TieredPrices) for t in v.tiers}


def _peaks(price: ModelPrice) -> tuple[int, ...]:
    """Input counts where a tiered price is lower in the next tier than in this one."""
    peaks: set[int] = set()
    for value in vars(price).values():
        if not isinstance(value, TieredPrices):
            continue
        below = value.base
        for tier in value.tiers:
            if tier.price < below:
                peaks.add(tier.start)
            below = tier.price
    return tuple(sorted(peaks))
