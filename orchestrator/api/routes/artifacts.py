"""Result files of a job: list, one file, or all of them as a zip.

The files are the job's project tree and its summary (`.orchestrator/summary.md`); the zip
also carries the tree's git history when this machine holds the job's workspace.
"""

from __future__ import annotations

import asyncio
import io
import mimetypes
import zipfile
from typing import Any

from fastapi import APIRouter, Response

from orchestrator.api.deps import RuntimeDep, StoreDep
from orchestrator.api.errors import ArtifactNotFound, errors
from orchestrator.api.schemas import ArtifactPublic
from orchestrator.runtime.workspaces import history_files, workspace_of
from orchestrator.store import check_artifact_path
from orchestrator.workspace import last_writers, tree_of

router = APIRouter(prefix="/api/jobs/{job_id}", tags=["artifacts"])

_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The file"}
}
_ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "Every result file"}
}


@router.get("/artifacts", responses=errors(404))
async def list_artifacts(job_id: str, store: StoreDep, runtime: RuntimeDep) -> list[ArtifactPublic]:
    """Each file with its size and the task that wrote it last (a fix round's id, e.g.
    `fix_1`, once one changed it)."""
    await store.get_job(job_id)
    writers = {path: f.task_id for path, f in tree_of(await store.list_tasks(job_id)).items()}
    # The history knows who changed a file after its task: a fix round; the plan does not.
    workspace = workspace_of(runtime.deps.settings, job_id)
    writers |= await asyncio.to_thread(last_writers, workspace)
    return [
        ArtifactPublic(path=p, size=s, task_id=writers.get(p))
        for p, s in await store.list_artifacts(job_id)
    ]


@router.get("/artifacts.zip", response_class=Response, responses=_ZIP | errors(404))
async def download_artifacts(job_id: str, store: StoreDep, runtime: RuntimeDep) -> Response:
    await store.get_job(job_id)
    workspace = workspace_of(runtime.deps.settings, job_id)
    history = await asyncio.to_thread(history_files, workspace)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, _size in await store.list_artifacts(job_id):
            archive.writestr(f"{job_id}/{path}", await store.read_artifact(job_id, path))
        for path, content in history:
            archive.writestr(f"{job_id}/{path}", content)
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="job-{job_id}.zip"'},
    )


@router.get("/artifacts/{path:path}", response_class=Response, responses=_FILE | errors(400, 404))
async def get_artifact(job_id: str, path: str, store: StoreDep) -> Response:
    check_artifact_path(path)  # 400 for "../x", "/etc/passwd" and the like
    await store.get_job(job_id)
    if path not in dict(await store.list_artifacts(job_id)):
        raise ArtifactNotFound(job_id, path)
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if media_type.startswith("text/") or path.endswith((".py", ".md", ".json", ".yaml")):
        media_type = "text/plain; charset=utf-8"
    return Response(await store.read_artifact(job_id, path), media_type=media_type)
