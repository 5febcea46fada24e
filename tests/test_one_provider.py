"""One provider is enough: critique and evaluation prefer another provider, then another model
of the generator's provider, then the generator itself (routing), and the task says so."""

from __future__ import annotations

from orchestrator.config import Catalog
from orchestrator.domain import Role, TaskType
from orchestrator.engine.calls_api import CallSpec
from orchestrator.engine.health import HealthBook
from orchestrator.engine.routing import Router
from orchestrator.providers.pricing import Pricing

FREE = {"input_per_mtok": 0, "output_per_mtok": 0}


def local_catalog(*names: str) -> Catalog:
    models = {n: {"provider": "openai_compat", "quality": 0.6, "price": FREE} for n in names}
    listed = list(names)
    return Catalog.model_validate(
        {
            "models": models,
            "task_types": {
                t.value: {"threshold": 0.8, "max_iterations": 1, "models": listed} for t in TaskType
            },
            "roles": {r.value: listed for r in (Role.DECOMPOSE, Role.CRITIQUE, Role.EVALUATE)},
        }
    )


def review_by(catalog: Catalog, generator: str) -> list[str]:
    router = Router(catalog, Pricing(catalog), HealthBook())
    spec = CallSpec(
        role=Role.CRITIQUE,
        system="",
        prompt="",
        avoid_providers=["openai_compat"],
        avoid_models=[generator],
    )
    return [m.name for m in router.candidates(spec)]


def test_another_model_of_the_same_provider_reviews_before_the_generator_itself() -> None:
    # The generator ranks first on its own (listed first, equal otherwise): it still comes last.
    assert review_by(local_catalog("llama3.2", "qwen2.5"), "llama3.2") == ["qwen2.5", "llama3.2"]


def test_the_only_model_reviews_its_own_output() -> None:
    assert review_by(local_catalog("llama3.2"), "llama3.2") == ["llama3.2"]
