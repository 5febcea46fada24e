"""Plan repair: the faults a small model's plan has, each repaired and said, deterministically;
`PlanInvalid` only when nothing usable is left."""

from __future__ import annotations

import json

import pytest

from orchestrator.config import DEFAULT_CATALOG, load_catalog
from orchestrator.domain import JobSpec, TaskType
from orchestrator.engine.calls_api import CallResult, CallSpec, CallStatus
from orchestrator.engine.plan_repair import RULES, PlanDraft, repair_plan
from orchestrator.engine.planner import make_plan
from orchestrator.errors import PlanInvalid
from orchestrator.plan import MAX_PLAN_TASKS, Plan


def task(tid: object, deps: object = None, **extra: object) -> dict[str, object]:
    return {"id": tid, "type": "code_generation", "prompt": f"do {tid}", "dependencies": deps or [],
            **extra}  # fmt: skip


def test_a_valid_plan_is_left_as_it_is() -> None:
    raw = {"tasks": [task("task_001"), task("task_002", ["task_001"])]}
    repaired = repair_plan(raw)
    assert repaired.repairs == []
    assert repaired.plan == Plan.model_validate(raw)


def test_ids_that_are_numbers_repeated_missing_or_spaced_are_made_valid() -> None:
    raw = {
        "tasks": [
            task(1),
            task(1, [1]),
            {"type": "code_generation", "prompt": "third"},
            task("Step 4: write tests", ["Step 4: write tests", 2]),
        ]
    }
    repaired = repair_plan(raw)
    ids = [t.id for t in repaired.plan.tasks]
    assert ids == ["1", "1_2", "task_003", "Step_4_write_tests"]
    # A dependency on a repeated id means its first holder; on itself, nothing.
    assert [t.dependencies for t in repaired.plan.tasks] == [[], ["1"], [], ["1_2"]]
    assert repaired.repairs == [
        "task 1: id 1 written '1'",
        "task 2: id 1 written '1_2'",
        "task 3 had no id: named 'task_003'",
        "task 4: id 'Step 4: write tests' written 'Step_4_write_tests'",
        "task 'Step_4_write_tests' depended on itself (dropped)",
        "task 'Step_4_write_tests': dependency 2 read as '1_2'",
    ]


def test_unknown_dependencies_are_dropped_and_numbers_read_as_the_id_ending_in_them() -> None:
    raw = {
        "tasks": [
            task("task_001"),
            task("task_002", ["step9", 1, "task_001", "task_001"]),
            task("task_003", "task_001, task_002"),
            task("task_004", {"after": "task_003"}),
        ]
    }
    repaired = repair_plan(raw)
    deps = {t.id: t.dependencies for t in repaired.plan.tasks}
    assert deps == {
        "task_001": [],
        "task_002": ["task_001"],
        "task_003": ["task_001", "task_002"],
        "task_004": [],
    }
    assert repaired.repairs == [
        "task 'task_002' depended on unknown 'step9' (dropped)",
        "task 'task_002': dependency 1 read as 'task_001'",
        'task \'task_004\': dependencies {"after": "task_003"} not a list (dropped)',
    ]


def test_thresholds_are_read_as_fractions_in_range() -> None:
    raw = {
        "tasks": [
            task("a", acceptance_threshold=85),
            task("b", acceptance_threshold=1.5),
            task("c", acceptance_threshold=-0.2),
            task("d", acceptance_threshold="0.9"),
            task("e", acceptance_threshold="high"),
            task("f", acceptance_threshold=250),
            task("g", acceptance_threshold=0.8),
        ]
    }
    repaired = repair_plan(raw)
    assert [t.acceptance_threshold for t in repaired.plan.tasks] == [
        0.85, 1.0, 0.0, 0.9, None, 1.0, 0.8
    ]  # fmt: skip
    assert repaired.repairs == [
        "task 'a': threshold 85 read as 0.85",
        "task 'b': threshold 1.5 read as 1",
        "task 'c': threshold -0.2 read as 0",
        "task 'd': threshold '0.9' read as 0.9",
        "task 'e': threshold 'high' not a number (dropped)",
        "task 'f': threshold 250 read as 1",
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("code_generation", TaskType.CODE_GENERATION),
        ("Code Generation", TaskType.CODE_GENERATION),
        ("code-review", TaskType.CODE_REVIEW),
        ("summarisation", TaskType.SUMMARIZATION),
        ("coding", TaskType.CODE_GENERATION),
        ("python", TaskType.CODE_GENERATION),
        ("creative", TaskType.CREATIVE_WRITING),
        ("documentation", TaskType.CREATIVE_WRITING),
        ("data_analysis", TaskType.DATA_EXTRACTION),
        ("reasoning", TaskType.COMPLEX_REASONING),
    ],
)
def test_an_unknown_type_is_read_as_the_closest_known_one(given: str, expected: TaskType) -> None:
    (only,) = repair_plan({"tasks": [{**task("a"), "type": given}]}).plan.tasks
    assert only.type is expected


def test_a_type_with_no_likeness_is_guessed_from_the_prompt() -> None:
    raw = {
        "tasks": [
            {"id": "a", "type": "task", "prompt": "Write a Python function that adds"},
            {"id": "b", "prompt": "Compare three marketing plans"},
        ]
    }
    repaired = repair_plan(raw)
    assert [t.type for t in repaired.plan.tasks] == [
        TaskType.CODE_GENERATION,
        TaskType.COMPLEX_REASONING,
    ]
    assert repaired.repairs == [
        "task 'a': type 'task' guessed from the prompt: code_generation",
        "task 'b': type null guessed from the prompt: complex_reasoning",
    ]


def test_tasks_without_a_prompt_take_their_description_or_are_dropped() -> None:
    raw = {
        "tasks": [
            {"id": "a", "type": "code_generation", "description": "Write main.py"},
            {"id": "b", "type": "code_generation", "prompt": "  "},
            task("c", ["b", "a"]),
            "and then we test it",
        ]
    }
    repaired = repair_plan(raw)
    assert [(t.id, t.prompt, t.dependencies) for t in repaired.plan.tasks] == [
        ("a", "Write main.py", []),
        ("c", "do c", ["a"]),
    ]
    assert repaired.repairs == [
        "an item was not a task (dropped)",
        "task 'a' had no prompt: its description stands in",
        "task 'b' had no prompt (dropped)",
        "task 'c' depended on unknown 'b' (dropped)",
    ]


def test_each_cycle_loses_the_dependency_that_closes_it() -> None:
    raw = {
        "tasks": [
            task("a", ["c"]),
            task("b", ["a"]),
            task("c", ["b"]),
            task("d", ["e"]),
            task("e", ["d"]),
        ]
    }
    repaired = repair_plan(raw)
    assert {t.id: t.dependencies for t in repaired.plan.tasks} == {
        "a": ["c"], "b": [], "c": ["b"], "d": ["e"], "e": [],
    }  # fmt: skip
    assert repaired.repairs == [
        "task 'b' depended on 'a', closing a cycle a -> c -> b -> a (dropped)",
        "task 'e' depended on 'd', closing a cycle d -> e -> d (dropped)",
    ]


def test_other_shapes_of_a_plan_are_read() -> None:
    bare = repair_plan([task("a")])
    assert bare.repairs == ["the answer was a bare list of tasks"]
    one = repair_plan(task("a"))
    assert one.repairs == ["the answer was one task, not a plan"]
    wrapped = repair_plan({"plan": {"tasks": [task("a")]}})
    assert wrapped.repairs == []
    assert bare.plan == one.plan == wrapped.plan


def test_too_many_tasks_keep_the_first_ones() -> None:
    raw = {"tasks": [task(f"t{i}") for i in range(MAX_PLAN_TASKS + 5)]}
    repaired = repair_plan(raw)
    assert len(repaired.plan.tasks) == MAX_PLAN_TASKS
    assert repaired.repairs == [f"{MAX_PLAN_TASKS + 5} tasks: kept the first {MAX_PLAN_TASKS}"]


def test_text_the_store_cannot_keep_is_escaped() -> None:
    (only,) = repair_plan({"tasks": [task("a", title="nul\x00here", prompt="a\x00b")]}).plan.tasks
    assert (only.title, only.prompt) == ("nul\\u0000here", "a\\u0000b")


@pytest.mark.parametrize(
    "raw",
    [
        {"tasks": []},
        {"tasks": [{"id": "a", "type": "code_generation"}]},
        {"answer": "Sure!"},
        "a plan",
        [1, 2, 3],
        {"a": {"b": {"c": {"tasks": [{"id": "x", "prompt": "too deep"}]}}}},
    ],
)
def test_nothing_usable_is_plan_invalid(raw: object) -> None:
    with pytest.raises(PlanInvalid):
        repair_plan(raw)


def test_a_rule_is_one_function_in_the_list() -> None:
    def no_shouting(draft: PlanDraft) -> None:
        for t in draft.tasks:
            if t["prompt"].isupper():
                t["prompt"] = t["prompt"].lower()
                draft.note(f"task {t['id']!r}: prompt was shouted")

    raw = {"tasks": [{**task("a"), "prompt": "WRITE IT"}]}
    repaired = repair_plan(raw, rules=[*RULES, no_shouting])
    assert repaired.plan.tasks[0].prompt == "write it"
    assert repaired.repairs == ["task 'a': prompt was shouted"]


async def test_the_planner_uses_the_repaired_plan_and_says_each_repair() -> None:
    answer = json.dumps(
        {"tasks": [task(1, acceptance_threshold=90), task(2, ["task_7", 1], type="coding")]}
    )
    seen: list[CallSpec] = []

    async def call(spec: CallSpec) -> CallResult:
        seen.append(spec)
        return CallResult(status=CallStatus.OK, text=answer, model="small")

    spec = JobSpec(project_description="Write a hello world script")
    outcome = await make_plan(spec, call=call, catalog=load_catalog(DEFAULT_CATALOG))
    assert not outcome.fallback and len(seen) == 1  # repaired, not asked again
    assert [(t.id, t.dependencies) for t in outcome.plan.tasks] == [("1", []), ("2", ["1"])]
    assert outcome.repairs == [
        "task 1: id 1 written '1'",
        "task 2: id 2 written '2'",
        "task '2' depended on unknown 'task_7' (dropped)",
        "task '2': type 'coding' read as code_generation",
        "task '1': threshold 90 read as 0.9",
    ]


async def test_an_answer_nested_deeper_than_json_reads_is_retried_not_raised() -> None:
    answers = ["[" * 100_000 + "]" * 100_000, json.dumps({"tasks": [task("a")]})]

    async def call(spec: CallSpec) -> CallResult:
        return CallResult(status=CallStatus.OK, text=answers.pop(0), model="small")

    spec = JobSpec(project_description="Write a hello world script")
    outcome = await make_plan(spec, call=call, catalog=load_catalog(DEFAULT_CATALOG))
    assert not outcome.fallback and outcome.attempts == 2
    assert "not JSON" in outcome.errors[0]


def test_files_are_paths_of_the_project_tree() -> None:
    raw = {
        "tasks": [
            task("a", files=["", "./main.py", "main.py", "../etc/passwd", 7]),
            task("b", files="README.md"),
            task("c", files={"path": "x.py"}),
        ]
    }
    repaired = repair_plan(raw)
    assert [t.files for t in repaired.plan.tasks] == [["main.py"], ["README.md"], []]
    assert repaired.repairs == [
        "task 'a': file '' dropped: the path is empty",
        "task 'a': file './main.py' written 'main.py'",
        "task 'a': file '../etc/passwd' dropped: the path has a '..' part: it would leave the "
        "project",
        "task 'a': file 7 dropped: not a path",
        'task \'c\': files {"path": "x.py"} not a list (dropped)',
    ]


# What SmolLM2-135M-Instruct answered for the hello job through llama.cpp's server
# (json_object with the plan's schema), captured 2026-12-07: ids that are file names, a task
# with an empty file path. Before repair it fell back to one task.
SMOLLM2_HELLO = (
    '{"tasks": [{"id": "./project_description.py", "type": "code_generation", "prompt": '
    '"Your task description here.", "title": "Hello World Python script", "files": [""]}, '
    '{"id": "./test_script.py", "type": "code_review", "prompt": "Please provide your test '
    'code here.", "files": ["test_script.py"]}]}'
)


def test_a_real_small_model_plan_is_repaired() -> None:
    repaired = repair_plan(json.loads(SMOLLM2_HELLO))
    assert [(t.id, t.type, t.files) for t in repaired.plan.tasks] == [
        ("project_description.py", TaskType.CODE_GENERATION, []),
        ("test_script.py", TaskType.CODE_REVIEW, ["test_script.py"]),
    ]
    assert repaired.repairs == [
        "task 1: id './project_description.py' written 'project_description.py'",
        "task 2: id './test_script.py' written 'test_script.py'",
        "task 'project_description.py': file '' dropped: the path is empty",
    ]
