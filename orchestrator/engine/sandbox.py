"""Run a program on generated files in a throw-away directory, isolated and under limits.

Isolation (`sandbox_choice.py` picks it, `ORCH_SANDBOX` steers it; every run says which):
- **bubblewrap** (`sandbox_bwrap.py`): new namespaces, only system directories and the
  interpreter mounted read-only, the scratch directory the one writable place, a /proc of
  its own, no network;
- **landlock+seccomp** (`sandbox_landlock.py`): the kernel confines reads to the same
  paths and writes to the scratch directory, and refuses TCP bind and connect;
- **none**: only what follows.
Under both backends a seccomp filter (`sandbox_seccomp.py`) also refuses non-UNIX sockets,
leaving the process group (`setsid`, `setpgid`), `ptrace` and other kernel surfaces.

What is enforced, for every run:
- a fresh scratch directory per run (`<scratch>/work` is the working directory, HOME and
  TMPDIR point into it), removed afterwards with whatever the program left in it;
- an environment of PATH and LANG only (plus HOME, TMPDIR and what the caller adds): no API
  key, token or other secret of the orchestrator's environment reaches the program;
- stdin closed; stdout and stderr captured to files, capped by RLIMIT_FSIZE and read back
  only up to `capture_bytes`;
- rlimits: address space (RLIMIT_AS), CPU seconds (RLIMIT_CPU), size of any written file
  (RLIMIT_FSIZE), open files (RLIMIT_NOFILE), no core dumps, and processes (RLIMIT_NPROC);
- a wall-clock timeout, after which the program's whole process group is killed; the group
  is killed after every run too, so nothing it started in the background outlives it;
- a watchdog that kills the group when it holds more than `max_processes` processes.

What is NOT prevented without isolation (`none`; say so rather than pretend):
- Linux ignores RLIMIT_NPROC for root. Run as root, a process flood is bounded only by the
  watchdog, which polls every 50 ms, so a fast fork loop gets a few hundred processes in
  before it is killed. As another user the rlimit binds at once. (The same holds under
  both backends, where the seccomp filter at least keeps every process in the group.)
- The program runs as the orchestrator's user: it can read any file that user can read and
  write, by absolute path or `../..`, anywhere that user can write (e.g. /tmp, or the
  user's home), including the orchestrator's store and the `.env` of its working
  directory (`/proc/<pid>/cwd/.env`). It also has the network, loopback included: it can
  call the orchestrator's own API.
- Reading another process's environment: as the same user (or root) the program can read
  `/proc/<pid>/environ` of the orchestrator itself.
- A process that leaves the process group (`setsid`, `setpgid`) escapes the group kill and
  the watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from orchestrator.config import SandboxMode
from orchestrator.engine import sandbox_landlock, sandbox_seccomp
from orchestrator.engine.sandbox_bwrap import bwrap_argv
from orchestrator.engine.sandbox_choice import (
    Isolation,
    choose_isolation,
    landlock_rules,
    read_only_paths,
)

__all__ = [
    "SANDBOX_LABEL",
    "Isolation",
    "SandboxLimits",
    "SandboxRun",
    "isolation_of",
    "run_sandboxed",
    "sandbox_env",
]

SANDBOX_LABEL = "<sandbox>"
_KEPT_ENV = ("PATH", "LANG")
_SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET")
_WATCH_INTERVAL_S = 0.05


class SandboxLimits(BaseModel):
    """Limits of one run of generated code."""

    timeout_s: float = Field(default=10.0, gt=0)
    memory_mb: int = Field(default=512, ge=64)
    capture_bytes: int = Field(default=64_000, ge=1_000)
    file_mb: int = Field(default=16, ge=1)  # any file written, the captured output included
    max_processes: int = Field(default=32, ge=2)
    max_open_files: int = Field(default=256, ge=32)
    python: str = sys.executable
    scratch_root: Path | None = None  # where scratch directories go; None = the system's temp
    isolation: SandboxMode = "auto"  # ORCH_SANDBOX
    bwrap: str = "bwrap"  # ORCH_SANDBOX_BWRAP


@dataclass(frozen=True)
class SandboxRun:
    """How a run ended: `returncode` is None when the sandbox stopped it (`stopped` says why);
    a negative code is the signal that killed it. `isolation` names the backend."""

    returncode: int | None
    stdout: str
    stderr: str
    stopped: str = ""
    isolation: str = ""


def sandbox_env(source: Mapping[str, str]) -> dict[str, str]:
    """Only PATH and LANG survive; a value never passes under a secret-looking name."""
    return {k: v for k, v in source.items() if k in _KEPT_ENV and not k.endswith(_SECRET_SUFFIXES)}


# Sets the limits, confines itself (the backend's modules, loaded by path: the program's
# interpreter runs isolated, without our package), then becomes the program. A launcher
# rather than `preexec_fn`, which is unsafe when the parent has threads (the durable runtime
# does): the child may deadlock between fork and exec. RLIMIT_NPROC counts every thread of
# the user, so the limit is what the user runs now plus the allowance; root is exempt from
# it (see the module docstring).
_LAUNCHER = """\
import json, os, resource, runpy, sys
spec = json.loads(sys.argv[1])
R = resource
for kind, value in ((R.RLIMIT_AS, spec["memory"]), (R.RLIMIT_CPU, spec["cpu"]),
                    (R.RLIMIT_CORE, 0), (R.RLIMIT_FSIZE, spec["fsize"]),
                    (R.RLIMIT_NOFILE, spec["nofile"])):
    R.setrlimit(kind, (value, value))
if os.getuid() != 0:
    uid, used = os.getuid(), 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                used += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    nproc = used + spec["nproc"]
    R.setrlimit(R.RLIMIT_NPROC, (nproc, nproc))
steps = [(runpy.run_path(path)[name], args) for path, name, args in spec["confine"]]
for function, args in steps:  # loaded first: Landlock hides the modules' own files
    function(*args)
os.environ.pop("PWD", None)  # bubblewrap sets it
os.execv(sys.argv[2], sys.argv[2:])
"""


def isolation_of(limits: SandboxLimits) -> Isolation:
    """The isolation runs under `limits` get on this machine (may run `bwrap` once)."""
    return choose_isolation(limits.isolation, limits.bwrap)


def _command(
    limits: SandboxLimits, isolation: Isolation, scratch: Path, argv: Sequence[str]
) -> list[str]:
    """The launcher's command line: limits and confinement for `isolation`, then `argv`."""
    seccomp: list[list[object]] = [[sandbox_seccomp.__file__, "install", []]]
    confine: list[list[object]] = []
    if isolation.backend == "landlock+seccomp":
        read_only, writable = landlock_rules(limits.python, str(scratch))
        confine = [[sandbox_landlock.__file__, "restrict", [read_only, writable]], *seccomp]
    elif isolation.backend == "bubblewrap" and sandbox_seccomp.supported():
        confine = seccomp
    spec = {
        "memory": limits.memory_mb * 2**20,
        "cpu": int(limits.timeout_s) + 2,  # CPU seconds: a backstop behind the wall clock
        "fsize": limits.file_mb * 2**20,
        "nproc": limits.max_processes,
        "nofile": limits.max_open_files,
        "confine": confine,
    }
    launch = [limits.python, "-I", "-c", _LAUNCHER, json.dumps(spec), *argv]
    if isolation.backend != "bubblewrap":
        return launch
    mounts = [*read_only_paths(limits.python), sandbox_seccomp.__file__]
    prefix = bwrap_argv(
        limits.bwrap, read_only=mounts, writable=[str(scratch)], workdir=str(scratch / "work")
    )
    return [*prefix, *launch]


def _prepare(scratch: Path, files: Mapping[str, str]) -> tuple[Path, int, int]:
    """Write `files` in `scratch`/work; open the files stdout and stderr go to.

    Files, not pipes: a killed program that flooded a pipe nobody reads any more would
    leave the pipe, and so `Process.wait()`, hanging; RLIMIT_FSIZE caps the files instead.
    They sit beside the working directory, not in it, out of the program's way.
    """
    workdir = scratch / "work"
    for sub in (workdir, workdir / ".home", workdir / ".tmp"):
        sub.mkdir()
    for name, text in files.items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)  # a project tree has folders
        target.write_text(text, encoding="utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    return workdir, os.open(scratch / "stdout.txt", flags), os.open(scratch / "stderr.txt", flags)


def _read_head(scratch: Path, name: str, cap: int) -> str:
    """The first `cap` bytes of a captured stream, with a note of what was cut.

    The scratch directory's random name is replaced by `<sandbox>`: the same code must give
    the same detail, or the prompts built from it (and their request hashes) would differ
    when a job is replayed.
    """
    path = scratch / name
    with path.open("rb") as f:
        head = f.read(cap)
        dropped = max(path.stat().st_size - cap, 0)
    text = head.decode("utf-8", errors="replace")
    for spelling in {os.path.realpath(scratch), str(scratch)}:
        text = text.replace(spelling, SANDBOX_LABEL)
    return f"{text}\n[... {dropped} bytes cut]" if dropped else text


def _kill_group(pid: int) -> None:
    # The child leads its own session: this also ends anything it forked.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _group_size(pgid: int) -> int:
    """How many live processes are in process group `pgid` (0 where /proc is missing)."""
    count = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue  # it ended while we looked
            # Fields after the command name (which may hold spaces and parentheses):
            # state ppid pgrp ...; a zombie no longer holds anything.
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
                count += 1
    return count


async def _wait(proc: asyncio.subprocess.Process, limits: SandboxLimits) -> str:
    """Wait for the program; '' when it ended by itself, else why it was stopped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.timeout_s
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while not waiter.done():
            left = deadline - loop.time()
            if left <= 0:
                return f"timed out after {limits.timeout_s:g} s (killed)"
            await asyncio.wait({waiter}, timeout=min(_WATCH_INTERVAL_S, left))
            if not waiter.done():
                size = await asyncio.to_thread(_group_size, proc.pid)
                if size > limits.max_processes:
                    return f"stopped: more than {limits.max_processes} processes (killed)"
        return ""
    finally:
        _kill_group(proc.pid)
        await waiter


async def run_sandboxed(
    argv: Sequence[str],
    files: Mapping[str, str],
    limits: SandboxLimits,
    *,
    env: Mapping[str, str] | None = None,
) -> SandboxRun:
    """Write `files` into a fresh working directory and run `argv` there under the limits.

    Never raises for anything the program does; only for a broken host (e.g. no interpreter).
    """
    isolation = await asyncio.to_thread(isolation_of, limits)
    if isolation.refused:
        return SandboxRun(None, "", "", f"not run: {isolation.why}", isolation.label)
    # ignore_cleanup_errors: whatever the program did to its directory must not raise here.
    with tempfile.TemporaryDirectory(
        prefix="orch-validate-", dir=limits.scratch_root, ignore_cleanup_errors=True
    ) as tmp:
        # The real path: the one bubblewrap mounts and Landlock compares.
        scratch = Path(await asyncio.to_thread(os.path.realpath, tmp))
        workdir, out_fd, err_fd = await asyncio.to_thread(_prepare, scratch, files)
        child_env = {
            **sandbox_env(os.environ),
            "HOME": str(workdir / ".home"),
            "TMPDIR": str(workdir / ".tmp"),
            **(env or {}),
        }
        command = _command(limits, isolation, scratch, argv)
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                cwd=workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out_fd,
                stderr=err_fd,
                env=child_env,
                start_new_session=True,
            )
        finally:
            os.close(out_fd)
            os.close(err_fd)
        stopped = await _wait(proc, limits)
        stdout = await asyncio.to_thread(_read_head, scratch, "stdout.txt", limits.capture_bytes)
        stderr = await asyncio.to_thread(_read_head, scratch, "stderr.txt", limits.capture_bytes)
    returncode = None if stopped else proc.returncode
    return SandboxRun(returncode, stdout, stderr, stopped, isolation.label)
