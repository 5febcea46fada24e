"""Where `run`, `resume` and `approve` put a job's result: the folder given by `--out`.

The result is the job's project tree, its summary (`.orchestrator/summary.md`) and the tree's
git history (its `.git` folder), so `git log` works there: read from this machine's store and
workspace for a local run, from the server's zip for a remote one. A folder that already holds
something else is refused before the job starts, unless `--force`.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

from orchestrator.config import Settings
from orchestrator.errors import InvalidInput, RemoteError
from orchestrator.runtime.workspaces import history_files, workspace_of
from orchestrator.store import Store, check_artifact_path

__all__ = ["check_out_dir", "files_of_zip", "local_files", "write_result"]

File = tuple[str, bytes]
SUMMARY = ".orchestrator/summary.md"


def check_out_dir(target: Path, *, force: bool, job_id: str | None = None) -> None:
    """Raise InvalidInput unless `target` may take the result: a folder that does not exist,
    is empty, or holds an earlier result of job `job_id` (a resumed or approved job); any
    folder with `force`."""
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"--out {target} is not a folder")
    if force or not target.exists() or next(target.iterdir(), None) is None:
        return
    if job_id is not None and _holds_result_of(target, job_id):
        return
    raise InvalidInput(
        f"--out {target} is not empty: give an empty or new folder, or --force to write into it"
    )


async def local_files(store: Store, settings: Settings, job_id: str) -> list[File]:
    """The job's result files and its workspace's `.git` folder on this machine."""
    paths = [path for path, _size in await store.list_artifacts(job_id)]
    files = [(path, await store.read_artifact(job_id, path)) for path in paths]
    return files + history_files(workspace_of(settings, job_id))


def files_of_zip(data: bytes, job_id: str) -> list[File]:
    """The files of the server's `artifacts.zip` of job `job_id` (each under `<job_id>/`)."""
    prefix = f"{job_id}/"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            found = []
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if not info.filename.startswith(prefix):
                    raise RemoteError(f"the server's zip holds {info.filename!r} outside {prefix}")
                found.append((info.filename.removeprefix(prefix), archive.read(info)))
            return found
    except zipfile.BadZipFile as e:
        raise RemoteError(f"the server's result files of job {job_id} are not a zip: {e}") from e


def write_result(target: Path, files: Sequence[File]) -> None:
    """Write `files` under `target`, replacing files of the same path; a `.git` folder there
    is replaced as a whole when `files` carry one (a history is not merged into another)."""
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    for path, _ in files:
        check_artifact_path(path)  # a relative path that stays inside the folder
    if any(path.startswith(".git/") for path, _ in files):
        git = target / ".git"
        if git.is_symlink() or git.is_file():
            git.unlink()
        elif git.is_dir():
            shutil.rmtree(git)
    for path, content in files:
        dest = root / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.parent.resolve().is_relative_to(root):
            raise InvalidInput(f"{path!r} not written: a symbolic link in {target} leads out of it")
        if dest.is_symlink():
            dest.unlink()
        dest.write_bytes(content)


def _holds_result_of(target: Path, job_id: str) -> bool:
    summary = target / SUMMARY
    try:
        first = summary.read_text("utf-8", "replace").split("\n", 1)[0]
    except OSError:
        return False
    return not summary.is_symlink() and first.strip() == f"# Job {job_id}"
