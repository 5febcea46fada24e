"""A result file's history: its versions in the job's git history, each one's contents and
its diff against the version before.

`GET /api/jobs/{id}/files/{path}/history` lists the versions, newest first: the commit, the
model that wrote it (the commit's author), the task, the time, the size. A version is
`.../history/{commit}` (its contents) and `.../history/{commit}/diff` (a unified diff). The
routes end in fixed words, so a path holding `history` still names one file: the longest
path that leaves such an ending wins, and a commit id is hexadecimal, never `history`.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Response

from orchestrator.api.deps import RuntimeDep, StoreDep
from orchestrator.api.errors import ArtifactNotFound, errors
from orchestrator.api.schemas import FileDiffPublic, FileHistoryPublic, FileVersionPublic
from orchestrator.errors import InvalidInput, VersionNotFound
from orchestrator.runtime import Runtime
from orchestrator.runtime.workspaces import workspace_of
from orchestrator.store import Store, check_artifact_path
from orchestrator.workspace import FileVersion, file_history, unified_diff

router = APIRouter(prefix="/api/jobs/{job_id}/files", tags=["files"])

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "The file as this version wrote it"}
}


def _url(job_id: str, path: str, commit: str) -> str:
    return f"/api/jobs/{quote(job_id)}/files/{quote(path)}/history/{commit}"


async def _history(
    store: StoreDep, runtime: RuntimeDep, job_id: str, path: str
) -> list[FileVersion]:
    """The file's versions; 400 for a path no file can have, 404 for an unknown job or a
    file the job has neither in its history nor among its result files."""
    check_artifact_path(path)
    await store.get_job(job_id)
    workspace = workspace_of(runtime.deps.settings, job_id)
    versions = await asyncio.to_thread(file_history, workspace.root, path)
    if not versions and path not in dict(await store.list_artifacts(job_id)):
        raise ArtifactNotFound(job_id, path)
    return versions


async def _version(
    store: Store, runtime: Runtime, job_id: str, path: str, commit: str
) -> tuple[FileVersion, FileVersion | None]:
    """The version `commit` wrote and the one before it (None: the first)."""
    if not _COMMIT.match(commit):
        raise InvalidInput(f"commit {commit[:50]!r}: give a commit's full id, 40 hex digits")
    versions = await _history(store, runtime, job_id, path)
    for i, version in enumerate(versions):
        if version.commit == commit:
            return version, versions[i + 1] if i + 1 < len(versions) else None
    raise VersionNotFound(job_id, path, commit)


@router.get("/{path:path}/history", responses=errors(400, 404))
async def get_file_history(
    job_id: str, path: str, store: StoreDep, runtime: RuntimeDep
) -> FileHistoryPublic:
    """The file's versions, newest first, each with the model and task that wrote it."""
    versions = await _history(store, runtime, job_id, path)
    return FileHistoryPublic(
        path=path,
        versions=[
            FileVersionPublic(
                commit=v.commit,
                model=v.model,
                task_id=v.task_id,
                message=v.message,
                time=v.time,
                size=len(v.content),
                previous=v.previous,
                content_url=_url(job_id, path, v.commit),
                diff_url=f"{_url(job_id, path, v.commit)}/diff",
            )
            for v in versions
        ],
    )


@router.get(
    "/{path:path}/history/{commit}", response_class=Response, responses=_TEXT | errors(400, 404)
)
async def get_file_version(
    job_id: str, path: str, commit: str, store: StoreDep, runtime: RuntimeDep
) -> Response:
    """The file's contents as the version `commit` wrote them."""
    version, _ = await _version(store, runtime, job_id, path, commit)
    return Response(version.content, media_type="text/plain; charset=utf-8")


@router.get("/{path:path}/history/{commit}/diff", responses=errors(400, 404))
async def get_file_diff(
    job_id: str, path: str, commit: str, store: StoreDep, runtime: RuntimeDep
) -> FileDiffPublic:
    """The version `commit` against the version before it, as a unified diff."""
    version, before = await _version(store, runtime, job_id, path, commit)
    diff = unified_diff(path, before.content if before else None, version.content)
    return FileDiffPublic(
        path=path, commit=commit, previous=before.commit if before else None, diff=diff
    )
