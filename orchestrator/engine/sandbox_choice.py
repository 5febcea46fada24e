"""Which isolation a sandbox run gets: the strongest available, or what the setting demands.

`ORCH_SANDBOX` (`SandboxLimits.isolation`):
- `auto` (default): bubblewrap when `bwrap` works here, else Landlock + seccomp when the
  kernel has Landlock ABI 4+, else none (the run goes on, and says so);
- `require`: the same, but with neither the code is not run;
- `bubblewrap` / `landlock`: that backend only, or the code is not run;
- `none`: resource limits and a scrubbed environment only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from orchestrator.config import SandboxMode
from orchestrator.engine import sandbox_landlock, sandbox_seccomp
from orchestrator.engine.sandbox_bwrap import bwrap_problem

__all__ = [
    "Backend",
    "Isolation",
    "choose_isolation",
    "landlock_problem",
    "landlock_rules",
    "read_only_paths",
]

Backend = Literal["bubblewrap", "landlock+seccomp", "none"]

# Read-only for generated code under either backend (what exists of them): the system's
# programs and libraries, the dynamic loader's configuration, time zones, user names.
SYSTEM_PATHS = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
)
# Devices Landlock must name (bubblewrap mounts a minimal /dev of its own).
READ_DEVICES = ("/dev/zero", "/dev/random", "/dev/urandom")
WRITE_DEVICES = ("/dev/null",)


@dataclass(frozen=True)
class Isolation:
    """The backend of a run; `why` says what is missing when it is none or refused."""

    backend: Backend
    why: str = ""
    refused: bool = False  # the setting demands isolation this machine cannot give

    @property
    def label(self) -> str:
        return self.backend if self.backend != "none" else f"none: {self.why}"


def landlock_problem() -> str | None:
    """None when Landlock (with network rules) and the seccomp filter can be applied here."""
    if not sandbox_seccomp.supported():
        return "no seccomp filter for this architecture"
    abi = sandbox_landlock.abi_version()
    if abi < sandbox_landlock.MIN_ABI:
        have = f"ABI {abi}" if abi else "missing or disabled"
        return f"Landlock {have} (network rules need ABI {sandbox_landlock.MIN_ABI}, Linux 6.7)"
    return None


def choose_isolation(mode: SandboxMode, bwrap: str) -> Isolation:
    """The isolation for `mode` on this machine (probes `bwrap` once per process)."""
    if mode == "none":
        return Isolation("none", "turned off (ORCH_SANDBOX=none)")
    if mode in ("auto", "require", "bubblewrap"):
        problem = bwrap_problem(bwrap)
        if problem is None:
            return Isolation("bubblewrap")
        if mode == "bubblewrap":
            return Isolation("none", f"ORCH_SANDBOX=bubblewrap, but {problem}", refused=True)
        problems = [f"bubblewrap: {problem}"]
    else:
        problems = []
    problem = landlock_problem()
    if problem is None:
        return Isolation("landlock+seccomp")
    problems.append(f"landlock: {problem}")
    why = "; ".join(problems)
    if mode == "auto":
        return Isolation("none", f"no isolation backend ({why})")
    return Isolation("none", f"ORCH_SANDBOX={mode}, but no isolation backend ({why})", True)


def read_only_paths(python: str) -> list[str]:
    """System paths, and the prefix of `python` both as named and resolved (a virtual
    environment and the interpreter it was made from): what the program may read."""
    prefixes: list[str] = []
    for exe in (python, os.path.realpath(python), sys.prefix, sys.base_prefix):
        path = Path(exe)
        prefix = path.parent.parent if path.parent.name == "bin" else path
        if python != sys.executable and exe in (sys.prefix, sys.base_prefix):
            continue  # another interpreter: ours is none of its business
        prefixes.append(str(prefix))
    extra = [p for p in dict.fromkeys(prefixes) if not _beneath_system(p)]
    return [*SYSTEM_PATHS, *extra]


def _beneath_system(path: str) -> bool:
    return path == "/" or any(path == s or path.startswith(f"{s}/") for s in SYSTEM_PATHS)


def landlock_rules(python: str, scratch: str) -> tuple[Sequence[str], Sequence[str]]:
    """(read-only paths, writable paths) of a Landlock run."""
    return [*read_only_paths(python), *READ_DEVICES], [scratch, *WRITE_DEVICES]
