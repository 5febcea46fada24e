"""The plan: the tasks a decomposition produces (and a reviewer may edit), the checks that
make it a runnable graph with one owner per file of the project tree, and its cost forecast.

Plain data shared by every layer, like orchestrator/domain.py; nothing here does I/O.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from orchestrator.domain import MAX_DESCRIPTION_CHARS, TaskType
from orchestrator.project_paths import path_problem
from orchestrator.storable import StorableText

TITLE_MAX_CHARS = 60
MAX_TREE_FILES = 200  # files of one job's project tree


def _project_path(path: str) -> str:
    problem = path_problem(path)
    if problem is not None:
        raise PydanticCustomError(
            "project_path", "{path}: {problem}", {"path": path[:80], "problem": problem}
        )
    return path


def _distinct(paths: list[str]) -> list[str]:
    return list(dict.fromkeys(paths))


# A file of the project tree: a plain relative POSIX path (see project_paths.path_problem).
ProjectPath = Annotated[str, AfterValidator(_project_path)]
# The files a task creates or changes: its part of the plan's manifest.
TaskFiles = Annotated[
    list[ProjectPath], Field(max_length=MAX_TREE_FILES), AfterValidator(_distinct)
]


def short_title(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """One line of at most `limit` characters, cut at a word with "…" when longer."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"


class PlannedTask(BaseModel):
    """One node of the plan, as the decomposition model must produce it."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    title: StorableText = Field(
        default="",
        max_length=TITLE_MAX_CHARS,
        description=f"What the task does, in a few words (at most {TITLE_MAX_CHARS} characters)",
    )
    type: TaskType
    prompt: StorableText = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS)
    dependencies: list[StorableText] = Field(default_factory=list)
    acceptance_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    files: TaskFiles = Field(
        default_factory=list,
        description="Paths (relative to the project's root) of the files the task creates or "
        "changes; empty for a task that delivers no file",
    )

    @field_validator("title", mode="before")
    @classmethod
    def _shorten_title(cls, value: object) -> object:
        # A long title is shortened, not a reason to reject the whole plan.
        return short_title(value) if isinstance(value, str) else value


MAX_PLAN_TASKS = 50


class ReviewedTask(PlannedTask):
    """A plan node as a reviewer may edit it: it may also pin the model that generates it."""

    model: StorableText | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_task(
        cls, data: object, handler: ModelWrapValidatorHandler[ReviewedTask]
    ) -> ReviewedTask:
        # A reviewer's error names the task by its id, not by its place in the list.
        try:
            return handler(data)
        except ValidationError as e:
            task_id = data.get("id") if isinstance(data, dict) else None
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'task'}: {err['msg']}"
                for err in e.errors(include_url=False)
            )
            raise PydanticCustomError(
                "invalid_task",
                "task {task}: {problems}",
                {"task": task_id or "?", "problems": problems},
            ) from None


class Plan(BaseModel):
    """A validated task graph: unique ids, known dependencies, no cycles."""

    tasks: list[PlannedTask] = Field(min_length=1, max_length=MAX_PLAN_TASKS)

    @model_validator(mode="after")
    def _check_graph(self) -> Plan:
        ids = [t.id for t in self.tasks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate task ids: {', '.join(duplicates)}")
        known = set(ids)
        for t in self.tasks:
            unknown = [d for d in t.dependencies if d not in known]
            if unknown:
                raise ValueError(
                    f"task {t.id}: dependencies: depends on unknown task(s): {', '.join(unknown)}"
                )
            if t.id in t.dependencies:
                raise ValueError(f"task {t.id}: dependencies: depends on itself")
        cycle = find_cycle({t.id: t.dependencies for t in self.tasks})
        if cycle:
            raise ValueError(
                f"task {cycle[0]}: dependencies: dependency cycle: {' -> '.join(cycle)}"
            )
        clash = find_file_clash({t.id: (t.dependencies, t.files) for t in self.tasks})
        if clash:
            raise ValueError(clash)
        return self


class ReviewedPlan(Plan):
    """A plan as a reviewer sends it back (`PUT /api/jobs/{id}/plan`): checked as a planner's."""

    tasks: list[ReviewedTask] = Field(min_length=1, max_length=MAX_PLAN_TASKS)  # type: ignore[assignment]


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """Return one cycle of `graph` (node -> dependencies) as a path, or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for dep in graph.get(node, []):
            if colour.get(dep, black) == grey:
                return [*stack[stack.index(dep) :], dep]
            if colour.get(dep) == white:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in graph:
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
    return None


def find_file_clash(tasks: dict[str, tuple[list[str], list[str]]]) -> str | None:
    """Why two tasks of a plan (id -> (dependencies, files)) may not both write one path, or
    None: a path has one creator, and only tasks that build on it (depend on it, directly or
    not) may change it afterwards; two tasks that run independently would overwrite each
    other."""
    graph = {task_id: deps for task_id, (deps, _files) in tasks.items()}
    owners: dict[str, str] = {}
    for task_id, (_deps, files) in tasks.items():
        for path in files:
            first = owners.setdefault(path, task_id)
            if first != task_id and not related(graph, task_id, first):
                return (
                    f"task {task_id}: files: {path!r} is also written by task {first}, and "
                    "neither depends on the other (a path has one owner; a task that changes "
                    "it must depend on its owner)"
                )
    return None


def related(graph: dict[str, list[str]], a: str, b: str) -> bool:
    """Whether one of tasks `a` and `b` depends on the other, directly or through others
    (`graph`: task -> its dependencies)."""
    return _depends_on(graph, a, b) or _depends_on(graph, b, a)


def _depends_on(graph: dict[str, list[str]], task_id: str, other: str) -> bool:
    seen: set[str] = set()
    stack = list(graph.get(task_id, []))
    while stack:
        dep = stack.pop()
        if dep == other:
            return True
        if dep not in seen:
            seen.add(dep)
            stack.extend(graph.get(dep, []))
    return False


class Estimate(BaseModel):
    """A cost range in USD."""

    low: float
    expected: float
    high: float

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            low=self.low + other.low,
            expected=self.expected + other.expected,
            high=self.high + other.high,
        )


class TaskForecast(BaseModel):
    """One task's forecast (engine/forecast.py): where its calls go and what they may cost."""

    task_id: str
    model: str | None  # the generator (None: no configured model can answer the type)
    critic: str | None
    evaluators: list[str]
    iterations: Estimate  # low / expected / high iteration counts
    cost: Estimate
    basis: str  # what the numbers rest on


class Forecast(BaseModel):
    """A plan's forecast, per task and for the job. A job stores the one it runs against (at
    approval, or when it starts unreviewed), to be set against what it really cost."""

    tasks: list[TaskForecast]
    total: Estimate
    recorded_calls: int  # answered calls of past jobs the answer sizes come from
    basis: str


class ForecastOutcome(BaseModel):
    """What a past job's stored forecast expected of one of its tasks (`task_type` None: of
    the whole job) and what it really cost: the errors a forecast's band is learnt from."""

    task_type: TaskType | None
    model: str | None  # the task's forecast generator
    expected: float
    actual: float
    recorded_calls: int = 0  # the history that forecast rested on (Forecast.recorded_calls)
