"""Whether a catalog model is retired or retiring, since when, and what replaces it.

The data is pydantic-ai's: each model profile it builds carries the provider's `deprecation`
(retirement date, recommended replacement, the model the provider reroutes the old name to),
the same data behind its `DeprecatedModelWarning`. It covers the Claude API, OpenAI's API and
the Gemini API; other providers have none. A catalog entry's own `deprecation` overrides it
(`deprecation: null` says the model is still served, e.g. by a proxy).

"Today" is passed in (`today=`), so whether a model is retired never depends on the real date
where a caller does not want it to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache

from pydantic import BaseModel, ConfigDict
from pydantic_ai.profiles import ModelDeprecation
from pydantic_ai.providers._model_deprecations import (
    ANTHROPIC_MODEL_DEPRECATIONS,
    GEMINI_API_MODEL_DEPRECATIONS,
    OPENAI_MODEL_DEPRECATIONS,
)

from orchestrator.config import Catalog, Deprecation, ModelInfo, ModelLifecycle

__all__ = ["Retirement", "Retirements", "library_deprecation", "utc_today"]


class Retirement(BaseModel):
    """One model's lifecycle on a given day."""

    model_config = ConfigDict(frozen=True)

    model: str
    lifecycle: ModelLifecycle = "current"
    retirement_date: date | None = None
    replacement: str | None = None
    rerouted_to: str | None = None
    source_url: str | None = None


def utc_today() -> date:
    return datetime.now(tz=UTC).date()


# Per catalog provider: the table pydantic-ai's model profiles for that API take `deprecation`
# from (the Claude API by the exact name; the Gemini API by the id after any resource path).
# Read directly: building the profiles would import the provider SDKs, seconds at every
# start; tests/test_retirement.py checks the tables against the profiles.
_LOOKUPS: dict[str, Callable[[str], ModelDeprecation | None]] = {
    "anthropic": ANTHROPIC_MODEL_DEPRECATIONS.get,
    "openai": OPENAI_MODEL_DEPRECATIONS.get,
    "google": lambda m: GEMINI_API_MODEL_DEPRECATIONS.get(m.rsplit("/", 1)[-1]),
}


@cache  # the library's data does not change while the process runs
def library_deprecation(provider: str, model: str) -> Deprecation | None:
    """pydantic-ai's deprecation of `model` on `provider`'s API, or None if it has none."""
    lookup = _LOOKUPS.get(provider)
    found = lookup(model) if lookup is not None else None
    if found is None:
        return None
    return Deprecation(
        retirement_date=found.retirement_date,
        replacement=found.replacement,
        rerouted_to=found.rerouted_to,
        source_url=found.source_url,
    )


class Retirements:
    """Lifecycles of the catalog's models as of `today()`; built with the catalog, passed down."""

    def __init__(self, catalog: Catalog, *, today: Callable[[], date] = utc_today) -> None:
        self._catalog = catalog
        self._today = today

    def of(self, model: str) -> Retirement:
        info = self._catalog.models.get(model)
        notice = _deprecation(info) if info is not None else None
        if notice is None:
            return Retirement(model=model)
        ended = notice.retirement_date is not None and notice.retirement_date <= self._today()
        return Retirement(
            model=model,
            lifecycle="retired" if ended else "retiring",
            **notice.model_dump(),
        )

    def in_service(self, info: ModelInfo) -> ModelInfo | None:
        """`info`, or for a retired model the catalog model that stands in for it, or None.

        A retired model's stand-in is the model its provider now answers the old name with
        (else the recommended replacement), when the catalog has it and it is not retired too.
        """
        gone = self.of(info.name)
        if gone.lifecycle != "retired":
            return info
        for name in (gone.rerouted_to, gone.replacement):
            stand_in = self._catalog.models.get(name or "")
            if stand_in is not None and self.of(stand_in.name).lifecycle != "retired":
                return stand_in
        return None


def _deprecation(info: ModelInfo) -> Deprecation | None:
    if "deprecation" in info.model_fields_set:  # the catalog's word, even `null`, comes first
        return info.deprecation
    return library_deprecation(info.provider, info.name)
