"""Hostile generated code in the sandbox: each attempt is stopped or finds nothing, and the
validators return a failed check with the reason instead of raising or hanging. Every test
runs without isolation and under each isolation backend: the limits hold under all three.
(What only isolation prevents: test_sandbox_escape.py.)"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from sandbox_fixtures import BACKENDS, dies_soon, label_of, limits_for, marked_processes, marker

from orchestrator.domain import TaskType, ValidatorResult
from orchestrator.engine.sandbox import SANDBOX_LABEL, SandboxLimits, run_sandboxed, sandbox_env
from orchestrator.engine.validators import run_python, run_validators

SECRETS = {"ORCH_ANTHROPIC_API_KEY": "sk-ant-test-secret", "OPENAI_API_KEY": "sk-openai-test-2"}


@pytest.fixture(params=BACKENDS)
def fast(request: pytest.FixtureRequest) -> SandboxLimits:
    """Generous enough for a loaded machine: only the tests about the timeout use `short`."""
    return limits_for(request.param)


@pytest.fixture
def short(fast: SandboxLimits) -> SandboxLimits:
    return fast.model_copy(update={"timeout_s": 2.0})


async def validate(code: str, limits: SandboxLimits) -> dict[str, ValidatorResult]:
    results = await run_validators(TaskType.CODE_GENERATION, code, prompt="x", limits=limits)
    return {r.name: r for r in results}


async def test_every_run_says_its_isolation(fast: SandboxLimits) -> None:
    results = await validate("print('hi')\n", fast)
    isolation = results["isolation"]
    assert isolation.detail == label_of(fast.isolation)
    assert isolation.passed is (fast.isolation != "none")
    run = await run_sandboxed([fast.python, "-I", "-c", "pass"], {}, fast)
    assert run.isolation == label_of(fast.isolation)


async def test_an_endless_loop_is_stopped_at_the_timeout_and_validation_returns(
    short: SandboxLimits,
) -> None:
    started = time.monotonic()
    results = await validate("while True:\n    pass\n", short)
    elapsed = time.monotonic() - started
    run = results["python_run"]
    assert not run.passed
    assert run.detail == "timed out after 2 s (killed)"
    assert results["ruff"].passed  # the other checks still ran and reported
    assert elapsed < 2.0 + 8.0


async def test_unbounded_allocation_is_stopped_by_the_memory_limit(fast: SandboxLimits) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(10 * 2**20))\n"
    results = await validate(code, fast)
    run = results["python_run"]
    assert not run.passed
    assert "MemoryError" in run.detail
    assert "memory limit of 256 MB exceeded" in run.detail


async def test_api_keys_of_the_orchestrator_are_not_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, fast: SandboxLimits
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    code = (
        "import json, os\n"
        "print(json.dumps(dict(os.environ)))\n"
        "try:\n"  # Landlock hides /proc altogether
        "    print(open('/proc/self/environ', 'rb').read().decode(errors='replace'))\n"
        "except PermissionError as e:\n"
        "    print(e)\n"
        "print(os.environ.get('ORCH_ANTHROPIC_API_KEY'), os.environ.get('OPENAI_API_KEY'))\n"
    )
    run = await run_python(code, fast)
    assert run.passed, run.detail
    for value in SECRETS.values():
        assert value not in run.detail
    shown = json.loads(run.detail.split("stdout:\n", 1)[1].splitlines()[0])
    assert set(shown) <= {"PATH", "LANG", "HOME", "TMPDIR", "LC_CTYPE"}
    assert shown["HOME"] == f"{SANDBOX_LABEL}/work/.home"
    assert "None None" in run.detail


def test_sandbox_env_keeps_only_path_and_lang() -> None:
    env = {"PATH": "/bin", "LANG": "C.UTF-8", "OPENAI_API_KEY": "x", "HOME": "/root"}
    assert sandbox_env(env) == {"PATH": "/bin", "LANG": "C.UTF-8"}


async def test_writes_to_the_parent_home_and_tmp_stay_in_the_scratch_dir(
    tmp_path: Path, fast: SandboxLimits
) -> None:
    root = tmp_path / "scratch"
    root.mkdir()
    limits = fast.model_copy(update={"scratch_root": root})
    code = (
        "import os, tempfile\n"
        "paths = ['../escape.txt', os.path.expanduser('~/escape.txt'),\n"
        "         os.path.join(tempfile.gettempdir(), 'escape.txt')]\n"
        "for p in paths:\n"
        "    with open(p, 'w') as f:\n"
        "        f.write('out')\n"
        "    print(os.path.realpath(p))\n"
    )
    run = await run_python(code, limits)
    assert run.passed, run.detail
    # The writes happened, each inside the scratch directory (masked as <sandbox>) ...
    written = run.detail.split("stdout:\n", 1)[1].splitlines()
    assert written == [
        f"{SANDBOX_LABEL}/escape.txt",
        f"{SANDBOX_LABEL}/work/.home/escape.txt",
        f"{SANDBOX_LABEL}/work/.tmp/escape.txt",
    ]
    # ... which is gone, and nothing appeared beside it or above it.
    assert entries(root) == []
    assert entries(tmp_path) == ["scratch"]


async def test_a_process_flood_is_stopped_and_every_process_dies(fast: SandboxLimits) -> None:
    # Children that wait forever, forked as fast as possible (bounded at 2000 in case the
    # sandbox failed to stop it). As root the watchdog stops it; as any other user the
    # fork fails at RLIMIT_NPROC first. Each pid is printed before the next fork; the
    # script's name marks them all.
    code = (
        "import os, signal\n"
        "for _ in range(2000):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        signal.pause()\n"
        "    print(pid, flush=True)\n"
        "signal.pause()\n"
    )
    script = f"{marker()}.py"
    limits = fast.model_copy(update={"timeout_s": 20.0, "max_processes": 16})
    started = time.monotonic()
    run = await run_sandboxed([limits.python, "-I", script], {script: code}, limits)
    assert time.monotonic() - started < 10.0  # stopped for its processes, not the timeout
    if os.getuid() == 0:
        assert run.stopped == "stopped: more than 16 processes (killed)"
    else:
        assert run.returncode == 1 and "BlockingIOError" in run.stderr
    assert len(run.stdout.split()) >= 15
    assert all(dies_soon(pid) for pid in marked_processes(script))


async def test_open_files_are_limited(fast: SandboxLimits) -> None:
    limits = fast.model_copy(update={"max_open_files": 64})
    code = "files = [open('main.py') for _ in range(100)]\n"
    run = await run_python(code, limits)
    assert not run.passed
    assert "Too many open files" in run.detail


async def test_a_big_file_is_stopped_by_the_file_size_limit(fast: SandboxLimits) -> None:
    limits = fast.model_copy(update={"file_mb": 1})
    code = "import os\nwith open('big.bin', 'wb') as f:\n    f.write(os.urandom(2 * 2**20))\n"
    run = await run_python(code, limits)
    assert not run.passed
    # Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing it.
    assert "OSError: [Errno 27] File too large" in run.detail


async def test_code_runs_in_a_scratch_directory_that_is_removed(
    tmp_path: Path, fast: SandboxLimits
) -> None:
    limits = fast.model_copy(update={"scratch_root": tmp_path})
    code = "import os\nopen('out.txt', 'w').write('x')\nprint(os.getcwd())\n"
    run = await run_python(code, limits)
    assert run.passed, run.detail
    # The random scratch path is masked, so the detail is the same on every run.
    assert run.detail.endswith(f"{SANDBOX_LABEL}/work")
    assert entries(tmp_path) == []


async def test_stdin_is_closed(fast: SandboxLimits) -> None:
    run = await run_python("input()\n", fast)
    assert not run.passed
    assert "EOFError" in run.detail


async def test_a_flood_of_output_is_capped(fast: SandboxLimits) -> None:
    run = await run_python("import sys\nsys.stdout.write('x' * 500_000)\n", fast)
    assert run.passed, run.detail
    assert "bytes cut]" in run.detail
    assert len(run.detail) < 5_000


async def test_background_processes_die_with_the_script(fast: SandboxLimits) -> None:
    # The child starts a sleeper that holds nothing open; killing the group ends it too.
    mark = marker()
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', "
        f"'{mark}'])\n"
        "print(p.pid)\n"
    )
    run = await run_python(code, fast)
    assert run.passed, run.detail
    assert all(dies_soon(pid) for pid in marked_processes(mark))


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())
