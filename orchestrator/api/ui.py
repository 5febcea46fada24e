"""The dashboard: the Next.js static export (`ui/out`) served by the API's own app at `/`.

One port for everything: `/api/*`, `/metrics` and `/healthz` are the API's routes; any other
GET is answered from the export. The export has one page for every job, `jobs/_/`, which
answers `/jobs/<any id>/` (the page reads the id from the address bar). Unknown paths get the
export's 404 page with status 404; unknown `/api/...` paths keep a JSON 404.

Where the export is: `ORCH_UI_DIR`, else `orchestrator/ui_dist` (package data of a wheel),
else `ui/out` of a source checkout. Without one, `/` says how to build it.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["UiSettings", "find_ui_dir", "mount_ui"]

JOB_PAGE = re.compile(r"^jobs/(?P<id>[^/]+)(?:/(?P<rest>.*))?$")
PLACEHOLDER_ID = "_"
# Paths the API owns: never answered with a page, even when no route matched.
API_PREFIXES = ("api/", "metrics/", "healthz/")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
# Content-hashed build output can be cached for good; pages must be revalidated.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Orchestrator</title></head>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto">
<h1>The dashboard is not built</h1>
<p>The API is running (<a href="/docs">/docs</a>). Build the dashboard with <code>make ui</code>
(or <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>) and reload.</p>
</body></html>"""


class UiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORCH_", env_file=".env", extra="ignore")

    ui_dir: Path | None = None


def find_ui_dir(settings: UiSettings | None = None) -> Path | None:
    """The first directory of the search order that holds an exported `index.html`."""
    settings = settings or UiSettings()
    package = Path(__file__).resolve().parents[1]
    candidates = [settings.ui_dir, package / "ui_dist", package.parent / "ui" / "out"]
    for candidate in candidates:
        if candidate is not None and (candidate / "index.html").is_file():
            return candidate.resolve()
    return None


def _inside(root: Path, relative: str) -> Path | None:
    """`root/relative` if it stays inside `root` (no `..`, no absolute escape), else None."""
    if "\x00" in relative:
        return None
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root) else None


def _file(path: Path) -> Response:
    static = "/_next/static/" in path.as_posix()
    return FileResponse(path, headers={"Cache-Control": IMMUTABLE if static else REVALIDATE})


def _resolve(root: Path, path: str) -> Path | None:
    """The exported file that answers `path` (no leading slash), or None."""
    target = _inside(root, path)
    if target is not None:
        if target.is_file():
            return target
        if (target / "index.html").is_file():
            return target / "index.html"
    job = JOB_PAGE.match(path)
    if job:
        rest = job.group("rest") or ""
        placeholder = _inside(root, f"jobs/{PLACEHOLDER_ID}/{rest}")
        if placeholder is not None and placeholder.is_file():
            return placeholder
        if placeholder is not None and (placeholder / "index.html").is_file():
            return placeholder / "index.html"
    return None


def mount_ui(app: FastAPI, directory: Path | None = None) -> None:
    """Answer every GET the API routes did not match from the export. Call it after every
    router is included: the catch-all must be the last route."""
    root = directory.resolve() if directory is not None else find_ui_dir()

    # Every method, so an unknown POST still gets 404 (a GET-only catch-all would make it 405).
    @app.api_route("/{path:path}", methods=ALL_METHODS, include_in_schema=False)
    async def dashboard(path: str, request: Request) -> Response:
        if request.method not in ("GET", "HEAD") or f"{path}/".startswith(API_PREFIXES):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if root is None:
            return HTMLResponse(NOT_BUILT, status_code=200 if path == "" else 404)
        found = _resolve(root, path)
        if found is not None and found.name == "index.html" and path and not path.endswith("/"):
            # Pages live at `/new/` (trailingSlash export): relative URLs need the slash.
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/{path}/{query}", status_code=308)
        if found is not None:
            return _file(found)
        page_404 = root / "404.html"
        if page_404.is_file():
            return FileResponse(page_404, status_code=404, headers={"Cache-Control": REVALIDATE})
        return HTMLResponse("Not Found", status_code=404)
