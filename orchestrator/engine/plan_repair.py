"""Plan repair: a planner's near-valid answer made into a valid `Plan`, deterministically.

A small model's plan is often JSON of the right shape with faults `Plan` rejects: ids that
are numbers, repeated or missing, dependencies on ids that do not exist, thresholds of 85,
task types of its own invention, cycles, tasks without a prompt. Asking again rarely helps
such a model; repairing the answer does. The repair works on the decoded JSON before
validation, and every change is said in words for the job's log.

Each rule is one function of a `PlanDraft` (the tasks as decoded dicts) that fixes one kind
of fault in place and notes what it changed; `RULES` runs them in order. To add one, write
the function and put it in the list. `PlanInvalid` only when no task with a prompt is left.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from orchestrator.domain import MAX_DESCRIPTION_CHARS, TaskType
from orchestrator.errors import PlanInvalid
from orchestrator.plan import MAX_PLAN_TASKS, Plan, find_cycle, related
from orchestrator.project_paths import path_problem
from orchestrator.storable import storable

__all__ = ["RULES", "PlanDraft", "RepairedPlan", "guess_task_type", "repair_plan"]

RawTask = dict[str, Any]  # one task as the model wrote it: decoded JSON, not yet a model


@dataclass
class PlanDraft:
    """The plan being repaired: its tasks in the answer's order, and what was changed."""

    tasks: list[RawTask]
    repairs: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        self.repairs.append(line)


Rule = Callable[[PlanDraft], None]


class RepairedPlan(BaseModel):
    plan: Plan
    repairs: list[str]


_CODE_WORDS = frozenset(
    {
        "api", "app", "bug", "class", "cli", "code", "coding", "compile", "debug", "endpoint",
        "function", "functions", "implement", "library", "module", "program", "python",
        "refactor", "script", "server", "sql", "test", "tests", "unittest",
    }
)  # fmt: skip


def guess_task_type(text: str) -> TaskType:
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return (
        TaskType.CODE_GENERATION if _CODE_WORDS.intersection(words) else TaskType.COMPLEX_REASONING
    )


# Words small models use for a task type, read as the closest known one.
_TYPE_WORDS: dict[str, TaskType] = {
    **dict.fromkeys(
        ("code", "coding", "programming", "implementation", "implement", "python", "script",
         "development", "testing", "test", "tests"),
        TaskType.CODE_GENERATION,
    ),
    **dict.fromkeys(("review", "code_check", "audit"), TaskType.CODE_REVIEW),
    **dict.fromkeys(
        ("reasoning", "analysis", "design", "planning", "architecture", "research"),
        TaskType.COMPLEX_REASONING,
    ),
    **dict.fromkeys(
        ("writing", "documentation", "docs", "text", "story"), TaskType.CREATIVE_WRITING
    ),
    **dict.fromkeys(("extraction", "parsing", "data"), TaskType.DATA_EXTRACTION),
    **dict.fromkeys(("summary", "summarize", "summarise"), TaskType.SUMMARIZATION),
    **dict.fromkeys(("evaluate", "assessment", "validation", "verification"), TaskType.EVALUATION),
}  # fmt: skip
_PROMPT_STAND_INS = ("description", "instructions", "task", "details", "content", "title", "name")
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_TRAILING_NUMBER = re.compile(r"(\d+)\D*$")
_MAX_ID = 64


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _clean_id(value: object) -> str:
    """An id as `PlannedTask` takes it: letters, digits, `_.-`, at most 64 characters."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return _ID_CHARS.sub("_", text.strip()).strip("_.-")[:_MAX_ID]


def _number_of(value: str) -> int | None:
    found = _TRAILING_NUMBER.search(value)
    return int(found.group(1)) if found else None


# The rules, in the order they run.


def keep_objects(draft: PlanDraft) -> None:
    kept = [t for t in draft.tasks if isinstance(t, dict)]
    dropped = len(draft.tasks) - len(kept)
    if dropped:
        what = "an item was" if dropped == 1 else f"{dropped} items were"
        draft.note(f"{what} not a task (dropped)")
    draft.tasks = kept


def limit_count(draft: PlanDraft) -> None:
    if len(draft.tasks) > MAX_PLAN_TASKS:
        draft.note(f"{len(draft.tasks)} tasks: kept the first {MAX_PLAN_TASKS}")
        del draft.tasks[MAX_PLAN_TASKS:]


def fill_prompts(draft: PlanDraft) -> None:
    """A task's prompt, or the first text field standing in for it; no text: dropped."""
    kept = []
    for task in draft.tasks:
        name, prompt = task["id"], task.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            stand_in = next(
                (k for k in _PROMPT_STAND_INS if isinstance(task.get(k), str) and task[k].strip()),
                None,
            )
            if stand_in is None:
                draft.note(f"task {name!r} had no prompt (dropped)")
                continue
            draft.note(f"task {name!r} had no prompt: its {stand_in} stands in")
            prompt = task[stand_in]
        if len(prompt) > MAX_DESCRIPTION_CHARS:
            draft.note(f"task {name!r}: prompt cut to {MAX_DESCRIPTION_CHARS} characters")
        task["prompt"] = storable(prompt.strip()[:MAX_DESCRIPTION_CHARS])
        kept.append(task)
    draft.tasks = kept


def normalise_ids(draft: PlanDraft) -> None:
    """Ids made valid and unique (a missing one is `task_NNN`); dependencies written alike."""
    taken: set[str] = set()
    for n, task in enumerate(draft.tasks, 1):
        given = task.get("id")
        new = _clean_id(given) or f"task_{n:03d}"
        base, k = new, 2
        while new in taken:
            new, k = f"{base[: _MAX_ID - 4]}_{k}", k + 1
        taken.add(new)
        if given is None:
            draft.note(f"task {n} had no id: named {new!r}")
        elif new != given:
            draft.note(f"task {n}: id {_shown(given)} written {new!r}")
        task["id"] = new


def resolve_dependencies(draft: PlanDraft) -> None:
    """Dependencies as a list of known ids: a number read as the id that ends in it, the
    task itself, repeats and unknown ids dropped."""
    ids = [t["id"] for t in draft.tasks]
    by_number: dict[int, list[str]] = {}
    for i in ids:
        number = _number_of(i)
        if number is not None:
            by_number.setdefault(number, []).append(i)
    for task in draft.tasks:
        me, given = task["id"], task.get("dependencies")
        if given is None:
            given = []
        elif isinstance(given, str):
            given = [d for d in given.split(",") if d.strip()]
        elif not isinstance(given, list):
            draft.note(f"task {me!r}: dependencies {_shown(given)} not a list (dropped)")
            given = []
        deps: list[str] = []
        for dep in given:
            raw = dep.get("id") if isinstance(dep, dict) else dep
            found = _clean_id(raw)
            number = _number_of(found) if found else None
            if found not in ids and number is not None and len(by_number.get(number, [])) == 1:
                found = by_number[number][0]
                draft.note(f"task {me!r}: dependency {_shown(raw)} read as {found!r}")
            if found == me:
                draft.note(f"task {me!r} depended on itself (dropped)")
            elif found not in ids:
                draft.note(f"task {me!r} depended on unknown {_shown(raw)} (dropped)")
            elif found not in deps:
                deps.append(found)
        task["dependencies"] = deps


def _closest_type(word: str, known: list[str]) -> TaskType | None:
    """A near spelling, a usual word for the type, a unique first word, a known part."""
    if not word:
        return None
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.75)
    if close:
        return TaskType(close[0])
    if word in _TYPE_WORDS:
        return _TYPE_WORDS[word]
    head = word.split("_")[0]
    prefixed = [k for k in known if k.split("_")[0] == head]
    if len(prefixed) == 1:
        return TaskType(prefixed[0])
    parts = [p for p in word.split("_") if p in _TYPE_WORDS]
    return _TYPE_WORDS[parts[0]] if parts else None


def normalise_types(draft: PlanDraft) -> None:
    """An unknown type read as the closest known one, else guessed from the prompt."""
    known = [t.value for t in TaskType]
    for task in draft.tasks:
        given = task.get("type")
        word = _clean_id(given).lower().replace("-", "_").replace(".", "_")
        if word in known:
            if given != word:
                task["type"] = word
            continue
        chosen = _closest_type(word, known)
        how = "read as"
        if chosen is None:
            chosen, how = guess_task_type(task["prompt"]), "guessed from the prompt:"
        draft.note(f"task {task['id']!r}: type {_shown(given)} {how} {chosen.value}")
        task["type"] = chosen.value


def clamp_thresholds(draft: PlanDraft) -> None:
    """A threshold in 0..1: a percentage read as a fraction, a non-number left to the type."""
    for task in draft.tasks:
        given = task.get("acceptance_threshold")
        if given is None:
            continue
        value: float | None
        try:
            value = None if isinstance(given, bool) else float(given)
        except (TypeError, ValueError):
            value = None
        if value is None or value != value:  # NaN
            draft.note(f"task {task['id']!r}: threshold {_shown(given)} not a number (dropped)")
            task["acceptance_threshold"] = None
            continue
        # A whole number above 1 is a percentage ("85"); anything else is held in range.
        percent = 1 < value <= 100 and value.is_integer()
        fixed = value / 100 if percent else min(max(value, 0.0), 1.0)
        if fixed != given:
            draft.note(f"task {task['id']!r}: threshold {_shown(given)} read as {fixed:g}")
        task["acceptance_threshold"] = fixed


def clean_titles(draft: PlanDraft) -> None:
    for task in draft.tasks:
        title = task.get("title")
        if title is not None and not isinstance(title, str):
            task["title"] = ""
        elif isinstance(title, str):
            task["title"] = storable(title)


def clean_files(draft: PlanDraft) -> None:
    """A task's files as paths of the project tree: `./` dropped from the front, a path the
    tree cannot hold (empty, absolute, `..`) dropped with the reason."""
    for task in draft.tasks:
        given = task.get("files")
        if given is None:
            continue
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, list):
            draft.note(f"task {task['id']!r}: files {_shown(given)} not a list (dropped)")
            given = []
        kept: list[str] = []
        for path in given:
            clean = path.strip().removeprefix("./") if isinstance(path, str) else None
            why = "not a path" if clean is None else path_problem(clean)
            if why is not None:
                draft.note(f"task {task['id']!r}: file {_shown(path)} dropped: {why}")
            elif clean is not None and clean not in kept:
                if clean != path:
                    draft.note(f"task {task['id']!r}: file {_shown(path)} written {clean!r}")
                kept.append(clean)
        task["files"] = kept


def break_cycles(draft: PlanDraft) -> None:
    """Each cycle loses the dependency that closes it."""
    by_id = {t["id"]: t for t in draft.tasks}
    while cycle := find_cycle({i: t["dependencies"] for i, t in by_id.items()}):
        last, closing = cycle[-2], cycle[-1]
        by_id[last]["dependencies"].remove(closing)
        path = " -> ".join(cycle)
        draft.note(f"task {last!r} depended on {closing!r}, closing a cycle {path} (dropped)")


def one_owner_per_file(draft: PlanDraft) -> None:
    """A path two tasks write, neither building on the other (they may run at once and
    overwrite each other), stays with the first; the later one loses it."""
    graph = {t["id"]: t["dependencies"] for t in draft.tasks}
    owners: dict[str, str] = {}
    for task in draft.tasks:
        me, kept = task["id"], []
        for path in task.get("files") or []:
            owner = owners.setdefault(path, me)
            if owner == me or related(graph, me, owner):
                kept.append(path)
            else:
                draft.note(
                    f"task {me!r}: file {path!r} is written by {owner!r}, which it does not "
                    "build on (dropped)"
                )
        if "files" in task:
            task["files"] = kept


RULES: list[Rule] = [
    keep_objects,
    limit_count,
    normalise_ids,
    fill_prompts,
    resolve_dependencies,
    normalise_types,
    clamp_thresholds,
    clean_titles,
    clean_files,
    break_cycles,
    one_owner_per_file,  # after the dependencies are final: they decide who may share a path
]


def _task_list(raw: object, draft_notes: list[str], depth: int = 2) -> list[Any] | None:
    """The answer's list of tasks: `{"tasks": [...]}`, or a bare list, one task, or a
    wrapper object around either (`depth` wrappers at most)."""
    if isinstance(raw, list):
        draft_notes.append("the answer was a bare list of tasks")
        return raw
    if not isinstance(raw, dict):
        return None
    tasks = raw.get("tasks")
    if isinstance(tasks, list):
        return tasks
    if isinstance(tasks, dict):
        draft_notes.append("`tasks` was one task, not a list")
        return [tasks]
    if "prompt" in raw:
        draft_notes.append("the answer was one task, not a plan")
        return [raw]
    inner = [v for v in raw.values() if isinstance(v, dict | list)]
    if len(inner) == 1 and depth > 0:
        return _task_list(inner[0], draft_notes, depth - 1)
    return None


def repair_plan(raw: object, rules: list[Rule] = RULES) -> RepairedPlan:
    """The decoded answer as a valid Plan and the repairs made to it (none for a valid
    plan); PlanInvalid when no usable task is left."""
    notes: list[str] = []
    tasks = _task_list(raw, notes)
    if tasks is None:
        raise PlanInvalid("the answer holds no list of tasks")
    draft = PlanDraft(tasks=[dict(t) if isinstance(t, dict) else t for t in tasks], repairs=notes)
    for rule in rules:
        rule(draft)
        if not draft.tasks:
            raise PlanInvalid("; ".join([*draft.repairs, "no usable task is left"]))
    try:
        plan = Plan.model_validate({"tasks": draft.tasks})
    except ValidationError as e:
        problems = [f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:10]]
        raise PlanInvalid("; ".join(problems)) from e
    return RepairedPlan(plan=plan, repairs=draft.repairs)
