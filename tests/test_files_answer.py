"""A task's answer as files: what models really send is read, what cannot be kept is said."""

from __future__ import annotations

import json

from orchestrator.domain import TaskState, TaskType
from orchestrator.workspace import answers_with_files, parse_files, task_files

MAIN = 'print("Hello World")\n'


def _answer(*files: tuple[str, str]) -> str:
    return json.dumps({"files": [{"path": p, "content": c} for p, c in files]})


def test_a_clean_answer_gives_its_files_in_the_manifests_order() -> None:
    parsed = parse_files(_answer(("b.py", "b = 1\n"), ("a.py", "a = 1\n")), ["a.py", "b.py"])
    assert parsed.files == {"a.py": "a = 1\n", "b.py": "b = 1\n"}
    assert not parsed.problems and not parsed.notes
    assert json.loads(parsed.canonical())["files"][0]["path"] == "a.py"


def test_a_fence_around_the_answer_and_inside_a_field_is_unwrapped() -> None:
    inner = f"```python\n{MAIN}```"
    parsed = parse_files(f"```json\n{_answer(('main.py', inner))}\n```", ["main.py"])
    assert parsed.files == {"main.py": MAIN} and not parsed.problems


def test_prose_around_the_code_of_a_code_file_is_dropped_and_said() -> None:
    content = f"Here is the program:\n```python\n{MAIN}```\nIt prints the greeting."
    parsed = parse_files(_answer(("main.py", content)), ["main.py"])
    assert parsed.files == {"main.py": MAIN}
    assert any("main.py" in n and "dropped" in n for n in parsed.notes)


def test_a_document_keeps_its_code_sample() -> None:
    readme = "# Hello\n\nRun it:\n```bash\npython main.py\n```\n"
    assert parse_files(_answer(("README.md", readme)), ["README.md"]).files["README.md"] == readme


def test_a_path_to_content_mapping_is_read_too() -> None:
    parsed = parse_files(json.dumps({"files": {"main.py": MAIN}}), ["main.py"])
    assert parsed.files == {"main.py": MAIN}


def test_bare_code_is_the_file_of_a_one_file_task_only() -> None:
    one = parse_files(f"```python\n{MAIN}```", ["main.py"])
    assert one.files == {"main.py": MAIN} and not one.problems
    assert "taken whole as main.py" in one.notes[0]
    two = parse_files(MAIN, ["main.py", "test_main.py"])
    assert not two.files and "not a files object" in two.problems[0]


def test_files_outside_the_manifest_bad_paths_and_missing_files_are_problems() -> None:
    parsed = parse_files(
        _answer(("main.py", MAIN), ("../evil.py", "x"), ("extra.py", "y")),
        ["main.py", "test_main.py"],
    )
    assert parsed.files == {"main.py": MAIN}
    said = " | ".join(parsed.problems)
    assert "'../evil.py' refused" in said and "'..'" in said
    assert "'extra.py' is not among the task's files" in said
    assert "missing file(s): test_main.py" in said


def _task(files: list[str], task_type: TaskType, output: str) -> TaskState:
    return TaskState(
        job_id="j1",
        task_id="task_002",
        type=task_type,
        prompt="p",
        acceptance_threshold=0.8,
        files=files,
        output=output,
    )


def test_which_tasks_answer_with_files_and_what_they_write() -> None:
    code = _task(["main.py"], TaskType.CODE_GENERATION, _answer(("main.py", MAIN)))
    readme = _task(["README.md"], TaskType.SUMMARIZATION, "# Hello\n")
    legacy = _task([], TaskType.CODE_GENERATION, MAIN)
    assert answers_with_files(code) and not answers_with_files(readme)
    assert task_files(code) == {"main.py": MAIN}
    assert task_files(readme) == {"README.md": "# Hello\n"}
    # A task without files writes none, unless its whole plan names no file (older plans).
    assert task_files(legacy) == {}
    assert task_files(legacy, legacy=True) == {"task_002.py": MAIN}


def _edits(path: str, *pairs: tuple[str, str]) -> str:
    edits = [{"search": s, "replace": r} for s, r in pairs]
    return json.dumps({"files": [{"path": path, "edits": edits}]})


def test_search_replace_edits_change_an_existing_file() -> None:
    existing = {"main.py": 'print("Hello")\nprint("Bye")\n'}
    parsed = parse_files(_edits("main.py", ('"Hello"', '"Hello World"')), ["main.py"], existing)
    assert parsed.files == {"main.py": 'print("Hello World")\nprint("Bye")\n'}
    assert not parsed.problems
    assert json.loads(parsed.canonical())["files"][0]["content"].startswith('print("Hello World")')


def test_an_edit_that_does_not_apply_is_a_problem_naming_it() -> None:
    existing = {"main.py": "a = 1\na = 1\n"}
    missing = parse_files(_edits("main.py", ("b = 2", "b = 3")), ["main.py"], existing)
    assert missing.problems == [
        "main.py: edit 1 does not apply: its search text was not found: 'b = 2'"
    ]
    twice = parse_files(_edits("main.py", ("a = 1", "a = 2")), ["main.py"], existing)
    assert "found 2 times" in twice.problems[0]
    new = parse_files(_edits("new.py", ("x", "y")), ["new.py"], existing)
    assert "does not exist yet" in new.problems[0] and not new.files
