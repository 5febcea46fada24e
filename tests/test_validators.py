"""Deterministic validators, with generated code really run in the sandbox."""

from __future__ import annotations

import json
import os
import select
from pathlib import Path

import pytest

from orchestrator.domain import TaskType, ValidatorResult
from orchestrator.engine.validators import (
    MAX_OUTPUT_CHARS,
    SANDBOX_LABEL,
    SandboxLimits,
    hard_failures,
    normalize_output,
    run_python,
    run_validators,
    sandbox_env,
    unwrap_fence,
)

FAST = SandboxLimits(timeout_s=2.0, memory_mb=256)
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


async def test_infinite_loop_is_killed_at_the_timeout() -> None:
    run = await run_python("while True:\n    pass\n", FAST)
    assert not run.passed
    assert "timed out after 2 s" in run.detail


async def test_memory_bomb_hits_the_memory_limit() -> None:
    # 1 GiB of zeroed memory: fine without a limit (pages are mapped lazily), refused at 256 MB.
    run = await run_python("block = bytearray(1024 ** 3)\nprint(len(block))\n", FAST)
    assert not run.passed
    assert "MemoryError" in run.detail
    assert "memory limit of 256 MB" in run.detail


async def test_secrets_do_not_reach_generated_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "sk-do-not-leak")
    monkeypatch.setenv("SOME_TOKEN", "tok")
    code = "import json, os\nprint(json.dumps(sorted(os.environ)))\n"
    run = await run_python(code, FAST)
    assert run.passed, run.detail
    printed = json.loads(run.detail.split("stdout:\n", 1)[1])
    assert "FAKE_API_KEY" not in printed
    assert "SOME_TOKEN" not in printed
    assert set(printed) <= {"PATH", "LANG", "LC_CTYPE"}  # Python may set LC_CTYPE itself


def test_sandbox_env_keeps_only_path_and_lang() -> None:
    env = {"PATH": "/bin", "LANG": "C.UTF-8", "OPENAI_API_KEY": "x", "HOME": "/root"}
    assert sandbox_env(env) == {"PATH": "/bin", "LANG": "C.UTF-8"}


async def test_code_runs_in_a_scratch_directory_that_is_removed(tmp_path: Path) -> None:
    limits = FAST.model_copy(update={"scratch_root": tmp_path})
    code = "import os\nopen('out.txt', 'w').write('x')\nprint(os.getcwd())\n"
    run = await run_python(code, limits)
    assert run.passed, run.detail
    # The random scratch path is masked, so the detail is the same on every run.
    assert run.detail.endswith(f"{SANDBOX_LABEL}/work")
    assert entries(tmp_path) == []


async def test_the_same_failure_gives_the_same_detail() -> None:
    code = "def f():\n    raise ValueError('boom')\nf()\n"
    first, second = await run_python(code, FAST), await run_python(code, FAST)
    assert not first.passed
    assert f'File "{SANDBOX_LABEL}/work/main.py", line 3' in first.detail
    assert first == second


async def test_stdin_is_closed() -> None:
    run = await run_python("input()\n", FAST)
    assert not run.passed
    assert "EOFError" in run.detail


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


async def test_a_flood_of_output_is_capped() -> None:
    run = await run_python("import sys\nsys.stdout.write('x' * 500_000)\n", FAST)
    assert run.passed, run.detail
    assert "bytes cut]" in run.detail
    assert len(run.detail) < 5_000


async def test_background_processes_die_with_the_script() -> None:
    # The child forks a sleeper that holds nothing open; killing the group ends it too.
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(p.pid)\n"
    )
    run = await run_python(code, FAST)
    assert run.passed, run.detail
    pid = int(run.detail.split("stdout:\n", 1)[1])
    assert dies_soon(pid)


def entries(directory: Path) -> list[Path]:
    return list(directory.iterdir())


def dies_soon(pid: int) -> bool:
    """Whether `pid` ends within 5 s: SIGKILL is delivered asynchronously, so wait for it
    on a pidfd (readable once the process has terminated), not with a sleep."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], 5.0)
    finally:
        os.close(fd)
    return bool(readable)
