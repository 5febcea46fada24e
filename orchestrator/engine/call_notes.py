"""What a job's log and a failed call say about how its calls went.

`JobNotes` says a few facts once per job, the moment they first happen: the structured-output
mode an endpoint answers in, and that critique or evaluation fell back to the generator's own
provider (then its scores are "self-evaluated"). `FailureTally` counts why the attempts of one
logical call failed, so that a call no model could answer ends with its reasons counted
("llama3.2: 3 malformed answers") rather than only the last one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.config import ModelInfo
from orchestrator.domain import Role
from orchestrator.engine.calls_api import CallSpec
from orchestrator.errors import (
    AuthFailed,
    ContextTooLong,
    MalformedOutput,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from orchestrator.providers.base import LLMResponse

__all__ = ["SELF_EVALUATED", "FailureTally", "JobNotes"]

SELF_EVALUATED = "self-evaluated"
_REVIEW_ROLES = (Role.CRITIQUE, Role.EVALUATE)

# How each kind of failure is counted: (one, many).
_KINDS: tuple[tuple[type[ProviderError], str, str], ...] = (
    (MalformedOutput, "malformed answer", "malformed answers"),
    (ContextTooLong, "prompt too long for its context", "prompts too long for its context"),
    (ProviderTimeout, "timeout", "timeouts"),
    (RateLimited, "rate limit", "rate limits"),
    (ProviderUnavailable, "unavailable answer", "unavailable answers"),
    (AuthFailed, "refused key", "refused keys"),
    (ModelNotFound, "model not found", "models not found"),
)


@dataclass
class JobNotes:
    note: Callable[[str], None]
    _said: set[str] = field(default_factory=set)

    def once(self, key: str, line: str) -> None:
        if key not in self._said:
            self._said.add(key)
            self.note(line)

    def answered(self, spec: CallSpec, model: ModelInfo, response: LLMResponse) -> None:
        if response.output_mode:
            self.once(
                f"output:{model.name}",
                f"{model.name} gives structured output as {response.output_mode}",
            )
        if spec.role not in _REVIEW_ROLES or model.provider not in spec.avoid_providers:
            return
        # The generator's provider is avoided first; the others gave an earlier opinion.
        if model.provider != spec.avoid_providers[0]:
            self.once(
                f"again:{spec.role.value}:{model.provider}",
                f"no model of a third provider can {spec.role.value}: {model.name}, of "
                f"{model.provider}, which gave the first opinion, gives the second too",
            )
        elif model.name in spec.avoid_models:
            self.once(
                "self:model",
                f"no other model can {spec.role.value}: {model.name} reviews and scores its "
                f"own output; such scores are marked {SELF_EVALUATED}",
            )
        else:
            self.once(
                "self:provider",
                f"no model of another provider can {spec.role.value}: {model.name}, of the "
                f"generator's provider {model.provider}, does; such scores are marked "
                f"{SELF_EVALUATED}",
            )


@dataclass
class FailureTally:
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def add(self, model: str, error: ProviderError) -> None:
        one, many = next(
            ((o, m) for kind, o, m in _KINDS if isinstance(error, kind)), ("error", "errors")
        )
        self.counts[(model, one, many)] += 1

    def describe(self, last: str) -> str:
        """Every model's failures counted, then the last error's own words."""
        if not self.counts:
            return last
        parts = [f"{model}: {n} {one if n == 1 else many}" for (model, one, many), n in
                 self.counts.items()]  # fmt: skip
        return f"{'; '.join(parts)} (last: {last})"
