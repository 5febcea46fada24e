"""The task loop, driven by scripted Callers and by the real simulator."""

from __future__ import annotations

import pytest
from loop_fakes import (
    FAST,
    POLICY,
    Recorder,
    make_task,
    run,
    script,
    stopped,
)

from orchestrator.config import DEFAULT_CATALOG, Catalog, FaultRates, load_catalog
from orchestrator.domain import (
    Role,
    StopReason,
    TaskResult,
    TaskStatus,
    TaskType,
)
from orchestrator.engine.calls_api import Caller, CallResult, CallSpec, CallStatus
from orchestrator.engine.loop import combine_scores, run_task
from orchestrator.providers.base import LLMRequest
from orchestrator.providers.simulator import SimulatedClient


async def test_threshold_reached_at_the_first_iteration() -> None:
    result, call, records = await run(script({1: (0.9, 0.92)}))
    assert result.status is TaskStatus.COMPLETED
    assert result.stop_reason is StopReason.THRESHOLD
    assert result.iterations == 1
    assert result.score == pytest.approx(0.91)
    assert result.output == "draft 1: a better answer"
    assert result.model == "gen-a"
    assert [s.role for s in call.specs] == [
        Role.GENERATE,
        Role.CRITIQUE,
        Role.REVISE,
        Role.EVALUATE,
        Role.EVALUATE,
    ]
    (record,) = records
    assert record.iteration == 1
    assert record.critique == "1. iteration 1: add an example"
    assert record.scores == [0.9, 0.92]
    # Iteration 1 pays for generate, critique, revise and two evaluations.
    assert record.cost_usd == pytest.approx(0.005)
    assert record.input_tokens == 500
    assert record.latency_ms == pytest.approx(50.0)
    assert result.cost_usd == pytest.approx(0.005)


async def test_plateau_stops_and_keeps_the_best_iteration() -> None:
    result, _, records = await run(script({1: (0.70, 0.70), 2: (0.69, 0.69)}))
    assert result.stop_reason is StopReason.PLATEAU
    assert result.status is TaskStatus.DEGRADED
    assert result.iterations == 2
    assert result.score == pytest.approx(0.70)
    assert result.output == "draft 1: a better answer"
    assert [r.score for r in records] == [0.70, 0.69]
    assert "below the threshold" in result.reason


async def test_a_small_gain_is_a_plateau_too() -> None:
    result, _, _ = await run(script({1: (0.60, 0.60), 2: (0.61, 0.61)}))
    assert result.stop_reason is StopReason.PLATEAU
    assert result.score == pytest.approx(0.61)
    assert result.output == "draft 2: a better answer"


async def test_max_iterations_ends_the_loop() -> None:
    result, call, records = await run(script({1: (0.5, 0.5), 2: (0.6, 0.6), 3: (0.7, 0.7)}))
    assert result.stop_reason is StopReason.MAX_ITERATIONS
    assert result.status is TaskStatus.DEGRADED
    assert result.iterations == 3 == len(records)
    assert result.output == "draft 3: a better answer"
    # Each revision starts from the previous iteration's output.
    assert "draft 2: a better answer" in call.of(Role.REVISE)[2].prompt
    assert len(call.of(Role.GENERATE)) == 1


def test_two_scores_combine_to_the_lower_or_the_mean() -> None:
    assert combine_scores([0.9, 0.8]) == 0.8
    assert combine_scores([0.9, 0.86]) == pytest.approx(0.88)
    assert combine_scores([0.9, 0.85]) == pytest.approx(0.875)  # 0.05 is not > 0.05
    assert combine_scores([0.7]) == 0.7
    assert combine_scores([]) == 0.0


async def test_disagreeing_evaluations_count_as_the_lower() -> None:
    # The mean (0.875) would pass 0.85; the lower (0.80) does not.
    result, _, records = await run(script({1: (0.95, 0.80), 2: (0.80, 0.80)}))
    assert records[0].score == 0.80
    assert result.status is TaskStatus.DEGRADED


async def test_critic_and_evaluators_avoid_the_generator_provider() -> None:
    result, call, records = await run(script({1: (0.9, 0.9)}))
    (critique,) = call.of(Role.CRITIQUE)
    assert critique.avoid_providers == ["alpha"]  # gen-a is alpha's
    assert records[0].critic_model == "crit-b"
    first, second = call.of(Role.EVALUATE)
    assert (first.slot, second.slot) == (0, 1)
    assert first.avoid_providers == ["alpha"]
    # The second opinion also avoids the first evaluator's provider (eval-b, beta).
    assert second.avoid_providers == ["alpha", "beta"]
    assert first.json_schema is not None and first.schema_name == "evaluation"
    (revise,) = call.of(Role.REVISE)
    assert revise.prefer == ["gen-a", "gen-b"]
    assert result.status is TaskStatus.COMPLETED


async def test_budget_exhausted_mid_loop_degrades_with_a_reason() -> None:
    answer = script({1: (0.6, 0.6)}, **{"critique@2": stopped(CallStatus.BUDGET_EXHAUSTED)})
    result, call, records = await run(answer)
    assert result.status is TaskStatus.DEGRADED
    assert result.stop_reason is StopReason.BUDGET
    assert "stopped during critique of iteration 2" in result.reason
    assert "scripted budget_exhausted" in result.reason
    assert result.output == "draft 1: a better answer"
    assert result.iterations == 1 == len(records)
    assert call.specs[-1].role is Role.CRITIQUE  # nothing was asked after the stop


@pytest.mark.parametrize(
    ("status", "reason"),
    [(CallStatus.TIMEOUT, StopReason.TIMEOUT), (CallStatus.CANCELLED, StopReason.CANCELLED)],
)
async def test_a_stop_before_any_score_fails_the_task(
    status: CallStatus, reason: StopReason
) -> None:
    result, call, records = await run(script({}, **{"revise@1": stopped(status)}))
    assert result.status is TaskStatus.FAILED
    assert result.stop_reason is reason
    assert result.output == ""
    assert records == []
    assert len(call.specs) == 3


async def test_a_failed_generation_fails_the_task() -> None:
    answer = script({}, **{"generate@1": stopped(CallStatus.FAILED)})
    result, call, _ = await run(answer)
    assert result.status is TaskStatus.FAILED
    assert result.stop_reason is StopReason.NO_MODEL
    assert "generation failed" in result.reason
    assert len(call.specs) == 1


async def test_a_failed_critique_is_skipped() -> None:
    answer = script({1: (0.9, 0.9)}, **{"critique@1": stopped(CallStatus.FAILED)})
    result, call, records = await run(answer)
    assert result.status is TaskStatus.COMPLETED
    assert records[0].critique == ""
    assert records[0].critic_model is None
    assert "(no critique)" in call.of(Role.REVISE)[0].prompt
    assert "no critique" in result.reason


async def test_a_malformed_evaluation_is_retried_once() -> None:
    answer = script({1: (0.9, 0.88)}, **{"evaluate@1/0": "The score is high!"})
    result, call, records = await run(answer)
    # Slot 0 malformed, retried at slot 2 (answer 0.9); slot 1 answered 0.88.
    assert [s.slot for s in call.of(Role.EVALUATE)] == [0, 2, 1]
    assert records[0].scores == [0.9, 0.88]
    assert result.status is TaskStatus.COMPLETED


async def test_when_one_evaluation_fails_the_other_counts() -> None:
    answer = script({1: (0.9, 0.7), 2: (0.7, 0.7)}, **{"evaluate@1/0": stopped(CallStatus.FAILED)})
    _, call, records = await run(answer)
    assert records[0].scores == [0.7]
    assert records[0].score == 0.7
    # A failed call is not retried: the caller already tried every provider.
    assert [s.slot for s in call.of(Role.EVALUATE) if s.iteration == 1] == [0, 1]


async def test_when_every_evaluation_is_malformed_the_score_is_zero() -> None:
    answer = script({}, **{"evaluate@1": '{"score": 1.7}', "evaluate@2": "not json"})
    result, call, records = await run(answer)
    assert [r.scores for r in records] == [[], []]
    assert result.score == 0.0
    assert result.stop_reason is StopReason.PLATEAU
    assert result.status is TaskStatus.DEGRADED
    assert "both evaluations failed" in result.reason
    assert [s.slot for s in call.of(Role.EVALUATE)][:4] == [0, 2, 1, 3]


async def test_a_failing_validator_caps_the_score() -> None:
    task = make_task(TaskType.CODE_GENERATION, prompt="Print Hello World")
    answer = script(
        {1: (0.95, 0.95), 2: (0.95, 0.95)},
        **{"generate@1": "print('Hello World'", "revise@1": "```python\nprint(1/0)\n```"},
    )
    answer2 = script(
        {1: (0.95, 0.95)},
        **{"generate@1": "print('Hello World'", "revise@1": "print('Hello World')"},
    )
    result, call, records = await run(answer, task=task)
    assert records[0].score == 0.5
    assert records[0].output == "print(1/0)\n"  # fence removed
    run_check = next(v for v in records[0].validators if v.name == "python_run")
    assert "ZeroDivisionError" in run_check.detail
    # The critic saw the syntax error of the generated draft.
    assert "python_syntax FAILED" in call.of(Role.CRITIQUE)[0].prompt
    assert result.status is TaskStatus.DEGRADED
    fixed, _, _ = await run(answer2, task=task)
    assert fixed.status is TaskStatus.COMPLETED
    assert fixed.output == "print('Hello World')"


async def test_code_whose_tests_fail_never_passes_a_threshold_of_one_half() -> None:
    task = make_task(TaskType.CODE_GENERATION, prompt="Write add(a, b)", acceptance_threshold=0.5)
    wrong = "def add(a, b):\n    return a - b\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    answer = script({1: (1.0, 1.0), 2: (1.0, 1.0)}, **{"generate@1": wrong, "revise@1": wrong})
    policy = POLICY.model_copy(update={"threshold": 0.5})
    result, _, records = await run(answer, task=task, policy=policy)
    assert not next(v for v in records[0].validators if v.name == "pytest").passed
    assert all(r.score < 0.5 for r in records)
    assert result.status is TaskStatus.DEGRADED
    assert result.stop_reason is not StopReason.THRESHOLD


async def test_dependency_outputs_reach_the_generate_prompt() -> None:
    deps = {
        "task_002": TaskResult(
            task_id="task_002", status=TaskStatus.COMPLETED, output="DESIGN: use chaining"
        )
    }
    task = make_task(task_id="task_003", dependencies=["task_002"])
    _, call, _ = await run(script({1: (0.9, 0.9)}), task=task, deps=deps)
    (generate,) = call.of(Role.GENERATE)
    assert '<dependency id="task_002" status="completed">' in generate.prompt
    assert "DESIGN: use chaining" in generate.prompt
    assert all(s.task_id == "task_003" for s in call.specs)


def simulator_caller(catalog: Catalog) -> Caller:
    """A minimal Caller over the real simulator: the first preferred model not avoided."""
    client = SimulatedClient(catalog, seed=11, latency_scale=0, faults=FaultRates())

    async def call(spec: CallSpec) -> CallResult:
        assert spec.task_type is not None
        names = spec.prefer or catalog.roles.get(spec.role) or catalog.policy(spec.task_type).models
        avoided = set(spec.avoid_providers)
        model = next((m for m in names if catalog.model(m).provider not in avoided), names[0])
        response = await client.complete(
            LLMRequest(
                model=model,
                role=spec.role,
                system=spec.system,
                prompt=spec.prompt,
                max_tokens=catalog.model(model).max_output_tokens,
                json_schema=spec.json_schema,
                schema_name=spec.schema_name,
                task_type=spec.task_type,
                iteration=spec.iteration,
            )
        )
        return CallResult(
            status=CallStatus.OK,
            text=response.text,
            model=response.model,
            provider=response.provider,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            latency_ms=response.latency_ms,
        )

    return call


async def test_a_code_task_through_the_simulator() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)
    policy = catalog.policy(TaskType.CODE_GENERATION)
    task = make_task(
        TaskType.CODE_GENERATION,
        prompt='Write main.py, a Python script that prints exactly "Hello World".',
        acceptance_threshold=policy.threshold,
    )
    recorder = Recorder()
    result = await run_task(
        task, {}, policy=policy, call=simulator_caller(catalog), on_iteration=recorder, sandbox=FAST
    )
    assert result.status is TaskStatus.COMPLETED, result.reason
    assert result.model is not None
    generator = catalog.model(result.model).provider
    for record in recorder.records:
        assert record.critic_model is not None
        assert catalog.model(record.critic_model).provider != generator
        assert all(v.passed for v in record.validators if v.name != "placeholders")
        assert len(record.scores) == 2
    run_check = next(v for v in recorder.records[-1].validators if v.name == "python_run")
    assert "Hello World" in run_check.detail
    assert not result.output.startswith("```")
