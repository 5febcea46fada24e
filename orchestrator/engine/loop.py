"""The task loop: generate, then per iteration critique → revise → validate → evaluate twice.

Rules: the critic and the evaluators avoid the generator's provider; two evaluations that
differ by more than 0.05 count as the lower, else as their mean; a failed (non-soft)
validator caps the score at 0.5 and strictly below the task's threshold, so code that does
not run or fails its tests never passes; a soft one only informs the critic and the evaluators.
The loop stops at the threshold, on a plateau (gain < 0.02) or at max iterations, and
keeps the best iteration. A budget, time or cancel status stops it at once. Deterministic
given the `CallResult`s (no clock, no randomness, no I/O beyond the `Caller`, the
validators and `on_iteration`), so the durable runtime can replay it. Malformed model
output never raises out of `run_task`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from orchestrator.config import TaskTypePolicy
from orchestrator.domain import (
    Evaluation,
    IterationRecord,
    Role,
    StopReason,
    TaskResult,
    TaskState,
    TaskStatus,
    ValidatorResult,
)
from orchestrator.engine import prompts, tree_checks, validators
from orchestrator.engine.call_notes import SELF_EVALUATED
from orchestrator.engine.calls_api import Caller, CallResult, CallSpec, CallStatus
from orchestrator.engine.validators import SandboxLimits, hard_failures, normalize_output
from orchestrator.workspace import FilesAnswer, answers_with_files

__all__ = ["combine_scores", "run_task"]

_HALTS = {
    CallStatus.BUDGET_EXHAUSTED: StopReason.BUDGET,
    CallStatus.TIMEOUT: StopReason.TIMEOUT,
    CallStatus.CANCELLED: StopReason.CANCELLED,
}
PLATEAU_DELTA = 0.02
DISAGREEMENT = 0.05
VALIDATOR_CAP = 0.5
# How far below its threshold a hard-failing iteration is held (scores carry 4 decimals).
BELOW_THRESHOLD = 0.01

OnIteration = Callable[[IterationRecord], Awaitable[None]]


def combine_scores(scores: Sequence[float]) -> float:
    """Two evaluations that disagree by more than 0.05 count as the lower; else their mean."""
    if len(scores) < 2:
        return scores[0] if scores else 0.0
    a, b = scores[0], scores[1]
    # Rounded: 0.90 - 0.85 is 0.05000000000000004 in floating point.
    if round(abs(a - b), 6) > DISAGREEMENT:
        return min(a, b)
    return round((a + b) / 2, 4)


def _hard_failure_cap(threshold: float) -> float:
    """The highest score of an output whose hard checks fail: at most 0.5, below `threshold`."""
    return max(0.0, min(VALIDATOR_CAP, round(threshold - BELOW_THRESHOLD, 4)))


# Answers that are short by nature need no 4k-token cap (nor the budget reserved for one).
ROLE_MAX_TOKENS: dict[Role, int] = {Role.EVALUATE: 600, Role.CRITIQUE: 1500}


class _Halt(Exception):
    """A call came back budget-exhausted, timed out or cancelled: the loop stops at once."""

    def __init__(self, result: CallResult, where: str) -> None:
        super().__init__(result.error or result.status.value)
        self.result, self.where = result, where


@dataclass
class _Session:
    """One task's calls: spend, halting statuses, notes for the result's reason."""

    task: TaskState
    call: Caller
    limits: SandboxLimits
    # The project tree the task starts from (what its ancestors wrote): its files are
    # checked on it. Only a task that answers with files has one.
    base: Mapping[str, str] = field(default_factory=dict)
    # The task's own files as its latest answers left them (SEARCH/REPLACE edits apply to
    # these), and the files each stored answer's edits were applied to.
    current: dict[str, str] = field(default_factory=dict)
    edit_bases: dict[str, dict[str, str]] = field(default_factory=dict)
    total_cost: float = 0.0
    calls: list[CallResult] = field(default_factory=list)  # of the current iteration
    notes: list[str] = field(default_factory=list)
    # The generator: critics and evaluators avoid its provider, and when only that provider
    # can answer, prefer its other models to the generator itself.
    generator: CallResult | None = None
    self_evaluated: bool = False  # a critique or score came from the generator's provider
    iteration_self_evaluated: bool = False  # the same, in the current iteration

    async def ask(
        self,
        role: Role,
        prompt: prompts.Prompt,
        *,
        iteration: int,
        slot: int = 0,
        prefer: Sequence[str] = (),
        avoid: Sequence[str | None] = (),
    ) -> CallResult:
        evaluation = role is Role.EVALUATE
        review = role in (Role.CRITIQUE, Role.EVALUATE)
        schema, schema_name = None, None
        if evaluation:
            schema, schema_name = Evaluation.model_json_schema(), "evaluation"
        elif role in (Role.GENERATE, Role.REVISE) and answers_with_files(self.task):
            schema, schema_name = FilesAnswer.model_json_schema(), "files"
        author = self.generator.model if review and self.generator else None
        spec = CallSpec(
            role=role,
            task_id=self.task.task_id,
            task_type=self.task.type,
            iteration=iteration,
            slot=slot,
            system=prompt.system,
            prompt=prompt.user,
            json_schema=schema,
            schema_name=schema_name,
            max_tokens=ROLE_MAX_TOKENS.get(role),
            prefer=[m for m in dict.fromkeys(prefer) if m],
            avoid_providers=[p for p in dict.fromkeys(avoid) if p],
            avoid_models=[author] if author else [],
            pinned=role in (Role.GENERATE, Role.REVISE) and bool(self.task.pinned_model),
        )
        result = await self.call(spec)
        self.total_cost += result.cost_usd
        if review and result.ok and self.generator and result.provider == self.generator.provider:
            self.self_evaluated = self.iteration_self_evaluated = True
        self.calls.append(result)
        if result.status in _HALTS:
            raise _Halt(result, f"{role} of iteration {iteration}")
        return result

    def normalize(self, result: CallResult, i: int) -> str:
        """What the task keeps of an answer ("" for a failed call). A files answer's edits
        apply to the latest version of each file (`current`), which it then updates."""
        if not result.ok:
            return ""
        if not answers_with_files(self.task):
            return normalize_output(self.task.type, result.text)
        existing = {**self.base, **self.current}
        output, notes, files = tree_checks.normalize_answer(self.task, result.text, existing)
        self.edit_bases[output] = existing
        self.current = {**self.current, **files}
        self.notes += [f"iteration {i}: {note}" for note in notes]
        return output

    async def validate(self, output: str) -> list[ValidatorResult]:
        if answers_with_files(self.task):
            existing = self.edit_bases.get(output, self.base)
            return await tree_checks.check_tree(self.task, output, self.base, self.limits, existing)
        return await validators.run_validators(
            self.task.type, output, prompt=self.task.prompt, limits=self.limits
        )

    def take_calls(self) -> tuple[list[CallResult], bool]:
        """The current iteration's calls and whether it was self-evaluated; the next
        iteration starts afresh."""
        calls, self.calls = self.calls, []
        self_evaluated, self.iteration_self_evaluated = self.iteration_self_evaluated, False
        return calls, self_evaluated


def _parse_evaluation(result: CallResult) -> Evaluation | None:
    if not result.ok:
        return None
    try:
        return Evaluation.model_validate_json(validators.unwrap_fence(result.text).strip())
    except ValidationError:
        return None


async def _one_evaluation(
    s: _Session, prompt: prompts.Prompt, i: int, slot: int, avoid: list[str | None]
) -> tuple[Evaluation | None, CallResult]:
    """One evaluation, retried once at `slot + 2` when it fails or is malformed.

    `avoid[0]`, the generator's provider, is always avoided; the rest only on the first try,
    so that a catalog with few providers still gets its evaluation on the retry.
    """
    result = await s.ask(Role.EVALUATE, prompt, iteration=i, slot=slot, avoid=avoid)
    parsed = _parse_evaluation(result)
    # A failed call was already retried across providers by the caller: try again only when
    # the answer was malformed or the retry widens the choice of evaluators.
    if parsed is None and (result.ok or set(avoid) - {avoid[0], None}):
        result = await s.ask(Role.EVALUATE, prompt, iteration=i, slot=slot + 2, avoid=avoid[:1])
        parsed = _parse_evaluation(result)
    return parsed, result


async def _evaluate(
    s: _Session, i: int, output: str, checks: list[ValidatorResult], generator_provider: str | None
) -> list[float]:
    prompt = prompts.evaluate(s.task, output, checks, threshold=s.task.acceptance_threshold)
    first, first_call = await _one_evaluation(s, prompt, i, 0, [generator_provider])
    # The second opinion should come from another provider than the first, when possible.
    other = first_call.provider if first is not None else None
    second, second_call = await _one_evaluation(s, prompt, i, 1, [generator_provider, other])
    scores = [e.score for e in (first, second) if e is not None]
    if not scores:
        why = first_call.error or second_call.error or "malformed answers"
        s.notes.append(f"iteration {i}: both evaluations failed ({why}); scored 0.0")
    return scores


@dataclass
class _Draft:
    output: str
    model: str
    checks: list[ValidatorResult]


async def _iterate(
    s: _Session, i: int, draft: _Draft, generator: CallResult, policy: TaskTypePolicy
) -> IterationRecord:
    # Every failed check reaches the critic and the reviser, soft ones (lint, placeholders)
    # included; only the hard ones cap the score below.
    failures = [c for c in draft.checks if not c.passed]
    crit = await s.ask(
        Role.CRITIQUE,
        prompts.critique(s.task, draft.output, failures),
        iteration=i,
        avoid=[generator.provider],
    )
    critique_text = crit.text.strip() if crit.ok else ""
    if not critique_text:
        s.notes.append(f"iteration {i}: no critique ({crit.error or 'empty answer'})")
    rev = await s.ask(
        Role.REVISE,
        prompts.revise(s.task, draft.output, critique_text, failures),
        iteration=i,
        prefer=[generator.model or "", *_generators(s.task, policy)],  # the author first
    )
    revised = s.normalize(rev, i)
    if revised.strip():
        output, model = revised, rev.model or draft.model
    else:
        # Keep the previous output: it still deserves a score this iteration.
        s.notes.append(f"iteration {i}: revision failed ({rev.error or 'empty answer'})")
        output, model = draft.output, draft.model
    checks = draft.checks if output == draft.output else await s.validate(output)
    scores = await _evaluate(s, i, output, checks, generator.provider)
    score = combine_scores(scores)
    if hard_failures(checks):
        score = min(score, _hard_failure_cap(s.task.acceptance_threshold))
    calls, self_evaluated = s.take_calls()
    return IterationRecord(
        iteration=i,
        model=model,
        output=output,
        critique=critique_text,
        critic_model=crit.model if critique_text else None,
        validators=checks,
        scores=scores,
        score=score,
        input_tokens=sum(c.input_tokens for c in calls),
        output_tokens=sum(c.output_tokens for c in calls),
        cost_usd=sum(c.cost_usd for c in calls),
        latency_ms=sum(c.latency_ms for c in calls),
        self_evaluated=self_evaluated,
    )


def _generators(task: TaskState, policy: TaskTypePolicy) -> list[str]:
    """Who may write the task: the model a reviewer pinned, else the type's routing list."""
    return [task.pinned_model] if task.pinned_model else list(policy.models)


def _stop_reason(
    score: float, previous: float | None, i: int, last: int, threshold: float
) -> StopReason | None:
    if score >= threshold:
        return StopReason.THRESHOLD
    if previous is not None and round(score - previous, 6) < PLATEAU_DELTA:
        return StopReason.PLATEAU
    if i >= last:
        return StopReason.MAX_ITERATIONS
    return None


def _verdict(
    task: TaskState, best: IterationRecord | None, stop: StopReason | None, notes: list[str]
) -> tuple[TaskStatus, str]:
    threshold = task.acceptance_threshold
    if best is None:
        return TaskStatus.FAILED, "; ".join(notes) or "no output was produced"
    if best.score >= threshold:
        head = f"score {best.score:.2f} reached the threshold {threshold:.2f}"
        return TaskStatus.COMPLETED, "; ".join([head, *notes])
    head = f"best score {best.score:.2f} is below the threshold {threshold:.2f} ({stop})"
    return TaskStatus.DEGRADED, "; ".join([head, *notes])


async def run_task(
    task: TaskState,
    deps: Mapping[str, TaskResult],
    *,
    policy: TaskTypePolicy,
    call: Caller,
    on_iteration: OnIteration,
    sandbox: SandboxLimits | None = None,
    base: Mapping[str, str] | None = None,
) -> TaskResult:
    """Run one task to a terminal status; the result carries the best iteration's output.

    `base` is the project tree the task starts from (path -> contents): a task that answers
    with files has them checked on it."""
    s = _Session(task=task, call=call, limits=sandbox or SandboxLimits(), base=base or {})
    best: IterationRecord | None = None
    stop: StopReason | None = None
    generator: CallResult | None = None
    first_draft = ""  # the generated output, before any review
    count = 0
    try:
        gen = await s.ask(
            Role.GENERATE,
            prompts.generate(task, deps, s.base),
            iteration=1,
            prefer=_generators(task, policy),
        )
        output = s.normalize(gen, 1)
        if not output.strip():
            s.notes.append(f"generation failed: {gen.error or 'empty answer'}")
            stop = StopReason.NO_MODEL
        else:
            generator = s.generator = gen
            first_draft = output
            draft = _Draft(output, gen.model or "", await s.validate(output))
            previous: float | None = None
            for i in range(1, policy.max_iterations + 1):
                record = await _iterate(s, i, draft, generator, policy)
                count = i
                await on_iteration(record)
                if best is None or record.score > best.score:
                    best = record
                stop = _stop_reason(
                    record.score, previous, i, policy.max_iterations, task.acceptance_threshold
                )
                if stop is not None:
                    break
                previous = record.score
                draft = _Draft(record.output, record.model, record.validators)
    except _Halt as halt:
        stop = _HALTS[halt.result.status]
        why = halt.result.error or halt.result.status.value
        s.notes.insert(0, f"stopped during {halt.where}: {why}")
    if s.self_evaluated:
        s.notes.append(f"{SELF_EVALUATED}: no model of another provider could review it")
    status, reason = _verdict(task, best, stop, s.notes)
    output = best.output if best else ""
    if best is None and first_draft and stop is StopReason.BUDGET:
        # Paid for, and what dependents can build on with the budget that is left.
        status, output = TaskStatus.DEGRADED, first_draft
        reason += "; the first draft is kept, unreviewed"
    return TaskResult(
        task_id=task.task_id,
        status=status,
        score=best.score if best else None,
        model=generator.model if generator else None,
        output=output,
        cost_usd=round(s.total_cost, 10),
        iterations=count,
        stop_reason=stop,
        reason=reason,
    )
