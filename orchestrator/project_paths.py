"""Paths of a job's project tree: what a plan's manifest and a model's files may name.

A path becomes a file on the user's disk (the workspace, an unpacked zip, `--out`), on any
operating system, so only a plain relative POSIX path of ordinary names passes. The reason a
path is refused is said in words: it goes back to the model (or the reviewer) that wrote it.
Pure: the same text always gets the same verdict.
"""

from __future__ import annotations

__all__ = ["MAX_PATH_CHARS", "RESERVED_DIRS", "path_problem"]

MAX_PATH_CHARS = 200
# Where the repository's and the orchestrator's own files live, beside the project's.
RESERVED_DIRS = frozenset({".git", ".orchestrator"})
# Names Windows gives to devices in every directory, whatever the extension.
_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{name}{n}" for name in ("com", "lpt") for n in "123456789¹²³"}
)


def path_problem(path: str) -> str | None:
    """Why `path` cannot be a file of the project tree, or None when it can."""
    if not path:
        return "the path is empty"
    if len(path) > MAX_PATH_CHARS:
        return f"the path has {len(path)} characters, more than {MAX_PATH_CHARS}"
    if "\x00" in path:
        return "the path contains a NUL character"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "the path contains a control character"
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return "the path is absolute: give it relative to the project's root"
    if "\\" in path:
        return "the path contains a backslash: separate folders with '/'"
    parts = path.split("/")
    if ".." in parts:
        return "the path has a '..' part: it would leave the project"
    if any(p in ("", ".") for p in parts):
        return "the path has an empty or '.' part (a doubled, leading or trailing '/')"
    if parts[0] in RESERVED_DIRS:
        return f"the path is inside {parts[0]}/, which the orchestrator keeps for itself"
    for part in parts:
        if ":" in part:
            return f"the name {part!r} contains ':'"
        if part.endswith((" ", ".")):
            return f"the name {part!r} ends with a space or a dot"
        if part.split(".", 1)[0].rstrip(" ").lower() in _DEVICES:
            return f"the name {part!r} is a device name on Windows"
    return None
