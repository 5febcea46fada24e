"""The executor against the budget: no model fits, only a cheap one fits, or only a shorter
answer fits (its cap is lowered to what the budget has left)."""

from __future__ import annotations

from decimal import Decimal

from test_executor import Rig, ScriptedClient, gen, sim

from orchestrator.domain import Role, TaskType
from orchestrator.engine.calls_api import CallSpec, CallStatus
from orchestrator.providers import LLMRequest, LLMResponse


async def test_no_model_fits_the_budget() -> None:
    scripted = ScriptedClient(sim(), {})
    rig = Rig(budget="0.000001", client=scripted)
    result = await rig.executor(gen())
    assert result.status is CallStatus.BUDGET_EXHAUSTED
    assert "only $" in result.error
    assert rig.ledger.rows == [] and sum(scripted.calls.values()) == 0
    assert rig.ledger.spent == 0 and rig.ledger.reserved == 0


async def test_a_budget_that_fits_only_the_cheap_model_uses_it() -> None:
    probe = Rig()
    budget = probe.worst_case("gamma-small", gen()) * Decimal("1.01")
    assert budget < probe.worst_case("beta-mid", gen())
    rig = Rig(budget=str(budget))
    result = await rig.executor(gen())
    assert result.status is CallStatus.OK and result.model == "gamma-small"
    assert [r.model for r in rig.ledger.rows] == ["gamma-small"]
    assert rig.ledger.spent <= budget


class RecordingCaps(ScriptedClient):
    """Answers via the simulator and keeps the answer cap (`max_tokens`) of every request."""

    def __init__(self) -> None:
        super().__init__(sim(), {})
        self.caps: list[int] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.caps.append(request.max_tokens)
        return await super().complete(request)


async def test_a_call_that_fits_only_with_a_shorter_answer_gets_one() -> None:
    probe = Rig()
    spec = gen()
    budget = probe.pricing.worst_case("gamma-small", spec.system, spec.prompt, 600)
    assert budget < probe.worst_case("gamma-small", spec)  # the full cap of 1000 does not fit
    client = RecordingCaps()
    rig = Rig(budget=str(budget), client=client)
    notes: list[str] = []
    rig.executor.note = notes.append
    result = await rig.executor(spec)
    assert result.status is CallStatus.OK and result.model == "gamma-small"
    assert client.caps == [600]  # the largest cap whose worst case fits, to the token
    assert rig.ledger.spent <= budget and rig.ledger.reserved == 0
    [note] = notes
    assert "answers are now capped below 1000 tokens" in note


async def test_an_answer_is_not_shortened_below_the_smallest_useful_cap() -> None:
    probe = Rig()
    spec = gen()
    budget = probe.pricing.worst_case("gamma-small", spec.system, spec.prompt, 255)
    client = RecordingCaps()
    rig = Rig(budget=str(budget), client=client)
    result = await rig.executor(spec)
    assert result.status is CallStatus.BUDGET_EXHAUSTED
    assert client.caps == [] and rig.ledger.spent == 0


def review(role: Role) -> CallSpec:
    return CallSpec(
        role=role,
        task_id="t1",
        task_type=TaskType.SUMMARIZATION,
        iteration=1,
        system="You are a strict reviewer.",
        prompt="Review the summary of the design document.",
        max_tokens=600,
        avoid_providers=["alpha"],
    )


async def test_a_review_is_still_made_with_a_shorter_answer_than_a_generation() -> None:
    """An evaluation (a score and a few sentences) or a critique (its first problems) is
    useful at 128 tokens, where a generation needs 256: with money for 200 tokens the
    reviews are made and the generation is not."""
    probe = Rig()
    for role in (Role.EVALUATE, Role.CRITIQUE):
        spec = review(role)
        model = probe.executor.router.candidates(spec)[0].name
        budget = probe.pricing.worst_case(model, spec.system, spec.prompt, 200)
        client = RecordingCaps()
        rig = Rig(budget=str(budget), client=client)
        rig.catalog.roles[role] = [model]  # the cheapest outside would fit a longer answer
        rig.catalog.models = {model: rig.catalog.models[model]}
        result = await rig.executor(spec)
        assert result.status is CallStatus.OK, (role, result.error)
        assert client.caps and 128 <= client.caps[0] <= 200
        assert rig.ledger.spent <= budget
    spec = gen()
    budget = probe.pricing.worst_case("gamma-small", spec.system, spec.prompt, 200)
    client = RecordingCaps()
    rig = Rig(budget=str(budget), client=client)
    assert (await rig.executor(spec)).status is CallStatus.BUDGET_EXHAUSTED
    assert client.caps == []


class RecordingPrompts(ScriptedClient):
    """Answers via the simulator and keeps the user prompt of every request."""

    def __init__(self) -> None:
        super().__init__(sim(), {})
        self.prompts: list[str] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.prompts.append(request.prompt)
        return await super().complete(request)


def with_material(role: Role) -> CallSpec:
    material = "\n".join(
        f"line {i}: a dependency's output, context for the call" for i in range(80)
    )
    prompt = f"Summarise the design document.\n{material}\nAnswer in five bullets."
    return gen().model_copy(update={"role": role, "prompt": prompt})


async def test_a_last_call_whose_prompt_does_not_fit_is_made_with_its_middle_cut() -> None:
    """When even the shortest answer does not fit, a generation's prompt loses the middle of
    its material (whole lines, at most half of it) so that the call fits; its recorded
    request is the whole one's, so a resumed job finds the answer. A revision is never cut:
    it rewrites the whole output."""
    probe = Rig()
    spec = with_material(Role.GENERATE)
    # Room for the shortest answer and about 70 % of the prompt.
    budget = probe.pricing.worst_case("gamma-small", spec.system, spec.prompt[:3000], 256)
    assert budget < probe.pricing.worst_case("gamma-small", spec.system, spec.prompt, 256)
    client = RecordingPrompts()
    rig = Rig(budget=str(budget), client=client)
    notes: list[str] = []
    rig.executor.note = notes.append
    result = await rig.executor(spec)
    assert result.status is CallStatus.OK, result.error
    [sent] = client.prompts
    assert "cut here to fit what is left of the budget" in sent
    assert sent.startswith("Summarise the design document.") and sent.endswith("five bullets.")
    assert len(spec.prompt) / 2 <= len(sent) < len(spec.prompt)
    assert rig.ledger.spent <= budget
    [row] = rig.ledger.rows
    assert (
        row.request_hash
        == rig.executor._request(spec, rig.catalog.models[row.model]).request_hash()
    )
    assert any("prompt" in n and "was cut" in n for n in notes)

    client = RecordingPrompts()
    rig = Rig(budget=str(budget), client=client)
    revision = with_material(Role.REVISE)
    assert (await rig.executor(revision)).status is CallStatus.BUDGET_EXHAUSTED
    assert client.prompts == []


async def test_a_call_out_of_budget_says_what_the_closest_model_needed() -> None:
    """Every model is tried, the dearest last: the error names the one nearest to fitting
    (what the user would have to add), not the last one tried."""
    scripted = ScriptedClient(sim(), {})
    rig = Rig(budget="0.000001", client=scripted)
    result = await rig.executor(gen())
    assert result.status is CallStatus.BUDGET_EXHAUSTED
    needs = {m: rig.worst_case(m, gen()) for m in ("gamma-small", "beta-mid")}
    assert needs["gamma-small"] < needs["beta-mid"]
    assert result.error.startswith("gamma-small: a call needs up to $"), result.error
