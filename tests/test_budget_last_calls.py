"""The last calls of a budget: a task whose next call no longer fits stops alone, keeping what
it paid for, while the job's other tasks go on; a call that fits only with a short answer goes
to the cheapest model that may still give it.

Pure parts (the ready queue, the task loop with a scripted caller, the router); whole jobs
against a billing wire server are in test_budget_property.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from test_routing import make_catalog, make_router

from orchestrator.config import TaskTypePolicy
from orchestrator.domain import Role, StopReason, TaskResult, TaskState, TaskStatus, TaskType
from orchestrator.engine.calls_api import CallResult, CallSpec, CallStatus
from orchestrator.engine.loop import run_task
from orchestrator.engine.scheduler import ReadyQueue


def out_of_budget(task_id: str, status: TaskStatus, output: str = "") -> TaskResult:
    return TaskResult(task_id=task_id, status=status, output=output, stop_reason=StopReason.BUDGET)


def test_a_task_out_of_budget_does_not_stop_the_others() -> None:
    q = ReadyQueue({"a": [], "b": [], "c": [], "after_a": ["a"]})
    assert q.take_ready(1) == ["a"]
    q.run_out(out_of_budget("a", TaskStatus.FAILED))
    # Other tasks start: their calls may be smaller. What needed a's output waits, pending
    # (not skipped), for a resume with more budget.
    assert q.take_ready(5) == ["b", "c"]
    assert "after_a" not in q.finished and q.unstarted() == ["after_a"]


def test_a_usable_output_out_of_budget_still_feeds_its_dependents() -> None:
    q = ReadyQueue({"a": [], "after_a": ["a"]})
    q.take_ready(1)
    q.run_out(out_of_budget("a", TaskStatus.DEGRADED, output="draft"))
    assert q.take_ready(5) == ["after_a"]


async def run_summary_task(
    call: Callable[[CallSpec], Awaitable[CallResult]],
    *,
    models: list[str],
    pinned_model: str | None = None,
) -> TaskResult:
    """A summary task run with `call` as its caller, ending before any iteration does."""

    async def on_iteration(_record: object) -> None:
        raise AssertionError("no iteration ends")

    task = TaskState(
        job_id="j",
        task_id="t",
        type=TaskType.SUMMARIZATION,
        prompt="Summarise it.",
        acceptance_threshold=0.8,
        pinned_model=pinned_model,
    )
    policy = TaskTypePolicy(threshold=0.8, max_iterations=2, models=models)
    return await run_task(task, {}, policy=policy, call=call, on_iteration=on_iteration)


async def test_a_task_out_of_budget_before_its_first_review_keeps_its_draft() -> None:
    async def call(spec: CallSpec) -> CallResult:
        if spec.role is Role.GENERATE:
            return CallResult(status=CallStatus.OK, text="the draft", model="m", provider="p")
        return CallResult(status=CallStatus.BUDGET_EXHAUSTED, error="a call needs more")

    result = await run_summary_task(call, models=["m"])
    assert result.stop_reason is StopReason.BUDGET
    assert (result.status, result.output, result.score) == (TaskStatus.DEGRADED, "the draft", None)
    assert "the first draft is kept, unreviewed" in result.reason


def test_the_last_resort_is_cheapest_first_and_never_the_authors_provider() -> None:
    catalog = make_catalog(
        {
            "author": ("alpha", 0.9, 1.0),
            "author-cheap": ("alpha", 0.8, 0.01),
            "first-reviewer-cheap": ("beta", 0.8, 0.1),
            "dear": ("gamma", 0.95, 50.0),
            "mid": ("gamma", 0.9, 5.0),
        }
    )
    router = make_router(catalog)
    # A second opinion: not of the author's provider, nor of the first reviewer's.
    spec = CallSpec(
        role=Role.EVALUATE,
        task_id="t",
        iteration=1,
        slot=1,
        system="",
        prompt="Score this.",
        avoid_providers=["alpha", "beta"],
        avoid_models=["author"],
    )
    assert [m.name for m in router.candidates(spec)] == ["mid", "dear"]
    # Near the end of the budget the first reviewer's provider may give it too, cheapest
    # first; the author's provider never (that would be the job grading itself).
    assert [m.name for m in router.last_resort(spec)] == ["first-reviewer-cheap", "mid", "dear"]


def test_the_last_resort_ends_with_the_models_outside_the_lists_cheapest_first() -> None:
    catalog = make_catalog(
        {
            "author": ("alpha", 0.9, 1.0),
            "listed": ("beta", 0.9, 5.0),
            "outside-dear": ("gamma", 0.9, 3.0),
            "outside-cheap": ("delta", 0.8, 0.1),
            "outside-authors": ("alpha", 0.8, 0.01),
        }
    )
    catalog.roles[Role.CRITIQUE] = ["listed"]
    catalog.task_types[TaskType.SUMMARIZATION].models = ["author"]
    router = make_router(catalog)
    critique = CallSpec(
        role=Role.CRITIQUE,
        task_id="t",
        iteration=1,
        system="",
        prompt="Review this.",
        avoid_providers=["alpha"],
        avoid_models=["author"],
    )
    # The role's own models first (they fit more often than not), then the rest of the
    # catalog cheapest first; the author's provider never reviews, not even this way.
    assert [m.name for m in router.last_resort(critique)] == [
        "listed",
        "outside-cheap",
        "outside-dear",
    ]
    generate = CallSpec(
        role=Role.GENERATE,
        task_id="t",
        task_type=TaskType.SUMMARIZATION,
        iteration=1,
        system="",
        prompt="Write it.",
        prefer=["author"],
    )
    assert [m.name for m in router.last_resort(generate)] == [
        "author",
        "outside-authors",
        "outside-cheap",
        "outside-dear",
        "listed",
    ]
    # A model a reviewer pinned is kept to the end.
    pinned = generate.model_copy(update={"pinned": True})
    assert [m.name for m in router.last_resort(pinned)] == ["author"]


async def test_a_pinned_task_asks_for_its_model_only() -> None:
    seen: list[CallSpec] = []

    async def call(spec: CallSpec) -> CallResult:
        seen.append(spec)
        return CallResult(status=CallStatus.BUDGET_EXHAUSTED, error="a call needs more")

    await run_summary_task(call, models=["m", "n"], pinned_model="m")
    [generation] = seen
    assert generation.pinned and generation.prefer == ["m"]
