"""A result file's history over real HTTP: `orchestrator serve` in a subprocess, the simulator's
hello job, its workspace's git history read back as versions, contents and diffs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from api_fixtures import ApiServer, read_all, start_server

from orchestrator.workspace import Workspace

pytestmark = pytest.mark.slow

HELLO = {
    "project_description": "Write a hello world Python script, with tests",
    "success_criteria": "python main.py prints Hello World",
    "budget_usd": 0.5,
}
FIXER = "fixer-model-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(tmp_path_factory.mktemp("files") / "data", ORCH_SIM_LATENCY_SCALE="0")
    yield started
    started.stop()


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as c:
        yield c


async def finished_hello(client: httpx.AsyncClient) -> str:
    created = await client.post("/api/jobs", json=HELLO)
    assert created.status_code == 201, created.text
    job_id: str = created.json()["job_id"]
    await read_all(client, f"/api/jobs/{job_id}/stream")  # the stream ends with the job
    return job_id


def commit_a_change(server: ApiServer, job_id: str, files: dict[str, str]) -> str:
    """A later commit of the job's workspace, as a fix round makes one: another model."""
    workspace = Workspace(server.data_dir / "workspaces" / job_id)
    commit = workspace.commit(
        files,
        author=FIXER,
        message="fix_001: score 0.95, cost $0.00100\n\nFix the greeting",
        step=f"test-fix-{job_id}",
        now=time.time(),
    )
    assert commit is not None
    return commit


async def test_a_files_versions_contents_and_diffs(
    client: httpx.AsyncClient, server: ApiServer
) -> None:
    job_id = await finished_hello(client)
    base = f"/api/jobs/{job_id}/files"
    job = (await client.get(f"/api/jobs/{job_id}")).json()
    writers = {
        a["path"]: a["task_id"] for a in (await client.get(f"/api/jobs/{job_id}/artifacts")).json()
    }
    original = (await client.get(f"/api/jobs/{job_id}/artifacts/main.py")).content

    # Before any fix: one version, by the task that wrote it and its model.
    first = (await client.get(f"{base}/main.py/history")).json()
    assert first["path"] == "main.py" and len(first["versions"]) == 1
    (v1,) = first["versions"]
    writer = writers["main.py"]
    assert v1["task_id"] == writer and v1["model"] == job["tasks"][writer]["model"]
    assert (
        v1["message"].startswith(f"{writer}: score ") and "Orchestrator-Step" not in v1["message"]
    )
    assert v1["previous"] is None and v1["size"] == len(original) and len(v1["commit"]) == 40

    fixed = original.decode().replace("Hello World", "Hello, World")
    assert fixed != original.decode()
    c2 = await asyncio.to_thread(
        commit_a_change, server, job_id, {"main.py": fixed, "docs/history": "notes\n"}
    )

    history = (await client.get(f"{base}/main.py/history")).json()["versions"]
    assert [v["commit"] for v in history] == [c2, v1["commit"]]  # newest first
    # The list of result files names the fix as main.py's last writer; the others keep theirs.
    listed = (await client.get(f"/api/jobs/{job_id}/artifacts")).json()
    now = {a["path"]: a["task_id"] for a in listed}
    assert now["main.py"] == "fix_001" and now["test_main.py"] == writers["test_main.py"]
    new = history[0]
    assert new["model"] == FIXER and new["task_id"] == "fix_001"
    assert new["previous"] == v1["commit"] and new["size"] == len(fixed.encode())
    assert history[1] == v1
    # Each version's contents, as it wrote them.
    got = await client.get(new["content_url"])
    assert got.status_code == 200 and got.text == fixed
    assert got.headers["content-type"].startswith("text/plain")
    assert (await client.get(v1["content_url"])).content == original
    # Its diff against the version before: the changed line out, the new one in.
    diff = (await client.get(new["diff_url"])).json()
    assert diff["previous"] == v1["commit"] and diff["commit"] == c2
    lines = diff["diff"].splitlines()
    assert lines[:2] == ["--- a/main.py", "+++ b/main.py"]
    assert any(ln.startswith("-") and "Hello World" in ln for ln in lines[2:])
    assert any(ln.startswith("+") and "Hello, World" in ln for ln in lines[2:])
    assert not any(ln.startswith(("+", "-")) and "def main" in ln for ln in lines[2:])
    # The first version's diff shows the whole file added.
    whole = (await client.get(v1["diff_url"])).json()
    assert whole["previous"] is None and whole["diff"].startswith("--- /dev/null\n+++ b/main.py")
    added = whole["diff"].splitlines()[3:]  # after the two file lines and the hunk's
    assert added == [f"+{line}" for line in original.decode().splitlines()]

    # A file named like the routes' own words is still one file.
    named = (await client.get(f"{base}/docs/history/history")).json()["versions"]
    assert [v["commit"] for v in named] == [c2]
    assert (await client.get(named[0]["content_url"])).text == "notes\n"
    # The job's summary is a result file outside the history: no versions, not an error.
    summary = await client.get(f"{base}/.orchestrator/summary.md/history")
    assert summary.status_code == 200 and summary.json()["versions"] == []


async def test_bad_paths_commits_and_jobs_are_refused_with_a_reason(
    client: httpx.AsyncClient,
) -> None:
    job_id = await finished_hello(client)
    base = f"/api/jobs/{job_id}/files"
    v1 = (await client.get(f"{base}/main.py/history")).json()["versions"][0]["commit"]

    for bad in ("a/%2e%2e/b", "..%2Fsecret", "%2Fetc%2Fpasswd", "a%5Cb", "a%00b", "a//b"):
        answer = await client.get(f"{base}/{bad}/history")
        assert answer.status_code in (400, 422), (bad, answer.text)
        assert "path" in answer.json()["detail"], bad
    unknown = await client.get(f"{base}/nope.py/history")
    assert unknown.status_code == 404 and "'nope.py'" in unknown.json()["detail"]
    for nowhere in (".git", ".git/HEAD", "main.py/x"):  # no file of the tree has these paths
        assert (await client.get(f"{base}/{nowhere}/history")).status_code == 404, nowhere

    missing = "0" * 40
    for suffix in ("", "/diff"):
        gone = await client.get(f"{base}/main.py/history/{missing}{suffix}")
        assert gone.status_code == 404 and "has no version" in gone.json()["detail"]
        short = await client.get(f"{base}/main.py/history/{v1[:8]}{suffix}")
        assert short.status_code == 400 and "40 hex digits" in short.json()["detail"]
        # A commit of the history that did not write this file is not one of its versions.
        other = await client.get(f"{base}/test_main.py/history")
        for version in other.json()["versions"]:
            wrong = await client.get(f"{base}/main.py/history/{version['commit']}{suffix}")
            assert wrong.status_code == 404

    for path in ("/history", "/history/" + v1, "/history/" + v1 + "/diff"):
        nojob = await client.get(f"/api/jobs/nope1234/files/main.py{path}")
        assert nojob.status_code == 404 and "nope1234" in nojob.json()["detail"]
