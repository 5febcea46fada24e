"""Routing: which models may answer a call, best first, with fallbacks that change provider.

Ranking. Each candidate gets

    score = quality ** QUALITY_EXPONENT × trust / blended_cost ** COST_EXPONENT

where `quality` comes from the catalog, `trust` from the health book (it decays by 5% per
failure) and `blended_cost` is the price per million tokens weighted for a typical call that
writes three output tokens per input token: (input + 3 × output) / 4.

Why the exponents: prices of the catalog's models span ~45× while their qualities span
0.80-0.97, so a plain quality / cost always picks the cheapest model, whatever the catalog
says. With QUALITY_EXPONENT = 10 and COST_EXPONENT = 0.3, doubling the price is worth about
2% more quality (2 ** (0.3 / 10)), and a 10× price about 7%: a strong model beats a much
cheaper one that is clearly weaker (0.97 at $20 beats 0.86 at $0.45), a cheaper model beats
an equal one, and a model whose calls keep failing sinks as its trust decays. Ties keep the
order of the preference list, so the catalog still decides between equals.

Fallback order. After ranking, providers are interleaved: each next model is the best-ranked
one of a provider other than the previous one's (when there is such a model), so a provider
that is rate-limiting or down is not tried twice in a row.

Last resort. Near the end of a budget, when no candidate fits with its full answer cap, the
candidates, and models of avoided providers other than the author's, are tried again with a
shortened answer from the cheapest for the call (its input and a short answer at the model's
prices): a cheap model's answer beats none, and spends what a dearer one could not. When
none of them fits, the other catalog models follow, cheapest first: a task type's or role's
list says who answers best, not who alone can, and in bench/budget.py most jobs that ran out
below 90 % of their budget had a last call that fitted on a model outside its list (unless
a reviewer pinned the task's model: a pin is kept). A review by the author's own provider is
never bought this way: it stays the fallback for when no other provider can answer at all,
so a job near its end does not grade itself.

Retired models. A model past its provider's retirement date (providers/retirement.py) is never
routed: its catalog stand-in (the model the provider now answers the old name with, else the
recommended replacement) takes its place in the preference list, or nothing does.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from decimal import Decimal

from orchestrator.config import Catalog, ModelInfo
from orchestrator.domain import Role
from orchestrator.engine.calls_api import CallSpec
from orchestrator.engine.health import HealthBook
from orchestrator.engine.spending import MIN_FITTED_TOKENS, shortest_answer
from orchestrator.providers.pricing import Pricing
from orchestrator.providers.retirement import Retirements

__all__ = [
    "COST_EXPONENT",
    "LAST_RESORT_TOKENS",
    "QUALITY_EXPONENT",
    "Router",
    "interleave_providers",
]

log = logging.getLogger(__name__)

QUALITY_EXPONENT = 10.0
COST_EXPONENT = 0.3
OUTPUT_WEIGHT = 3.0  # output tokens per input token in the blended price
MIN_BLENDED_COST = 0.01  # USD per 1M tokens; keeps free (local) models finite
# The answer length the last resort prices a call at: `shortest_answer` (spending.py).
LAST_RESORT_TOKENS = MIN_FITTED_TOKENS


class Router:
    def __init__(
        self,
        catalog: Catalog,
        pricing: Pricing,
        health: HealthBook,
        *,
        retirements: Retirements | None = None,
    ) -> None:
        self._catalog = catalog
        self._pricing = pricing
        self._health = health
        self._retirements = retirements or Retirements(catalog)  # as of the real date

    def candidates(self, spec: CallSpec, *, exclude: Collection[str] = ()) -> list[ModelInfo]:
        """Models that may answer `spec` now, in the order to try them (best first).

        `exclude` names models the caller knows are off for its job (401/403/404). Models of
        `spec.avoid_providers` are dropped unless no other usable model is left: a critic of
        another provider is preferred, not required, and a same-provider critic beats none.
        Then another model of that provider comes before `spec.avoid_models` (the generator
        itself), which answers last: with one local model, it critiques its own output.
        """
        usable = [
            m
            for m in self.preferred(spec)
            if m.name not in exclude and self._health.available(m.name)
        ]
        avoided = set(spec.avoid_providers)
        others = [m for m in usable if m.provider not in avoided]
        if others:
            return interleave_providers(self.rank(others))
        same = set(spec.avoid_models)
        other_models = [m for m in usable if m.name not in same]
        return interleave_providers(self.rank(other_models)) + self.rank(
            [m for m in usable if m.name in same]
        )

    def last_resort(self, spec: CallSpec, *, exclude: Collection[str] = ()) -> list[ModelInfo]:
        """Who may still answer `spec` near the end of a budget, cheapest for this call first
        (its input and its shortest answer, as `Spending` fits it, at the model's prices): the
        `candidates`, and models of `spec.avoid_providers` other than the author's (a second
        opinion from the first reviewer's provider beats none; a review by the author's own
        stays a fallback for when no other provider can answer at all); then, unless
        `spec.pinned`, the `outside` models not of the author's provider, cheapest first."""
        authors = {
            self._catalog.models[m].provider for m in spec.avoid_models if m in self._catalog.models
        }
        chosen = {m.name: m for m in self.candidates(spec, exclude=exclude)}
        for model in self._usable(self.preferred(spec), exclude):
            if model.provider not in authors:
                chosen.setdefault(model.name, model)
        others = [] if spec.pinned else self._usable(self.outside(spec), exclude)

        def price(model: ModelInfo) -> Decimal:
            tokens = min(shortest_answer(spec.role), spec.max_tokens or model.max_output_tokens)
            return self._pricing.worst_case(
                model.name, spec.system, spec.prompt, tokens, json_schema=spec.json_schema
            )

        listed = sorted(chosen.values(), key=price)
        return listed + sorted((m for m in others if m.provider not in authors), key=price)

    def outside(self, spec: CallSpec) -> list[ModelInfo]:
        """The catalog's models in service that are not among `preferred(spec)`, in catalog
        order: who may answer `spec` only as a last resort."""
        listed = {m.name for m in self.preferred(spec)}
        found: dict[str, ModelInfo] = {}
        for info in self._catalog.models.values():
            current = self._retirements.in_service(info)
            if current is not None and current.name not in listed:
                found.setdefault(current.name, current)
        return list(found.values())

    def _usable(self, models: Sequence[ModelInfo], exclude: Collection[str]) -> list[ModelInfo]:
        return [m for m in models if m.name not in exclude and self._health.available(m.name)]

    def rank(self, models: Sequence[ModelInfo]) -> list[ModelInfo]:
        """`models` sorted by score, best first; ties keep their given order."""
        return sorted(models, key=self.score, reverse=True)

    def score(self, model: ModelInfo) -> float:
        return (
            model.quality**QUALITY_EXPONENT
            * self._health.trust(model.name)
            / self.blended_cost(model) ** COST_EXPONENT
        )

    def blended_cost(self, model: ModelInfo) -> float:
        price = self._pricing.per_mtok(model.name)
        blended = (price.input_per_mtok + OUTPUT_WEIGHT * price.output_per_mtok) / (
            1 + OUTPUT_WEIGHT
        )
        return max(blended, MIN_BLENDED_COST)

    def preferred(self, spec: CallSpec) -> list[ModelInfo]:
        """Every catalog model that may answer `spec`, in preference order.

        Neither health nor `avoid_providers` is looked at: this is who may answer, not who
        should now (the executor looks up recorded answers of all of them). A retired model
        is not among them: its stand-in is, in its place.
        """
        models: dict[str, ModelInfo] = {}
        for name in self._preference(spec):
            info = self._catalog.models.get(name)
            if info is None:
                log.warning("routing skips %r: it is not in the model catalog", name)
                continue
            # A provider that forwards a retired name answers with another model: ask for that
            # model by its own name, so the call is priced and labelled as what answers it.
            current = self._retirements.in_service(info)
            if current is None:
                log.debug("routing skips %r: its provider has retired it", name)
                continue
            models.setdefault(current.name, current)  # de-duplicated, order kept
        return list(models.values())

    def answering(self, model: str) -> str | None:
        """The model a call asked of `model` goes to: itself, a retired one's stand-in, or none."""
        info = self._catalog.models.get(model)
        if info is None:
            return model  # outside the catalog: not ours to judge
        current = self._retirements.in_service(info)
        return current.name if current is not None else None

    def _preference(self, spec: CallSpec) -> list[str]:
        if spec.prefer:
            return list(spec.prefer)
        if spec.role in (Role.GENERATE, Role.REVISE) and spec.task_type is not None:
            return list(self._catalog.policy(spec.task_type).models)
        if self._catalog.roles.get(spec.role):
            return list(self._catalog.roles[spec.role])
        return list(self._catalog.models)


def interleave_providers(ranked: Sequence[ModelInfo]) -> list[ModelInfo]:
    """Reorder `ranked` so consecutive models change provider whenever possible.

    Greedy: keep the best model first; then repeatedly take the best remaining model of a
    provider other than the last one taken, or the best remaining if only that provider is left.
    """
    remaining = list(ranked)
    ordered: list[ModelInfo] = []
    while remaining:
        last = ordered[-1].provider if ordered else None
        pick = next((m for m in remaining if m.provider != last), remaining[0])
        remaining.remove(pick)
        ordered.append(pick)
    return ordered
