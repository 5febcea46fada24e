from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from fake_llm_servers import clear_provider_env

from orchestrator.config import Settings
from orchestrator.providers import ClientSet
from orchestrator.runtime import Runtime
from orchestrator.store import Store

StartRuntime = Callable[..., Awaitable[Runtime]]

# pytest-xdist's workers run with COLUMNS=80, and a Rich console made at import keeps the width
# it finds then: without this, the CLI's tables would be cut narrower than in a plain run.
os.environ.pop("COLUMNS", None)


@pytest.fixture(autouse=True)
def no_real_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own API keys must never turn a test into paid real calls."""
    clear_provider_env(monkeypatch)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        sim_latency_scale=0,
        queue_poll_interval_s=0.02,
    )


@pytest.fixture
async def start_runtime(settings: Settings) -> AsyncIterator[StartRuntime]:
    """Start the real runtime (DBOS on SQLite files under tmp_path); stopped after the test."""
    started: list[Runtime] = []

    async def start(
        clients: ClientSet | None = None, *, store: Store | None = None, **overrides: object
    ) -> Runtime:
        chosen = settings.model_copy(update=overrides) if overrides else settings
        runtime = await Runtime.start(chosen, clients=clients, store=store)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        await runtime.stop()
