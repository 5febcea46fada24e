"""The job the crash and database-fault harnesses run, and what must hold after any fault.

Four text tasks against a fake wire server that keeps the provider's bill: "a", then "b"
after it; "c", whose generation always fails (the connection drops: nothing billed), and
"d" after it, which is then skipped. `check_job` reads the job back and asserts:
  * it ended, its history's ids run 1..N with no gap, it ends with `done`, said once,
    after the one final `status`; each task's start, end and every iteration told once;
  * every iteration taken into its task's cost exactly once;
  * no answer the provider billed and we recorded was asked for again: the bill is what
    was recorded plus at most the one answer in hand when the fault struck (charged its
    reservation, the most it could cost), and the job's total is exactly what was
    recorded and charged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import pytest
from fake_llm_servers import Answer, FakeLLMServer, WireRequest, echo
from fakes import plan_task

from orchestrator.domain import CallOutcome, JobStatus, ProjectStatus, TaskStatus
from orchestrator.events import DoneEvent, LogEvent, StatusEvent, StoredEvent, TaskEvent
from orchestrator.runtime import Runtime

PLAN = {"tasks": [plan_task("a"), plan_task("b", ["a"]), plan_task("c"), plan_task("d", ["c"])]}
ENDED_WELL = {
    "a": TaskStatus.COMPLETED,
    "b": TaskStatus.COMPLETED,
    "c": TaskStatus.FAILED,
    "d": TaskStatus.SKIPPED,
}

# (point, which time it is reached): every point in the code (orchestrator/crashpoints.py),
# by name, but for the one only a job stopping for review reaches (REVIEW_FAULTS);
# test_crash_points checks these lists against the code.
FAULTS = [
    ("begin_job.start", 1),
    ("begin_job.in_transaction", 1),
    ("begin_job.end", 1),
    ("llm_call.start", 1),  # the plan's call
    ("llm_call.reserved", 1),
    ("llm_call.answered", 1),
    ("llm_call.recorded", 1),
    ("llm_call.end", 1),
    ("llm_call.answered", 3),  # a task's call, in a task workflow
    ("llm_call.end", 3),
    ("save_plan.start", 1),
    ("save_plan.in_transaction", 1),
    ("save_plan.end", 1),
    ("stop_for_review.start", 1),  # the job did not ask for review: it goes on
    ("stop_for_review.end", 1),
    ("begin_task.start", 1),
    ("begin_task.in_transaction", 1),
    ("begin_task.end", 1),
    ("save_iteration.start", 1),
    ("save_iteration.in_transaction", 1),
    ("save_iteration.end", 1),
    ("finish_task.start", 1),
    ("finish_task.in_transaction", 2),
    ("finish_task.end", 1),
    ("skip_tasks.start", 1),
    ("skip_tasks.in_transaction", 1),
    ("skip_tasks.end", 1),
    ("finish_job.start", 1),
    ("finish_job.interrupted_closed", 1),
    ("finish_job.in_transaction", 1),
    ("finish_job.end", 1),
]
FAULT_IDS = [f"{point}#{n}" for point, n in FAULTS]
REVIEW_FAULTS = [("stop_for_review.in_transaction", 1)]
# Reached only by the approval of a job awaiting review: before, inside and after its write.
APPROVE_FAULTS = [("approve.start", 1), ("approve.in_transaction", 1), ("approve.end", 1)]
# Reached only by a job whose spend crosses 80 % of its budget (test_webhooks.py).
WARNING_FAULTS = [("llm_call.warning_due", 1)]
# Where the provider may have been asked and nothing recorded: an attempt left in flight.
IN_FLIGHT = {"llm_call.reserved", "llm_call.answered"}


def answer(request: WireRequest) -> Answer:
    if request.schema is not None:
        properties = request.schema.get("properties", {})
        if "tasks" in properties:
            return PLAN
        if "score" in properties:
            return {"score": 0.9, "reasoning": "covers the topic"}
        return echo(request)
    if "[[c]]" in request.prompt:  # the connection drops: no answer, nothing billed
        raise ConnectionAbortedError("task c cannot be written")
    return f"Summary, {len(request.prompt)} characters of prompt read."


@dataclass
class Expect:
    final: ProjectStatus | None = None  # None: the outcome of a job that ran to its end
    started: bool = True  # the job got past its start
    in_flight_left: int = 0  # attempts the fault left in flight (charged their reservation)
    answers_lost: int = 0  # billed answers the fault kept from being recorded


async def check_job(runtime: Runtime, job_id: str, server: FakeLLMServer, expect: Expect) -> None:
    """The job alone was billed by `server`: its history and its money."""
    await check_history(runtime, job_id, expect)
    await check_bill(runtime, [job_id], server, expect)


async def check_history(runtime: Runtime, job_id: str, expect: Expect) -> None:
    store = runtime.store
    job = await store.get_job(job_id)
    stored = await store.read_events(job_id)
    events = [e.event for e in stored]
    tasks = {t.task_id: t for t in await store.list_tasks(job_id)}

    # The job ended, and its history says so once, last.
    assert job.status.is_terminal() and job.final_status is not None
    if expect.final is None:
        assert {t: s.status for t, s in tasks.items()} == ENDED_WELL
    else:
        assert job.final_status is expect.final
    assert [e.id for e in stored] == list(range(1, len(stored) + 1))
    assert isinstance(events[-1], DoneEvent) and events[-1].status is job.final_status
    statuses = [e for e in events if isinstance(e, StatusEvent)]
    finals = [e for e in statuses if e.final_status is not None]
    assert len(finals) == 1 and finals == statuses[-1:]
    assert [type(e) for e in events].count(DoneEvent) == 1
    said = Counter(e.msg for e in events if isinstance(e, LogEvent))
    # A logical call is told at most once ("a iteration 1 · generate by …"), even when its
    # step ran again after a crash that struck once its line was stored (a step that failed
    # for good tells nothing).
    calls = await store.list_calls(job_id=job_id)
    logical = {(c.task_id, c.iteration, c.role, c.slot) for c in calls}
    recorded = Counter((f"{t} iteration {i}" if t else "plan", r) for t, i, r, _ in logical)
    calls_told: Counter[tuple[str, str]] = Counter()
    for msg, n in said.items():
        if " · " in msg:
            where, rest = msg.split(" · ", 1)
            calls_told[(where, rest.split(" ", 1)[0])] += n
    assert all(n <= recorded[c] for c, n in calls_told.items()), (calls_told, recorded)
    running = [e for e in statuses if e.status is JobStatus.RUNNING]
    started = sum(n for m, n in said.items() if m.startswith("job started"))
    assert len(running) == started == int(expect.started)
    for task_id, task in tasks.items():
        told = [e for e in events if isinstance(e, TaskEvent) and e.task_id == task_id]
        ends = [e.status for e in told if e.status.is_terminal()]
        assert ends == ([task.status] if task.status.is_terminal() else [])
        began = sum(n for m, n in said.items() if m.startswith(f"{task_id} started"))
        assert began == int(task.status not in (TaskStatus.PENDING, TaskStatus.SKIPPED))
        cost = 0.0
        for it in await store.list_iterations(job_id, task_id):  # told and counted once
            cost += it.cost_usd
            lines = [m for m in said if m.startswith(f"{task_id} iteration {it.iteration}:")]
            assert [said[m] for m in lines] == [1]
            taken = [e for e in told if e.iterations == it.iteration and not e.status.is_terminal()]
            assert taken and taken[-1].cost == pytest.approx(cost, abs=1e-6)


async def check_bill(
    runtime: Runtime, job_ids: list[str], server: FakeLLMServer, expect: Expect | None
) -> None:
    """The provider's bill (of these jobs only) against what was recorded. Without
    `expect`, any number of attempts may have been left in flight, each answer lost
    with one of them."""
    store = runtime.store
    calls = [c for job_id in job_ids for c in await store.list_calls(job_id=job_id)]
    spent = sum([(await store.job_budget(job_id)).spent_usd for job_id in job_ids], Decimal(0))
    pricing = runtime.deps.pricing
    billed = Counter((b.model, b.input_tokens, b.output_tokens) for b in server.bill)
    answered = [c for c in calls if c.outcome is CallOutcome.OK]
    recorded = Counter((c.model, c.input_tokens, c.output_tokens) for c in answered)
    assert recorded <= billed  # every recorded answer was billed, once
    lost = billed - recorded  # billed, never recorded: the answer in hand at the fault
    interrupted = [c for c in calls if c.outcome is CallOutcome.INTERRUPTED]
    if expect is not None:
        assert sum(lost.values()) == expect.answers_lost
        assert len(interrupted) == expect.in_flight_left
    assert sum(lost.values()) <= len(interrupted)
    lost_usd = sum((pricing.cost(*k) for k in lost.elements()), Decimal(0))
    charged = sum((Decimal(str(c.cost_usd)) for c in interrupted), Decimal(0))
    assert charged >= lost_usd  # each lost answer charged at least what it was billed
    answers_usd = sum((pricing.cost(*k) for k in recorded.elements()), Decimal(0))
    assert abs(spent - (answers_usd + charged)) <= Decimal("1e-9")
    keys = Counter((c.job_id, c.task_id, c.iteration, c.role, c.slot) for c in answered)
    assert not keys or max(keys.values()) == 1  # no logical call answered twice


def check_approved_run(stored: list[StoredEvent]) -> None:
    """The history of a job planned for review, then approved and run: its ids with no gap;
    planned, stopped for review once, approved once, ran once to its end, one `done`."""
    assert [e.id for e in stored] == list(range(1, len(stored) + 1))
    events = [e.event for e in stored]
    statuses = [e.status for e in events if isinstance(e, StatusEvent)]
    assert statuses[:4] == [
        JobStatus.PENDING,
        JobStatus.RUNNING,
        JobStatus.AWAITING_REVIEW,
        JobStatus.PENDING,
    ]
    assert statuses[4:-1] == [JobStatus.RUNNING] and statuses[-1].is_terminal()
    assert [type(e) for e in events].count(DoneEvent) == 1
