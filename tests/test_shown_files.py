"""The project's files as a prompt shows them: whole while they fit, the largest outlined
first past the limit, never cut inside a line; a dependency whose files are shown is not
repeated."""

from __future__ import annotations

import json
import re

from loop_fakes import make_task

from orchestrator.domain import TaskResult, TaskStatus, TaskType
from orchestrator.engine.prompts import generate, shown_files

SMALL = "from big import run\n\n\ndef test_run() -> None:\n    assert run() == 1\n"
BIG = (
    "import os\n\n\ndef run() -> int:\n"
    + "".join(f"    value_{i} = {i}  # a long line that fills the file\n" for i in range(400))
    + "    return 1\n\n\nclass Helper:\n    pass\n"
)


def _blocks(text: str) -> dict[str, str]:
    return dict(re.findall(r'<file path="([^"]+)"[^>]*>\n(.*?)\n</file>', text, re.DOTALL))


def test_files_that_fit_are_shown_whole_in_path_order() -> None:
    text = shown_files({"test_big.py": SMALL, "big.py": "def run() -> int:\n    return 1\n"})
    assert _blocks(text) == {"big.py": "def run() -> int:\n    return 1\n", "test_big.py": SMALL}
    assert text.index('"big.py"') < text.index('"test_big.py"')


def test_past_the_limit_the_largest_is_outlined_by_whole_lines() -> None:
    text = shown_files({"big.py": BIG, "test_big.py": SMALL}, limit=4_000)
    blocks = _blocks(text)
    assert blocks["test_big.py"] == SMALL  # the small file stays whole
    outline = blocks["big.py"].splitlines()
    assert outline[0].startswith("[") and f"{len(BIG)} characters" in outline[0]
    assert outline[1:] == ["import os", "def run() -> int:", "class Helper:"]
    assert 'shown="outline"' in text and len(text) < 4_000
    every_line = set(BIG.splitlines())
    assert all(line in every_line for line in outline[1:])  # whole lines, never a cut one


def test_a_files_task_sees_the_tree_and_not_its_dependencies_files_twice() -> None:
    task = make_task(TaskType.CODE_GENERATION, prompt="Write test_big.py", files=["test_big.py"])
    answer = json.dumps({"files": [{"path": "big.py", "content": "def run() -> int: ..."}]})
    deps = {
        "task_001": TaskResult(task_id="task_001", status=TaskStatus.COMPLETED, output=answer),
        "task_000": TaskResult(
            task_id="task_000", status=TaskStatus.COMPLETED, output="Design: run returns 1."
        ),
    }
    tree = {"big.py": "def run() -> int:\n    return 1\n"}  # as it is now, edited since
    prompt = generate(task, deps, tree).user
    assert _blocks(prompt) == tree
    assert "def run() -> int: ..." not in prompt  # the dependency's first version
    assert "Design: run returns 1." in prompt  # a text dependency is still there
    assert "def run() -> int: ..." in generate(task, deps).user  # no tree: as before
