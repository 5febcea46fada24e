"""Deterministic checks on a task's output, run before it is evaluated.

Text checks (length, JSON and JSON Schema, placeholders) are pure functions. Generated
Python is checked for syntax, then run in the sandbox (`sandbox.py`: scratch directory,
resource limits, no secrets in its environment) as a script, under pytest when there are
tests (in the code, or given by the task's prompt), and under ruff. The checks are pure in
effect: the same output gives the same results, which keeps the task loop replayable.
"""

from __future__ import annotations

import ast
import asyncio
import json
from collections.abc import Sequence

from orchestrator.domain import TaskType, ValidatorResult
from orchestrator.engine.code_checks import (
    defines_tests,
    given_tests,
    run_pytest,
    run_python,
    run_ruff,
)
from orchestrator.engine.json_schema import check_against_schema, find_schema
from orchestrator.engine.sandbox import SANDBOX_LABEL, SandboxLimits, isolation_of, sandbox_env

__all__ = [
    "MAX_OUTPUT_CHARS",
    "SANDBOX_LABEL",
    "SOFT_VALIDATORS",
    "SandboxLimits",
    "hard_failures",
    "normalize_output",
    "run_python",
    "run_validators",
    "sandbox_env",
    "unwrap_fence",
]

MAX_OUTPUT_CHARS = 200_000
# Failures of these inform the critic and the evaluator but do not cap the score. Lint
# findings are style and likely bugs (unused imports, undefined names), not proof that the
# code is wrong: a wrong program fails python_run or pytest, which stay hard. A syntax
# error is hard under any name (python_syntax gates ruff; see also ruff_syntax). The
# isolation the code ran under fails when there was none: a warning, not a verdict on it.
SOFT_VALIDATORS = frozenset({"isolation", "placeholders", "python_imports", "ruff"})
_PLACEHOLDER_LINES = frozenset({"...", "…", "# ...", "// ..."})


def unwrap_fence(text: str) -> str:
    """The body of `text` if the whole answer is one Markdown fence (```lang ... ```)."""
    stripped = text.strip()
    if len(stripped) < 6 or not (stripped.startswith("```") and stripped.endswith("```")):
        return text
    first_newline = stripped.find("\n")
    if first_newline == -1:
        return text
    body = stripped[first_newline + 1 : -3]
    # A fence line inside means several blocks with prose between: not a single wrapper.
    if any(line.lstrip().startswith("```") for line in body.splitlines()):
        return text
    return body.strip("\n") + "\n"


def normalize_output(task_type: TaskType, output: str) -> str:
    """What the task stores: code loses a wrapping fence, everything else is kept as is."""
    if task_type is TaskType.CODE_GENERATION:
        return unwrap_fence(output)
    return output


def hard_failures(results: Sequence[ValidatorResult]) -> list[ValidatorResult]:
    return [r for r in results if not r.passed and r.name not in SOFT_VALIDATORS]


def check_length(output: str) -> ValidatorResult:
    if not output.strip():
        return ValidatorResult(name="length", passed=False, detail="the output is empty")
    if len(output) > MAX_OUTPUT_CHARS:
        detail = f"{len(output)} characters, more than the {MAX_OUTPUT_CHARS} allowed"
        return ValidatorResult(name="length", passed=False, detail=detail)
    return ValidatorResult(name="length", passed=True, detail=f"{len(output)} characters")


def check_python_syntax(code: str) -> ValidatorResult:
    try:
        ast.parse(code)
    except SyntaxError as e:
        detail = f"line {e.lineno}: {e.msg}"
        return ValidatorResult(name="python_syntax", passed=False, detail=detail)
    except (ValueError, RecursionError) as e:
        return ValidatorResult(name="python_syntax", passed=False, detail=str(e))
    except MemoryError:  # CPython's parser gives up on some long degenerate lines
        detail = "the parser ran out of memory: not a Python program it can read"
        return ValidatorResult(name="python_syntax", passed=False, detail=detail)
    return ValidatorResult(name="python_syntax", passed=True)


def check_json(task_type: TaskType, output: str, *, prompt: str) -> list[ValidatorResult]:
    """JSON validity, when the task asks for JSON, gives a schema, or the output looks like
    JSON; then conformance to the schema the task gives, if any."""
    body = unwrap_fence(output).strip()
    schema = find_schema(prompt)
    asked = schema is not None or (
        task_type is TaskType.DATA_EXTRACTION and "json" in prompt.lower()
    )
    if not asked and not body.startswith(("{", "[")):
        return []
    try:
        document = json.loads(body)
    except json.JSONDecodeError as e:
        detail = f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        return [ValidatorResult(name="json", passed=False, detail=detail)]
    except RecursionError:
        return [ValidatorResult(name="json", passed=False, detail="JSON nested too deeply")]
    if schema is None:
        return [ValidatorResult(name="json", passed=True)]
    conformance = check_against_schema(document, schema)
    if conformance is None:
        note = "valid JSON; the task's schema was not checked (jsonschema is not installed)"
        return [ValidatorResult(name="json", passed=True, detail=note)]
    return [ValidatorResult(name="json", passed=True), conformance]


def check_placeholders(output: str) -> ValidatorResult:
    found = [
        n
        for n, line in enumerate(output.splitlines(), start=1)
        if "TODO" in line or "FIXME" in line or line.strip() in _PLACEHOLDER_LINES
    ]
    if not found:
        return ValidatorResult(name="placeholders", passed=True)
    lines = ", ".join(str(n) for n in found[:5])
    detail = f"{len(found)} placeholder line(s) (TODO/FIXME/...), e.g. line(s) {lines}"
    return ValidatorResult(name="placeholders", passed=False, detail=detail)


async def check_code(code: str, *, prompt: str, limits: SandboxLimits) -> list[ValidatorResult]:
    """Syntax; then, on parseable code, the script run, pytest (when there are tests) and
    ruff, concurrently, reported in that order, and the isolation they ran under."""
    syntax = check_python_syntax(code)
    if not syntax.passed:
        return [syntax]
    isolation = await asyncio.to_thread(isolation_of, limits)
    tests = given_tests(prompt)
    runs = [run_python(code, limits)]
    if tests or defines_tests(code):
        runs.append(run_pytest(code, tests, limits))
    runs.append(run_ruff(code, limits))
    sandbox = ValidatorResult(
        name="isolation", passed=isolation.backend != "none", detail=isolation.label
    )
    return [syntax, *await asyncio.gather(*runs), sandbox]


async def run_validators(
    task_type: TaskType, output: str, *, prompt: str, limits: SandboxLimits | None = None
) -> list[ValidatorResult]:
    """Every check that applies to `task_type`, in a fixed order.

    `prompt` is the task's: it may give tests (fenced Python defining `test_` functions)
    or a JSON Schema (a fenced JSON block). Never raises for anything in `output`.
    """
    text = normalize_output(task_type, output)
    length = check_length(text)
    results = [length]
    if not length.passed:
        return results
    if task_type is TaskType.CODE_GENERATION:
        results += await check_code(text, prompt=prompt, limits=limits or SandboxLimits())
    else:
        results += check_json(task_type, text, prompt=prompt)
    results.append(check_placeholders(text))
    return results
