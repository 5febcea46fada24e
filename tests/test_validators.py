"""Deterministic validators, with generated code really run in the sandbox."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestrator.domain import TaskType, ValidatorResult
from orchestrator.engine.validators import (
    MAX_OUTPUT_CHARS,
    SANDBOX_LABEL,
    SandboxLimits,
    check_python_syntax,
    hard_failures,
    normalize_output,
    run_python,
    run_validators,
    unwrap_fence,
)

# Generous enough for a loaded machine: only the tests about the timeout use SHORT.
FAST = SandboxLimits(timeout_s=15.0, memory_mb=256)
SHORT = SandboxLimits(timeout_s=2.0, memory_mb=256)
CODE = TaskType.CODE_GENERATION


def by_name(results: list[ValidatorResult]) -> dict[str, ValidatorResult]:
    return {r.name: r for r in results}


async def check_code(code: str) -> dict[str, ValidatorResult]:
    return by_name(await run_validators(CODE, code, prompt="write code", limits=FAST))


async def test_hello_world_passes_every_check() -> None:
    results = await check_code('print("Hello World")\n')
    assert [r.name for r in results.values()] == [
        "length",
        "python_syntax",
        "python_run",
        "ruff",
        "isolation",
        "placeholders",
    ]
    assert all(r.passed for r in results.values())
    assert "Hello World" in results["python_run"].detail


async def test_syntax_error_fails_and_the_code_is_not_run() -> None:
    results = await check_code("def broken(:\n    pass\n")
    assert not results["python_syntax"].passed
    assert "line 1" in results["python_syntax"].detail
    assert "python_run" not in results


async def test_runtime_error_fails_with_the_traceback() -> None:
    results = await check_code("print('start')\nx = 1 / 0\n")
    run = results["python_run"]
    assert not run.passed
    assert "exit code 1" in run.detail
    assert "ZeroDivisionError" in run.detail
    assert hard_failures(list(results.values())) == [run]


async def test_the_same_failure_gives_the_same_detail() -> None:
    code = "def f():\n    raise ValueError('boom')\nf()\n"
    first, second = await run_python(code, FAST), await run_python(code, FAST)
    assert not first.passed
    assert f'File "{SANDBOX_LABEL}/work/main.py", line 3' in first.detail
    assert first == second


async def test_missing_third_party_module_is_a_soft_failure() -> None:
    results = await check_code("import surely_not_installed_pkg\n")
    assert not results["python_imports"].passed
    assert "surely_not_installed_pkg" in results["python_imports"].detail
    assert hard_failures(list(results.values())) == []


async def test_missing_stdlib_module_is_a_hard_failure() -> None:
    results = await check_code("import os.nonexistent_submodule\n")
    assert not results["python_run"].passed


async def test_fenced_code_is_unwrapped_before_checking() -> None:
    fenced = '```python\nprint("Hello World")\n```'
    assert normalize_output(CODE, fenced) == 'print("Hello World")\n'
    results = await check_code(fenced)
    assert all(r.passed for r in results.values())


def test_unwrap_fence_leaves_partial_or_multiple_fences_alone() -> None:
    assert unwrap_fence('```json\n{"a": 1}\n```\n') == '{"a": 1}\n'
    prose = "Here it is:\n```python\nprint(1)\n```"
    assert unwrap_fence(prose) == prose
    two = "```\na\n```\ntext\n```\nb\n```"
    assert unwrap_fence(two) == two
    assert normalize_output(TaskType.SUMMARIZATION, "```\nkept\n```") == "```\nkept\n```"


async def test_json_is_checked_when_the_task_asks_for_it() -> None:
    bad = by_name(
        await run_validators(
            TaskType.DATA_EXTRACTION, "name: Ada", prompt="Extract the people as JSON"
        )
    )
    assert not bad["json"].passed
    assert "invalid JSON" in bad["json"].detail
    good = by_name(
        await run_validators(
            TaskType.DATA_EXTRACTION, '```json\n[{"name": "Ada"}]\n```', prompt="as JSON"
        )
    )
    assert good["json"].passed


async def test_json_looking_output_is_checked_for_any_type() -> None:
    results = by_name(
        await run_validators(TaskType.SUMMARIZATION, '{"summary": "x",}', prompt="Summarise")
    )
    assert not results["json"].passed
    prose = by_name(await run_validators(TaskType.SUMMARIZATION, "A summary.", prompt="Summarise"))
    assert "json" not in prose


async def test_length_rejects_empty_and_absurdly_long_output() -> None:
    empty = await run_validators(TaskType.SUMMARIZATION, "  \n", prompt="x")
    assert [(r.name, r.passed) for r in empty] == [("length", False)]
    huge = await run_validators(TaskType.SUMMARIZATION, "a" * (MAX_OUTPUT_CHARS + 1), prompt="x")
    assert [(r.name, r.passed) for r in huge] == [("length", False)]


async def test_placeholders_are_a_soft_failure() -> None:
    text = "# Plan\n\n- step one\n...\n- TODO: the rest\n"
    results = await run_validators(TaskType.COMPLEX_REASONING, text, prompt="plan")
    placeholders = by_name(results)["placeholders"]
    assert not placeholders.passed
    assert "line(s) 4, 5" in placeholders.detail
    assert hard_failures(results) == []


ADD = "def add(a: int, b: int) -> int:\n    return a + b\n"
ADD_TESTS = "\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n"
WRONG_ADD = ADD.replace("a + b", "a - b")


async def test_pytest_passes_for_correct_code_with_its_tests() -> None:
    results = await check_code(ADD + ADD_TESTS)
    assert results["pytest"].passed, results["pytest"].detail
    assert results["pytest"].detail == "1 passed"
    assert hard_failures(list(results.values())) == []


async def test_pytest_fails_for_wrong_code_and_names_the_failing_test() -> None:
    results = await check_code(WRONG_ADD + ADD_TESTS)
    pytest_check = results["pytest"]
    assert not pytest_check.passed
    assert "FAILED main.py::test_add - assert -1 == 5" in pytest_check.detail
    assert hard_failures(list(results.values())) == [pytest_check]
    # The same failure gives the same detail: pytest's timing is not part of it.
    again = by_name(await run_validators(CODE, WRONG_ADD + ADD_TESTS, prompt="x", limits=FAST))
    assert again["pytest"] == pytest_check
    assert "1 failed" in pytest_check.detail and " in 0." not in pytest_check.detail


async def test_code_without_tests_gets_no_pytest_check() -> None:
    assert "pytest" not in await check_code(ADD)


GIVEN = (
    "Write calculator.py with add(a, b). It must pass:\n"
    "```python\nfrom calculator import add\n\n\ndef test_add_given():\n"
    "    assert add(40, 2) == 42\n```\n"
)


async def test_tests_given_by_the_task_are_run_against_the_code() -> None:
    good = by_name(await run_validators(CODE, ADD, prompt=GIVEN, limits=FAST))
    assert good["pytest"].passed, good["pytest"].detail
    bad = by_name(await run_validators(CODE, WRONG_ADD, prompt=GIVEN, limits=FAST))
    assert not bad["pytest"].passed
    assert "FAILED test_given.py::test_add_given" in bad["pytest"].detail


async def test_a_hanging_test_is_a_failed_check_not_a_hang() -> None:
    code = ADD + "\n\ndef test_forever() -> None:\n    while True:\n        pass\n"
    results = by_name(await run_validators(CODE, code, prompt="x", limits=SHORT))
    assert not results["pytest"].passed
    assert results["pytest"].detail == "timed out after 2 s (killed)"


async def test_ruff_findings_are_reported_as_a_soft_failure() -> None:
    results = await check_code("import os\n\nprint(undefined_name)\n")
    ruff = results["ruff"]
    assert not ruff.passed
    assert "main.py:1:8: F401" in ruff.detail
    assert "F821 Undefined name `undefined_name`" in ruff.detail
    # Lint alone does not cap the score; the NameError at run time does.
    assert [r.name for r in hard_failures(list(results.values()))] == ["python_run"]


SCHEMA_PROMPT = (
    "Extract the people as JSON matching this schema:\n```json\n"
    '{"type": "array", "items": {"type": "object", "required": ["name", "age"],'
    ' "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}}}'
    "\n```\n"
)


async def test_json_output_is_checked_against_the_schema_the_task_gives() -> None:
    pytest.importorskip("jsonschema")
    extract = TaskType.DATA_EXTRACTION
    good = by_name(
        await run_validators(extract, '[{"name": "Ada", "age": 36}]', prompt=SCHEMA_PROMPT)
    )
    assert good["json_schema"].passed
    bad_output = '[{"name": "Ada", "age": -1}, {"age": "x"}]'
    bad = by_name(await run_validators(extract, bad_output, prompt=SCHEMA_PROMPT))
    assert bad["json"].passed
    assert not bad["json_schema"].passed
    assert bad["json_schema"].detail == (
        "3 schema violation(s):\n"
        "- at $[0].age: -1 is less than the minimum of 0\n"
        "- at $[1]: 'name' is a required property\n"
        "- at $[1].age: 'x' is not of type 'integer'"
    )
    assert hard_failures(list(bad.values())) == [bad["json_schema"]]


async def test_an_example_document_in_the_prompt_is_not_taken_for_a_schema() -> None:
    prompt = 'Extract as JSON, like:\n```json\n{"type": "person", "name": "Ada"}\n```\n'
    results = by_name(await run_validators(TaskType.DATA_EXTRACTION, '{"a": 1}', prompt=prompt))
    assert "json_schema" not in results
    assert results["json"].passed


def test_without_jsonschema_the_schema_is_reported_unchecked() -> None:
    # A fresh interpreter where importing jsonschema fails, as on an install without it.
    code = (
        "import sys, asyncio\n"
        "sys.modules['jsonschema'] = None\n"
        "from orchestrator.domain import TaskType\n"
        "from orchestrator.engine.validators import run_validators\n"
        "prompt = sys.stdin.read()\n"
        "extract = TaskType.DATA_EXTRACTION\n"
        "out = asyncio.run(run_validators(extract, '[{\"age\": -1}]', prompt=prompt))\n"
        "print([(r.name, r.passed, r.detail) for r in out])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=SCHEMA_PROMPT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "('json', True, \"valid JSON; the task's schema was not checked" in done.stdout
    assert "json_schema" not in done.stdout


def test_a_line_the_parser_cannot_hold_fails_the_syntax_check() -> None:
    # CPython raises MemoryError (not SyntaxError) on a few thousand bare names in a row.
    result = check_python_syntax(" ".join(["word"] * 3000))
    assert not result.passed and "memory" in result.detail
