"""The offline simulator's faults at the configured rates, honest token counts, latency."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sim_fixtures import (
    CATALOG,
    HELLO_PROJECT,
    RecordingSleep,
    client,
    mixed_requests,
    request,
    run,
)

from orchestrator.config import FaultRates
from orchestrator.domain import Role, TaskType
from orchestrator.errors import (
    MalformedOutput,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from orchestrator.providers import (
    SimulatedClient,
    input_token_bound,
)


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("rate_limit", RateLimited),
        ("server_error", ProviderUnavailable),
        ("timeout", ProviderTimeout),
        ("malformed", MalformedOutput),
    ],
)
async def test_fault_rate_one_always_faults(kind: str, error: type[ProviderError]) -> None:
    sim = client(faults=FaultRates(**{kind: 1.0}))
    for i in range(50):
        with pytest.raises(error) as raised:
            await sim.complete(request(Role.GENERATE, f"task {i}", model="gpt-4o"))
        assert (raised.value.provider, raised.value.model) == ("openai", "gpt-4o")
        if isinstance(raised.value, RateLimited):
            assert isinstance(raised.value.retry_after, float)


@pytest.mark.parametrize("role", [Role.DECOMPOSE, Role.EVALUATE])
async def test_malformed_structured_answer_is_not_json(role: Role) -> None:
    sim = client(faults=FaultRates(malformed=1.0))
    for i in range(20):
        response = await sim.complete(request(role, f"{HELLO_PROJECT}\n{i}"))
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.text)


async def test_fault_rate_zero_never_faults() -> None:
    sim = client()
    for i in range(200):
        await sim.complete(request(Role.CRITIQUE, f"point {i}"))


@pytest.mark.parametrize("kind", ["rate_limit", "server_error", "timeout", "malformed"])
async def test_fault_rates_are_honoured_over_many_calls(kind: str) -> None:
    sim = client(faults=FaultRates(**{kind: 0.3}))
    failures = 0
    for i in range(500):
        try:
            await sim.complete(request(Role.GENERATE, f"task {i}"))
        except ProviderError:
            failures += 1
    assert 0.2 <= failures / 500 <= 0.4


async def test_timeout_hangs_before_failing() -> None:
    sleep = RecordingSleep()
    sim = client(faults=FaultRates(timeout=1.0), latency_scale=1.0, sleep=sleep)
    with pytest.raises(ProviderTimeout):
        await sim.complete(request(Role.GENERATE))
    assert len(sleep.calls) == 1 and sleep.calls[0] > 0


@settings(max_examples=60, deadline=None)
# A project the simulator echoes into its plan may hold a character no store keeps.
@example(role=Role.DECOMPOSE, task_type=None, prompt="\x00", max_tokens=100)
@given(
    role=st.sampled_from(list(Role)),
    task_type=st.sampled_from([None, *TaskType]),
    prompt=st.text(min_size=1, max_size=2_000),
    max_tokens=st.integers(1, 3_000),
)
def test_token_counts_stay_within_bounds(
    role: Role, task_type: TaskType | None, prompt: str, max_tokens: int
) -> None:
    req = request(role, prompt, task_type=task_type, max_tokens=max_tokens)
    response = run(client(), req)
    assert 1 <= response.input_tokens <= input_token_bound(req.system + req.prompt)
    assert 1 <= response.output_tokens <= max_tokens
    assert len(response.text) <= 4 * max_tokens


async def test_input_tokens_are_about_a_quarter_of_the_characters() -> None:
    req = request(Role.CRITIQUE, "x" * 4_000)
    response = await client().complete(req)
    assert 1_000 <= response.input_tokens <= 1_100


async def test_latency_scale_zero_never_sleeps() -> None:
    sleep = RecordingSleep()
    faults = FaultRates(server_error=0.2, timeout=0.2)
    sim = SimulatedClient(CATALOG, latency_scale=0.0, faults=faults, sleep=sleep)
    for i in range(40):
        for req in mixed_requests():
            with contextlib.suppress(ProviderError):
                await sim.complete(req.model_copy(update={"prompt": f"{req.prompt} {i}"}))
    assert sleep.calls == []


async def test_sleeps_the_reported_latency_times_the_scale() -> None:
    sleep = RecordingSleep()
    sim = SimulatedClient(CATALOG, latency_scale=2.0, sleep=sleep)
    responses = [await sim.complete(r) for r in mixed_requests()]
    assert sleep.calls == pytest.approx([2 * r.latency_ms / 1000 for r in responses], rel=1e-3)
    assert all(0.1 < r.latency_ms / 1000 < 10 for r in responses)
