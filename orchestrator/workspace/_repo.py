"""A job's workspace: its project tree checked out in a folder that is a git repository.

One commit per accepted task result, written with dulwich (no `git` binary needed): the
author is the model, the message says the task, its score and cost. A commit carries the
durable step that made it (an `Orchestrator-Step:` trailer), so the same step run again after
a crash finds its commit and adds none; a commit that would change nothing is not made.
Writers of one workspace take turns on a file lock (tasks of a job finish concurrently, in
one process or several on one machine); readers take it too, since a repository being
created exists as a `.git` folder before dulwich has written what makes it one. Blocking:
call it from a thread.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from dulwich.index import build_index_from_tree, commit_tree, iter_tree_contents
from dulwich.objects import Blob, Commit, ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from orchestrator.errors import InvalidInput
from orchestrator.project_paths import path_problem

__all__ = ["CommitInfo", "Workspace", "existing_repo", "locked"]

BRANCH = Ref(b"refs/heads/main")
COMMITTER = b"Multi-LLM Orchestrator <orchestrator@localhost>"
STEP_TRAILER = "Orchestrator-Step: "
_FILE_MODE = 0o100644


@dataclass(frozen=True)
class CommitInfo:
    id: str
    author: str
    message: str
    time: int
    files: tuple[str, ...]  # the paths it added or changed


class Workspace:
    """The folder `root` (created on first use) and its git history."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def commit(
        self, files: Mapping[str, str], *, author: str, message: str, step: str, now: float
    ) -> str | None:
        """Write `files` into the tree and commit them; the commit's id (the one this step
        made already, if it did), or None when nothing would change. Raises InvalidInput for
        a path that may not be written (the callers checked the paths: this is a last guard)."""
        for path in files:
            problem = path_problem(path)
            if problem is not None:
                raise InvalidInput(f"{path[:80]!r} refused: {problem}")
        with self._locked():
            repo = self._open()
            try:
                head = _head(repo)
                done = _committed_by(repo, head, step) if head is not None else None
                if done is not None:
                    self._check_out(repo)  # a crash may have struck between commit and checkout
                    return done
                tree = _tree_with(repo, head, files)
                if head is not None and _tree_of(repo, head) == tree:
                    return None
                commit = Commit()
                commit.tree = tree
                commit.parents = [head] if head is not None else []
                commit.author = _ident(author)
                commit.committer = COMMITTER
                commit.author_time = commit.commit_time = int(now)
                commit.author_timezone = commit.commit_timezone = 0
                commit.encoding = b"UTF-8"
                commit.message = f"{message.rstrip()}\n\n{STEP_TRAILER}{step}\n".encode()
                repo.object_store.add_object(commit)
                repo.refs.set_if_equals(BRANCH, head, commit.id)
                self._check_out(repo)
                return commit.id.decode()
            finally:
                repo.close()

    def read(self) -> dict[str, bytes]:
        """The committed tree: path -> contents ({} before the first commit)."""
        with existing_repo(self.root) as repo:
            head = None if repo is None else _head(repo)
            if repo is None or head is None:
                return {}
            tree = _tree_of(repo, head)
            return {
                e.path.decode(): repo[e.sha].as_raw_string()
                for e in iter_tree_contents(repo.object_store, tree)
            }

    def log(self) -> list[CommitInfo]:
        """The history, newest first."""
        with existing_repo(self.root) as repo:
            head = None if repo is None else _head(repo)
            if repo is None or head is None:
                return []
            infos = []
            for entry in repo.get_walker(include=[head]):
                c = entry.commit
                changed = sorted(
                    {
                        (ch.new.path or b"").decode()
                        for ch in entry.changes()
                        if not isinstance(ch, list) and ch.new is not None and ch.new.path
                    }
                )
                infos.append(
                    CommitInfo(
                        c.id.decode(),
                        c.author.decode(),
                        c.message.decode(),
                        c.author_time,
                        tuple(changed),
                    )
                )
            return infos

    def _locked(self) -> AbstractContextManager[None]:
        return locked(self.root)

    def _open(self) -> Repo:
        if (self.root / ".git").is_dir():
            return Repo(str(self.root))
        self.root.mkdir(parents=True, exist_ok=True)
        repo = Repo.init(str(self.root))
        repo.refs.set_symbolic_ref(Ref(b"HEAD"), BRANCH)
        return repo

    def _check_out(self, repo: Repo) -> None:
        """Write the committed tree into the folder (and the index, so `git status` is
        clean); never through a symbolic link someone put there."""
        head = _head(repo)
        if head is None:
            return
        tree = _tree_of(repo, head)
        for entry in iter_tree_contents(repo.object_store, tree):
            _refuse_links(self.root, entry.path.decode())
        build_index_from_tree(str(self.root), repo.index_path(), repo.object_store, tree)


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """The workspace's file lock, held for the block (one writer, or reader, at a time)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def existing_repo(root: Path) -> Iterator[Repo | None]:
    """The repository at `root` opened under the lock, or None where there is none; a reader
    that finds the `.git` folder of one being created waits for its creator to finish."""
    if not (root / ".git").is_dir():
        yield None
        return
    with locked(root), Repo(str(root)) as repo:
        yield repo


def _head(repo: Repo) -> ObjectID | None:
    try:
        return repo.refs[BRANCH]
    except KeyError:
        return None


def _tree_of(repo: Repo, commit_id: ObjectID) -> ObjectID:
    commit = repo[commit_id]
    assert isinstance(commit, Commit)
    return commit.tree


def _committed_by(repo: Repo, head: ObjectID, step: str) -> str | None:
    """The id of the commit `step` made, if any."""
    trailer = f"{STEP_TRAILER}{step}\n".encode()
    for entry in repo.get_walker(include=[head]):
        if trailer in entry.commit.message:
            return entry.commit.id.decode()
    return None


def _tree_with(repo: Repo, head: ObjectID | None, files: Mapping[str, str]) -> ObjectID:
    entries: dict[bytes, tuple[ObjectID, int]] = {}
    if head is not None:
        for e in iter_tree_contents(repo.object_store, _tree_of(repo, head)):
            entries[e.path] = (e.sha, e.mode)
    for path, content in files.items():
        blob = Blob.from_string(content.encode("utf-8"))
        repo.object_store.add_object(blob)
        entries[path.encode()] = (blob.id, _FILE_MODE)
    return commit_tree(repo.object_store, [(p, s, m) for p, (s, m) in sorted(entries.items())])


def _ident(name: str) -> bytes:
    clean = "".join(c for c in name if c not in "<>\n\r\0").strip() or "unknown model"
    return f"{clean} <{clean.replace(' ', '-')}@models.invalid>".encode()


def _refuse_links(root: Path, path: str) -> None:
    here = root
    for part in path.split("/"):
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISLNK(mode):
            raise InvalidInput(f"{path!r} refused: {here.relative_to(root)} is a symbolic link")
