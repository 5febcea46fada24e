"""Result files of a job: list, one file, or all of them as a zip."""

from __future__ import annotations

import io
import mimetypes
import zipfile
from typing import Any

from fastapi import APIRouter, Response

from orchestrator.api.deps import StoreDep
from orchestrator.api.errors import ArtifactNotFound, errors
from orchestrator.api.schemas import ArtifactPublic
from orchestrator.store import check_artifact_path

router = APIRouter(prefix="/api/jobs/{job_id}", tags=["artifacts"])

_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The file"}
}
_ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "Every result file"}
}


@router.get("/artifacts", responses=errors(404))
async def list_artifacts(job_id: str, store: StoreDep) -> list[ArtifactPublic]:
    await store.get_job(job_id)
    return [ArtifactPublic(path=p, size=s) for p, s in await store.list_artifacts(job_id)]


@router.get("/artifacts.zip", response_class=Response, responses=_ZIP | errors(404))
async def download_artifacts(job_id: str, store: StoreDep) -> Response:
    await store.get_job(job_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, _size in await store.list_artifacts(job_id):
            archive.writestr(f"{job_id}/{path}", await store.read_artifact(job_id, path))
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
