"""The lines a job's log gets when a review could not come from another provider: the
generator's own provider answering is self-evaluation; the provider of the first opinion
answering the second is not."""

from __future__ import annotations

from orchestrator.config import ModelInfo
from orchestrator.domain import Role
from orchestrator.engine.call_notes import JobNotes
from orchestrator.engine.calls_api import CallSpec
from orchestrator.providers.base import LLMResponse


def answer(model: ModelInfo) -> LLMResponse:
    return LLMResponse(
        model=model.name,
        provider=model.provider,
        text="0.9",
        input_tokens=10,
        output_tokens=2,
        latency_ms=1.0,
    )


def spec(avoid: list[str], author: str) -> CallSpec:
    return CallSpec(
        role=Role.EVALUATE,
        system="s",
        prompt="p",
        avoid_providers=avoid,
        avoid_models=[author],
    )


def test_the_first_opinions_provider_giving_the_second_is_not_self_evaluation() -> None:
    lines: list[str] = []
    notes = JobNotes(lines.append)
    reviewer = ModelInfo(name="judge-1", provider="beta")
    notes.answered(spec(["alpha", "beta"], author="gen-1"), reviewer, answer(reviewer))
    assert lines == [
        "no model of a third provider can evaluate: judge-1, of beta, which gave the first "
        "opinion, gives the second too"
    ]


def test_the_generators_provider_reviewing_is_self_evaluation() -> None:
    lines: list[str] = []
    notes = JobNotes(lines.append)
    sibling = ModelInfo(name="gen-2", provider="alpha")
    notes.answered(spec(["alpha", "beta"], author="gen-1"), sibling, answer(sibling))
    assert len(lines) == 1 and "of the generator's provider alpha" in lines[0]
    assert "self-evaluated" in lines[0]
