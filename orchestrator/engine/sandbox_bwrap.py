"""bubblewrap (`bwrap`): generated code in fresh Linux namespaces.

The program gets new user, mount, PID, IPC, UTS, cgroup and network namespaces: an empty
root (read-only once set up) with only the system directories, the interpreter's prefix and
the given files mounted read-only, the scratch directory the one writable place, a /proc
of its own processes only, a minimal /dev, no network device but its own loopback, and no
capabilities. `--die-with-parent` ends it with the sandbox's launcher, and when the
namespace's first process dies the kernel kills every process left in it (one that left
the process group included).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence

__all__ = ["bwrap_argv", "bwrap_problem"]

_PROBE_TIMEOUT_S = 30.0


def bwrap_argv(
    bwrap: str, *, read_only: Sequence[str], writable: Sequence[str], workdir: str
) -> list[str]:
    """The `bwrap ... --` prefix that runs a command with these mounts, in `workdir`."""
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL"]
    for path in read_only:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]  # e.g. /lib -> usr/lib
        elif os.path.exists(path):
            argv += ["--ro-bind", path, path]
    for path in writable:
        argv += ["--bind", path, path]
    argv += ["--proc", "/proc", "--dev", "/dev", "--chdir", workdir, "--remount-ro", "/", "--"]
    return argv


@functools.lru_cache(maxsize=8)
def bwrap_problem(bwrap: str) -> str | None:
    """None when `bwrap` is installed and can build a sandbox here; else what is wrong.

    Cached per program for the life of the process: a machine does not gain or lose user
    namespaces while it runs.
    """
    found = shutil.which(bwrap)
    if found is None:
        return f"{bwrap!r} not found (install the bubblewrap package)"
    true = shutil.which("true") or "/usr/bin/true"
    system = [p for p in ("/usr", "/bin", "/lib", "/lib64") if os.path.exists(p)]
    argv = [*bwrap_argv(found, read_only=system, writable=[], workdir="/"), true]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{found} does not run: {e}"
    if done.returncode != 0:
        return f"{found} cannot build a sandbox here: {done.stderr.strip()[:300]}"
    return None
