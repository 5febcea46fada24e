"""One file's history in a workspace's git repository: its versions, newest first, each with
the commit that wrote it (author = the model, message = the task, its score and cost), its
contents and the version before it. Read-only, with dulwich; blocking: call it from a thread.
"""

from __future__ import annotations

import difflib
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from dulwich.errors import NotTreeError
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Blob, Commit, ObjectID
from dulwich.repo import Repo

from orchestrator.workspace._repo import BRANCH, STEP_TRAILER, Workspace, existing_repo

__all__ = ["FileVersion", "file_history", "last_writers", "unified_diff"]

_TASK_ID = re.compile(r"^([\w.-]+): ")


@dataclass(frozen=True)
class FileVersion:
    commit: str
    model: str  # the commit's author, its name only
    task_id: str | None  # the task that wrote it, from the commit's message
    message: str  # without the orchestrator's own trailer
    time: int
    content: bytes
    previous: str | None  # the commit of the version before, None for the first


def file_history(root: Path, path: str) -> list[FileVersion]:
    """The versions of `path` in the repository at `root`, newest first: each commit on the
    branch that added or changed it ([] without a repository, or for a path it never had)."""
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts) or not path.isprintable():
        return []
    with existing_repo(root) as repo:
        if repo is None:
            return []
        try:
            head = repo.refs[BRANCH]
        except KeyError:
            return []
        found: list[tuple[Commit, ObjectID]] = []
        for entry in repo.get_walker(include=[head]):
            commit = entry.commit
            blob = _blob_at(repo, commit, path)
            if blob is None:
                continue
            parents = [_blob_at(repo, _commit(repo, p), path) for p in commit.parents]
            if blob not in parents:
                found.append((commit, blob))
        versions = []
        for i, (commit, blob) in enumerate(found):
            content = repo[blob]
            assert isinstance(content, Blob)
            message = commit.message.decode("utf-8", "replace").split(STEP_TRAILER, 1)[0]
            first = message.split("\n", 1)[0]
            task = _TASK_ID.match(first)
            versions.append(
                FileVersion(
                    commit=commit.id.decode(),
                    model=commit.author.decode("utf-8", "replace").split(" <", 1)[0],
                    task_id=task.group(1) if task else None,
                    message=message.strip(),
                    time=commit.author_time,
                    content=content.as_raw_string(),
                    previous=found[i + 1][0].id.decode() if i + 1 < len(found) else None,
                )
            )
        return versions


def last_writers(workspace: Workspace) -> dict[str, str]:
    """Each path of the history -> the task whose commit added or changed it last (a fix
    round's, once one changed it); paths written by a commit naming no task are left out."""
    writers: dict[str, str] = {}
    for info in workspace.log():  # newest first
        task = _TASK_ID.match(info.message.split("\n", 1)[0])
        for path in info.files:
            if task is not None:
                writers.setdefault(path, task.group(1))
    return writers


def unified_diff(path: str, before: bytes | None, after: bytes, *, context: int = 3) -> str:
    """`after` against `before` as a unified diff (`before` None: the whole file is added)."""
    old = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new = after.decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"a/{path}" if before is not None else "/dev/null",
        tofile=f"b/{path}",
        n=context,
    )
    return "".join(line if line.endswith("\n") else f"{line}\n" for line in lines)


def _commit(repo: Repo, commit_id: ObjectID) -> Commit:
    commit = repo[commit_id]
    assert isinstance(commit, Commit)
    return commit


def _blob_at(repo: Repo, commit: Commit, path: str) -> ObjectID | None:
    """The id of the file `path` in `commit`'s tree (None: not there, or a folder)."""
    try:
        mode, sha = tree_lookup_path(repo.__getitem__, commit.tree, path.encode())
    except (KeyError, NotTreeError):  # not there, or a file where the path wants a folder
        return None
    return None if stat.S_ISDIR(mode) else sha
