"""Deterministic checks on a task's output, run before it is evaluated.

Generated Python is also executed: `python -I` in a fresh scratch directory, stdin closed,
under a wall-clock timeout and an address-space limit, with an environment that holds
nothing but PATH and LANG (so no API key can leak into generated code). The checks are
pure in effect: the same output gives the same results, which keeps the task loop
replayable.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from orchestrator.domain import TaskType, ValidatorResult

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
# Failures of these only inform the critic; they do not cap the score.
SOFT_VALIDATORS = frozenset({"placeholders", "python_imports"})
_KEPT_ENV = ("PATH", "LANG")
_SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET")
_DETAIL_CHARS = 1_500
SANDBOX_LABEL = "<sandbox>"
_SIGNAL_HINTS = {"SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file or output too large)"}
_MAX_FILE_BYTES = 16 * 2**20  # any file the script writes, its captured output included
_PLACEHOLDER_LINES = frozenset({"...", "…", "# ...", "// ..."})


class SandboxLimits(BaseModel):
    """Limits of one run of generated code."""

    timeout_s: float = Field(default=10.0, gt=0)
    memory_mb: int = Field(default=512, ge=64)
    capture_bytes: int = Field(default=64_000, ge=1_000)
    python: str = sys.executable
    scratch_root: Path | None = None  # where scratch directories go; None = the system's temp


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


def sandbox_env(source: Mapping[str, str]) -> dict[str, str]:
    """Only PATH and LANG survive; a value never passes under a secret-looking name."""
    return {k: v for k, v in source.items() if k in _KEPT_ENV and not k.endswith(_SECRET_SUFFIXES)}


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
    return ValidatorResult(name="python_syntax", passed=True)


def check_json(task_type: TaskType, output: str, *, prompt: str) -> ValidatorResult | None:
    """JSON validity, when the task asks for JSON or the output looks like JSON."""
    body = unwrap_fence(output).strip()
    asked = task_type is TaskType.DATA_EXTRACTION and "json" in prompt.lower()
    if not asked and not body.startswith(("{", "[")):
        return None
    try:
        json.loads(body)
    except json.JSONDecodeError as e:
        detail = f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        return ValidatorResult(name="json", passed=False, detail=detail)
    return ValidatorResult(name="json", passed=True)


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


# Sets the limits, then becomes the script. A launcher rather than `preexec_fn`, which is
# unsafe when the parent has threads (the durable runtime does): the child may deadlock
# between fork and exec.
_LAUNCHER = """\
import os, resource, sys
memory, cpu, fsize = (int(v) for v in sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
os.execv(sys.executable, [sys.executable, "-I", sys.argv[4]])
"""


def _prepare(scratch: str, code: str) -> tuple[Path, int, int]:
    """Write the script in `scratch`/work; open the files its stdout and stderr go to.

    Files, not pipes: a killed program that flooded a pipe nobody reads any more would
    leave the pipe, and so `Process.wait()`, hanging; RLIMIT_FSIZE caps the files instead.
    They sit beside the working directory, not in it, out of the program's way.
    """
    workdir = Path(scratch) / "work"
    workdir.mkdir()
    script = workdir / "main.py"
    script.write_text(code, encoding="utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    return (
        script,
        os.open(Path(scratch) / "stdout.txt", flags),
        os.open(Path(scratch) / "stderr.txt", flags),
    )


def _read_head(scratch: str, name: str, cap: int) -> str:
    """The first `cap` bytes of a captured stream, with a note of what was cut.

    The scratch directory's random name is replaced by `<sandbox>`: the same code must give
    the same detail, or the prompts built from it (and their request hashes) would differ
    when a job is replayed.
    """
    path = Path(scratch) / name
    with path.open("rb") as f:
        head = f.read(cap)
        dropped = max(path.stat().st_size - cap, 0)
    text = head.decode("utf-8", errors="replace")
    for spelling in {os.path.realpath(scratch), scratch}:
        text = text.replace(spelling, SANDBOX_LABEL)
    return f"{text}\n[... {dropped} bytes cut]" if dropped else text


def _kill_group(pid: int) -> None:
    # The child leads its own session: this also ends anything it forked.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _DETAIL_CHARS else "..." + text[-_DETAIL_CHARS:]


def _missing_third_party(stderr: str) -> str | None:
    """The module name when the run died importing a module the sandbox does not have."""
    lines = stderr.strip().splitlines()
    prefix = "ModuleNotFoundError: No module named '"
    if not lines or not lines[-1].startswith(prefix):
        return None
    name = lines[-1][len(prefix) :].split("'")[0]
    top = name.split(".")[0]
    return None if top in sys.stdlib_module_names else name


def _describe_exit(code: int, stderr: str, limits: SandboxLimits) -> ValidatorResult:
    if code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = str(-code)
        detail = f"killed by signal {sig}{_SIGNAL_HINTS.get(sig, '')}"
        return ValidatorResult(name="python_run", passed=False, detail=f"{detail}\n{_tail(stderr)}")
    missing = _missing_third_party(stderr)
    if missing:
        detail = f"not run to the end: needs the third-party module {missing!r}"
        return ValidatorResult(name="python_imports", passed=False, detail=detail)
    detail = f"exit code {code}"
    if "MemoryError" in stderr:
        detail += f" (memory limit of {limits.memory_mb} MB exceeded)"
    return ValidatorResult(name="python_run", passed=False, detail=f"{detail}\n{_tail(stderr)}")


async def run_python(code: str, limits: SandboxLimits) -> ValidatorResult:
    """Run `code` as a script in the sandbox; a non-zero exit or a timeout fails."""
    limit_args = [
        str(limits.memory_mb * 2**20),
        str(int(limits.timeout_s) + 2),
        str(_MAX_FILE_BYTES),
    ]
    with tempfile.TemporaryDirectory(prefix="orch-validate-", dir=limits.scratch_root) as scratch:
        script, out_fd, err_fd = await asyncio.to_thread(_prepare, scratch, code)
        try:
            proc = await asyncio.create_subprocess_exec(
                limits.python,
                "-I",
                "-c",
                _LAUNCHER,
                *limit_args,
                str(script),
                cwd=script.parent,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out_fd,
                stderr=err_fd,
                env=sandbox_env(os.environ),
                start_new_session=True,
            )
        finally:
            os.close(out_fd)
            os.close(err_fd)
        try:
            returncode = await asyncio.wait_for(proc.wait(), timeout=limits.timeout_s)
        except TimeoutError:
            _kill_group(proc.pid)
            await proc.wait()
            detail = f"timed out after {limits.timeout_s:g} s (killed)"
            return ValidatorResult(name="python_run", passed=False, detail=detail)
        finally:
            # Anything the script left running in the background goes with it.
            _kill_group(proc.pid)
        stdout = await asyncio.to_thread(_read_head, scratch, "stdout.txt", limits.capture_bytes)
        stderr = await asyncio.to_thread(_read_head, scratch, "stderr.txt", limits.capture_bytes)
    if returncode != 0:
        return _describe_exit(returncode, stderr, limits)
    shown = _tail(stdout) or "(no output)"
    return ValidatorResult(name="python_run", passed=True, detail=f"exit code 0; stdout:\n{shown}")


async def run_validators(
    task_type: TaskType, output: str, *, prompt: str, limits: SandboxLimits | None = None
) -> list[ValidatorResult]:
    """Every check that applies to `task_type`, in a fixed order."""
    text = normalize_output(task_type, output)
    length = check_length(text)
    results = [length]
    if not length.passed:
        return results
    if task_type is TaskType.CODE_GENERATION:
        syntax = check_python_syntax(text)
        results.append(syntax)
        if syntax.passed:
            results.append(await run_python(text, limits or SandboxLimits()))
    else:
        as_json = check_json(task_type, text, prompt=prompt)
        if as_json is not None:
            results.append(as_json)
    results.append(check_placeholders(text))
    return results
