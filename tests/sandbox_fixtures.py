"""Helpers of the sandbox tests: limits per isolation backend, and finding the processes a
sandboxed program started (by a marker in their command line: under bubblewrap the program
sees its own PID namespace, so the pids it prints mean nothing outside)."""

from __future__ import annotations

import contextlib
import os
import select
import uuid

import pytest

from orchestrator.engine.sandbox import SandboxLimits, isolation_of

# "none" runs the same attempts without isolation: where an escape test expects the attempt
# to succeed there, it proves the test can see an escape.
BACKENDS = ("none", "bubblewrap", "landlock")
ISOLATED = ("bubblewrap", "landlock")
LABELS = {"none": "none: turned off (ORCH_SANDBOX=none)", "landlock": "landlock+seccomp"}


def limits_for(mode: str, **fields: object) -> SandboxLimits:
    """Limits whose runs use backend `mode`; the test is skipped where it is not available
    (CI installs bubblewrap and runs on a kernel with Landlock ABI 4+: both run there)."""
    limits = SandboxLimits.model_validate({"timeout_s": 15.0, "memory_mb": 256, **fields})
    limits = limits.model_copy(update={"isolation": mode})
    isolation = isolation_of(limits)
    if isolation.refused:
        pytest.skip(f"isolation {mode} is not available here: {isolation.why}")
    return limits


def label_of(mode: str) -> str:
    return LABELS.get(mode, mode)


def marker() -> str:
    return f"orchmark{uuid.uuid4().hex[:12]}"


def marked_processes(mark: str) -> list[int]:
    """Pids (as this process sees them) of live processes whose command line holds `mark`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if mark.encode() in cmdline:
            found.append(int(entry.name))
    return found


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


def kill_marked(mark: str) -> None:
    """End what an unisolated run left behind (the 'none' control of escape tests)."""
    for pid in marked_processes(mark):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
