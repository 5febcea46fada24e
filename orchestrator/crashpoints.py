"""Named moments inside the job's durable steps where a test may crash the process.

Every durable step of the job (`JobSteps` in runtime/steps.py, `TreeSteps` in
runtime/tree_steps.py, `Reviews.stop_for_review` in runtime/review.py), and the approval of
a reviewed plan (`Reviews.approve`, whose run starts after its end), is marked `@step`: it
reaches `<step>.start` before it does anything and `<step>.end` after its last write, before
DBOS records its result. Writes inside a step reach their own points (`reach("reserved")`
becomes `llm_call.reserved` there). `POINTS` lists them all; the crash harness
(tests/test_crash_points.py) kills a process at each one and checks that the job still ends
right, and that the list matches the code.

Without an installed hook a point costs a context-variable read: nothing else happens.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_STEP_NAMES = (
    "begin_job",
    "save_plan",
    "begin_task",
    "llm_call",
    "save_iteration",
    "finish_task",
    "skip_tasks",
    "finish_job",
    "stop_for_review",  # runtime/review.py
    "approve",  # runtime/review.py: not a step of a workflow; the job's run starts after it
    "reject_plan",  # runtime/rejects.py: the reject's workflow, then finish_job
)
# The reject's last step starts its webhooks' workflows: it writes nothing of ours.
_REJECT = {"announce_rejected.start", "announce_rejected.end"}
# The state a step writes and the events describing it commit together: a crash inside the
# transaction ("in_transaction", after the state's rows, before its events) leaves neither.
_OUTBOX = {"start", "in_transaction", "end"}
POINTS: frozenset[str] = frozenset(
    {f"{step}.{p}" for step in _STEP_NAMES if step != "llm_call" for p in _OUTBOX}
    | _REJECT
    | {
        "llm_call.start",
        "llm_call.reserved",  # the attempt is stored in flight; its request is not sent
        "llm_call.answered",  # the provider answered (and billed); nothing recorded yet
        "llm_call.recorded",  # the answer and its cost are stored; its events are not
        "llm_call.warning_due",  # its cost event is stored, at 80 % of the budget; no warning
        "llm_call.end",
        "finish_job.interrupted_closed",  # attempts left in flight are charged; no status yet
    }
    # runtime/tree_steps.py: the tree's tests, and a fix round's commit then its log line.
    | {"accept_tree.start", "accept_tree.end", "commit_fix.start", "commit_fix.end"}
    | {"commit_fix.committed"}  # the fix round's commit is made; its line is not told
)

_step: ContextVar[str] = ContextVar("crash_step", default="")
_hook: Callable[[str], None] | None = None


def install(hook: Callable[[str], None] | None) -> None:
    """Call `hook(point)` at every point reached from now on (None removes it)."""
    global _hook
    _hook = hook


def reach(point: str) -> None:
    """Mark `point` of the step running now (outside a step, nothing)."""
    if _hook is None:
        return
    step = _step.get()
    if step:
        name = f"{step}.{point}"
        if name not in POINTS:
            raise AssertionError(f"crash point {name!r} is not listed in POINTS")
        _hook(name)


def step(
    method: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Mark a durable step: its points are named after it."""
    name = method.__name__

    @functools.wraps(method)
    async def marked(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _step.set(name)
        try:
            reach("start")
            result = await method(*args, **kwargs)
            reach("end")
            return result
        finally:
            _step.reset(token)

    marked.__crash_step__ = name  # type: ignore[attr-defined]
    return marked


def step_names(obj: Any) -> set[str]:
    """The methods of `obj` marked as steps."""
    return {
        name
        for name in dir(obj)
        if getattr(getattr(obj, name, None), "__crash_step__", None) == name
    }
