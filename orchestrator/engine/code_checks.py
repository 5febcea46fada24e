"""Checks that run tools on generated Python in the sandbox: the script itself, pytest, ruff.

Each returns a ValidatorResult and never raises for anything the code does: a crash, a
timeout or a missing tool is a failed check with the reason. Details are deterministic
(scratch paths masked, pytest's timings dropped) because they feed prompts, and a replayed
job must build the same prompts.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestrator.domain import ValidatorResult
from orchestrator.engine.sandbox import SandboxLimits, SandboxRun, run_sandboxed

__all__ = [
    "defines_tests",
    "given_tests",
    "run_pytest",
    "run_python",
    "run_ruff",
    "run_ruff_files",
    "run_tree_pytest",
]

SCRIPT = "main.py"
GIVEN_TESTS = "test_given.py"
_DETAIL_CHARS = 1_500
_SIGNAL_HINTS = {"SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file or output too large)"}
_FENCE = re.compile(r"^```[ \t]*(?:python|py)?[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PYTEST_TIMING = re.compile(r" in \d+(?:\.\d+)?s(?: \([0-9:.]+\))?")
# pytest's exit codes (pytest.ExitCode), spelled out for the detail.
_PYTEST_EXITS = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}
# The rules ruff applies by default, named so a new ruff default cannot change results.
_RUFF_RULES = "E4,E7,E9,F"


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _DETAIL_CHARS else "..." + text[-_DETAIL_CHARS:]


def _signal_name(code: int) -> str:
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return str(-code)
    return name + _SIGNAL_HINTS.get(name, "")


def _ended_abnormally(name: str, run: SandboxRun) -> ValidatorResult | None:
    """A failed result when the sandbox stopped the run or a signal killed it."""
    if run.returncode is None:
        return ValidatorResult(name=name, passed=False, detail=run.stopped)
    if run.returncode < 0:
        detail = f"killed by signal {_signal_name(run.returncode)}\n{_tail(run.stderr)}"
        return ValidatorResult(name=name, passed=False, detail=detail.strip())
    return None


def _is_test(node: ast.stmt) -> bool:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return node.name.startswith("test")
    return isinstance(node, ast.ClassDef) and node.name.startswith("Test")


def defines_tests(code: str) -> bool:
    """Whether `code` has module-level pytest tests (`test*` functions, `Test*` classes)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return any(_is_test(node) for node in tree.body)


def given_tests(prompt: str) -> str:
    """Tests the task gives: every fenced Python block of `prompt` that defines tests."""
    blocks = [b for b in _FENCE.findall(prompt) if defines_tests(b)]
    return "\n\n".join(b.strip("\n") + "\n" for b in blocks)


def _module_aliases(tests: str) -> list[str]:
    """Module names the given tests import that exist nowhere: the code under test, by the
    name the task gave it (`from calculator import add`), so it is also written there."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(tests)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    names -= {Path(SCRIPT).stem, Path(GIVEN_TESTS).stem}
    return sorted(n for n in names if n.isidentifier() and importlib.util.find_spec(n) is None)


async def run_python(
    code: str,
    limits: SandboxLimits,
    *,
    tree: Mapping[str, str] | None = None,
    script: str = SCRIPT,
) -> ValidatorResult:
    """Run `code` as a script in the sandbox, beside the files of `tree` if given, under the
    name `script`; a non-zero exit or a timeout fails."""
    files = {**(tree or {}), script: code}
    run = await run_sandboxed([limits.python, "-I", script], files, limits)
    abnormal = _ended_abnormally("python_run", run)
    if abnormal is not None:
        return abnormal
    if run.returncode == 0:
        shown = _tail(run.stdout) or "(no output)"
        return ValidatorResult(
            name="python_run", passed=True, detail=f"exit code 0; stdout:\n{shown}"
        )
    missing = _missing_third_party(run.stderr)
    if missing:
        detail = f"not run to the end: needs the third-party module {missing!r}"
        return ValidatorResult(name="python_imports", passed=False, detail=detail)
    detail = f"exit code {run.returncode}"
    if "MemoryError" in run.stderr:
        detail += f" (memory limit of {limits.memory_mb} MB exceeded)"
    return ValidatorResult(name="python_run", passed=False, detail=f"{detail}\n{_tail(run.stderr)}")


def _missing_third_party(stderr: str) -> str | None:
    """The module name when the run died importing a module the sandbox does not have."""
    lines = stderr.strip().splitlines()
    prefix = "ModuleNotFoundError: No module named '"
    if not lines or not lines[-1].startswith(prefix):
        return None
    name = lines[-1][len(prefix) :].split("'")[0]
    return None if name.split(".")[0] in sys.stdlib_module_names else name


async def run_pytest(code: str, tests: str, limits: SandboxLimits) -> ValidatorResult:
    """pytest on the tests in `code` and on `tests` (given by the task, may be empty)."""
    files = {SCRIPT: code}
    targets = [SCRIPT] if defines_tests(code) else []
    if tests:
        files[GIVEN_TESTS] = tests
        files.update({f"{name}.py": code for name in _module_aliases(tests)})
        targets.append(GIVEN_TESTS)
    return await run_tree_pytest(files, targets, limits)


async def run_tree_pytest(
    tree: Mapping[str, str], targets: Sequence[str], limits: SandboxLimits
) -> ValidatorResult:
    """pytest on the test files `targets` of `tree` (path -> contents), run at its root."""
    if importlib.util.find_spec("pytest") is None:
        return ValidatorResult(name="pytest", passed=False, detail="not run: pytest is missing")
    # An empty ini file of our own: pytest must not pick up the configuration of whatever
    # directory the scratch directory happens to sit in (nor the tree's own).
    files = {**tree, "pytest.ini": "[pytest]\n"}
    argv = [limits.python, "-I", "-B", "-m", "pytest", "-c", "pytest.ini", "-p", "no:cacheprovider"]
    argv += ["-q", "--no-header", "--color=no", "-rfE", "--tb=short", *targets]
    # No third-party plugins: they are not what is being tested, and they slow the start.
    run = await run_sandboxed(argv, files, limits, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    abnormal = _ended_abnormally("pytest", run)
    if abnormal is not None:
        return abnormal
    report = _PYTEST_TIMING.sub("", _tail(run.stdout + run.stderr))
    if run.returncode == 0:
        return ValidatorResult(name="pytest", passed=True, detail=report.splitlines()[-1])
    why = _PYTEST_EXITS.get(run.returncode or 0, "tests failed")
    return ValidatorResult(name="pytest", passed=False, detail=f"{why}\n{report}")


def _is_syntax_finding(line: str) -> bool:
    # ruff spells it "invalid-syntax:" now, "SyntaxError:" or E999 in older releases.
    return any(mark in line for mark in (" invalid-syntax:", " SyntaxError:", " E999 "))


def _ruff_argv(python: str) -> list[str] | None:
    beside = Path(python).parent / "ruff"
    if beside.is_file():
        return [str(beside)]
    return [python, "-I", "-m", "ruff"] if importlib.util.find_spec("ruff") else None


async def run_ruff(code: str, limits: SandboxLimits) -> ValidatorResult:
    """`ruff check` with a fixed rule set; findings are listed one a line."""
    return await run_ruff_files({SCRIPT: code}, limits)


async def run_ruff_files(files: Mapping[str, str], limits: SandboxLimits) -> ValidatorResult:
    """`ruff check` of the Python `files` (path -> contents), with a fixed rule set."""
    ruff = _ruff_argv(limits.python)
    if ruff is None:
        return ValidatorResult(name="ruff", passed=False, detail="not run: ruff is missing")
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    argv = [*ruff, "check", "--isolated", "--no-cache", "--output-format", "concise"]
    argv += ["--select", _RUFF_RULES, "--target-version", version, *files]
    run = await run_sandboxed(argv, files, limits)
    abnormal = _ended_abnormally("ruff", run)
    if abnormal is not None:
        return abnormal
    if run.returncode == 0:
        return ValidatorResult(name="ruff", passed=True)
    findings = [ln for ln in run.stdout.splitlines() if ln.startswith(_ruff_prefixes(files))]
    if run.returncode != 1 or not findings:
        detail = f"ruff failed (exit code {run.returncode})\n{_tail(run.stderr or run.stdout)}"
        return ValidatorResult(name="ruff", passed=False, detail=detail)
    # The syntax check runs first and gates this one, so a syntax error here means ruff's
    # parser disagrees with the interpreter's: reported under its own (hard) name.
    name = "ruff_syntax" if any(_is_syntax_finding(ln) for ln in findings) else "ruff"
    detail = f"{len(findings)} finding(s):\n{_tail(chr(10).join(findings))}"
    return ValidatorResult(name=name, passed=False, detail=detail)


def _ruff_prefixes(files: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(f"{path}:" for path in files)
