"""The task loop with a files task: its answers' edits apply to its latest files, and an
edit that does not apply is that iteration's failed check, sent to the critic and the reviser."""

from __future__ import annotations

import json

from loop_fakes import FakeCaller, Recorder, make_task, script

from orchestrator.config import TaskTypePolicy
from orchestrator.domain import Role, TaskType
from orchestrator.engine.loop import run_task
from orchestrator.engine.sandbox import SandboxLimits

MAIN = 'def greet() -> str:\n    return "Hello"\n'
TEST = (
    "from main import greet\n\n\ndef test_greet() -> None:\n    assert greet() == 'Hello World'\n"
)


def _files(**files: str) -> str:
    return json.dumps({"files": [{"path": p.replace("_py", ".py"), "content": c}
                                 for p, c in files.items()]})  # fmt: skip


def _edit(search: str, replace: str) -> str:
    edit = {"search": search, "replace": replace}
    return json.dumps({"files": [{"path": "main.py", "edits": [edit]}]})


async def test_a_failing_edit_is_the_critique_and_a_good_one_fixes_the_tree() -> None:
    task = make_task(TaskType.CODE_GENERATION, prompt="Write main.py", files=["main.py"])
    policy = TaskTypePolicy(threshold=0.85, max_iterations=3, models=["gen-a"])
    caller = FakeCaller(
        script(
            {1: (0.9, 0.9), 2: (0.9, 0.9), 3: (0.9, 0.9)},
            **{"generate@1": _files(main_py=MAIN)},
            **{
                "revise@1": _edit('"Goodbye"', '"Hello World"'),  # not in the file
                "revise@2": _edit('"Hello"', '"Hello World"'),
            },
        )
    )
    recorder = Recorder()
    result = await run_task(
        task,
        {},
        policy=policy,
        call=caller,
        on_iteration=recorder,
        sandbox=SandboxLimits(timeout_s=30),  # pytest's start-up on a busy machine
        base={"test_main.py": TEST},  # an ancestor's tests, run on the tree
    )
    # The first answer sees the tree it starts from: the ancestor's tests, whole.
    assert f'<file path="test_main.py">\n{TEST}\n</file>' in caller.of(Role.GENERATE)[0].prompt
    first, second = recorder.records
    files_check = next(v for v in first.validators if v.name == "files")
    assert not files_check.passed and "edit 1 does not apply" in files_check.detail
    assert first.score < task.acceptance_threshold  # a hard failure caps it
    # The next revision is told why: the failed check is in its prompt and the critic's.
    assert all("edit 1 does not apply" in s.prompt for s in caller.of(Role.REVISE)[1:])
    assert "edit 1 does not apply" in caller.of(Role.CRITIQUE)[1].prompt
    # The good edit applies to the file as generated; the ancestor's test passes on it.
    assert {v.name: v.passed for v in second.validators}["pytest"]
    assert json.loads(result.output)["files"] == [
        {"path": "main.py", "content": MAIN.replace('"Hello"', '"Hello World"')}
    ]
