"""DNS rebinding and cross-origin requests against a server without a token, through the real
server (`orchestrator serve`, and the `uvicorn orchestrator.api.main:app` path): a foreign
Host gets 400 on every route, a foreign Origin 403 on state-changing requests; the server's
own names and origin, ORCH_ALLOWED_HOSTS and the dashboard's dev origin keep working. All
traffic goes to 127.0.0.1: the Host and Origin headers are what a browser would send."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_fixtures import QUICK, ApiServer, server_env, start_process, start_server

from orchestrator.api.config import ApiSettings
from orchestrator.api.hosts import host_allowed
from orchestrator.api.main import uvicorn_host

FOREIGN = "attacker.example"
UVICORN = str(Path(sys.executable).with_name("uvicorn"))
JOB = {"project_description": QUICK, "budget_usd": 0.5}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    api = start_server(
        tmp_path_factory.mktemp("hosts") / "data", ORCH_ALLOWED_HOSTS="orch.test, lab:4444"
    )
    yield api
    api.stop()


def port_of(server: ApiServer) -> int:
    port = httpx.URL(server.url).port
    assert port is not None
    return port


async def every_route(client: httpx.AsyncClient, job_id: str) -> list[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document lists, ids filled in, plus
    the dashboard's pages."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    routes = [
        (
            method.upper(),
            re.sub(r"\{[^}]+\}", lambda m: "task_001" if "task" in m[0] else job_id, p),
        )
        for p, operations in paths.items()
        for method in operations
    ]
    return [*routes, ("GET", "/"), ("GET", f"/jobs/{job_id}/"), ("GET", "/openapi.json")]


async def test_a_foreign_host_gets_400_on_every_route(server: ApiServer) -> None:
    async with server.client() as client:
        created = await client.post("/api/jobs", json=JOB)
        assert created.status_code == 201, created.text
        job_id = created.json()["job_id"]
        routes = await every_route(client, job_id)
        assert ("GET", f"/api/jobs/{job_id}/stream") in routes
        assert len(routes) > 15
        for method, path in routes:
            for host in (FOREIGN, f"{FOREIGN}:{port_of(server)}", "127.0.0.1.nip.io", ""):
                answer = await client.request(
                    method, path, headers={"Host": host}, json=JOB if method == "POST" else None
                )
                assert answer.status_code == 400, (method, path, host, answer.text)
                assert "ORCH_ALLOWED_HOSTS" in answer.json()["detail"]
        jobs = (await client.get("/api/jobs")).json()
    assert [j["job_id"] for j in jobs] == [job_id]  # nothing was created, deleted or resumed


async def test_loopback_names_and_allowed_hosts_are_answered(server: ApiServer) -> None:
    port = port_of(server)
    hosts = [f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "localhost"]
    hosts += ["orch.test", f"orch.test:{port}", "lab:4444"]
    async with server.client() as client:
        for host in hosts:
            answer = await client.get("/api/jobs", headers={"Host": host})
            assert answer.status_code == 200, (host, answer.text)
        for host in (f"localhost:{port + 1}", "lab:4445", "lab", f"orch.test.{FOREIGN}"):
            answer = await client.get("/api/jobs", headers={"Host": host})
            assert answer.status_code == 400, host


async def test_a_foreign_origin_cannot_create_or_delete(server: ApiServer) -> None:
    port = port_of(server)
    async with server.client() as client:
        created = await client.post("/api/jobs", json=JOB)
        job_id = created.json()["job_id"]
        for origin in (f"http://{FOREIGN}", f"http://{FOREIGN}:{port}", "null", "http://localhost"):
            headers = {"Origin": origin}
            answer = await client.post("/api/jobs", json=JOB, headers=headers)
            assert answer.status_code == 403, (origin, answer.text)
            assert (await client.delete(f"/api/jobs/{job_id}", headers=headers)).status_code == 403
            # Reading is not refused here: the browser does not let that page read it (CORS).
            assert (await client.get("/api/jobs", headers=headers)).status_code == 200
        own = [f"http://127.0.0.1:{port}", "http://localhost:3000", "http://127.0.0.1:3000"]
        for origin in own:
            answer = await client.post("/api/jobs", json=JOB, headers={"Origin": origin})
            assert answer.status_code == 201, (origin, answer.text)
        page = f"http://localhost:{port}"
        answer = await client.post(
            "/api/jobs", json=JOB, headers={"Origin": page, "Host": f"localhost:{port}"}
        )
        assert answer.status_code == 201
        assert (await client.delete(f"/api/jobs/{job_id}")).status_code == 204


async def test_with_a_token_the_token_decides(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", ORCH_API_TOKEN="s3cret-token")
    try:
        async with server.client() as client:
            headers = {"Host": FOREIGN, "Origin": f"http://{FOREIGN}"}
            assert (await client.get("/api/jobs", headers=headers)).status_code == 401
            headers["Authorization"] = "Bearer s3cret-token"
            assert (await client.get("/api/jobs", headers=headers)).status_code == 200
    finally:
        server.stop()


async def test_the_uvicorn_path_checks_hosts_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc, _, found = start_process(
        [UVICORN, "orchestrator.api.main:app", "--host", "127.0.0.1", "--port", "0"],
        server_env(data),
        tmp_path,
        re.compile(r"Uvicorn running on (http://\S+)"),
    )
    try:
        async with httpx.AsyncClient(base_url=found.group(1), timeout=60) as client:
            answer = await client.post("/api/jobs", json=JOB, headers={"Host": FOREIGN})
            assert answer.status_code == 400
            answer = await client.post("/api/jobs", json=JOB, headers={"Origin": "http://x.test"})
            assert answer.status_code == 403
            assert (await client.post("/api/jobs", json=JOB)).status_code == 201
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_uvicorn_refuses_to_listen_beyond_loopback_without_a_token(
    tmp_path: Path, host: str
) -> None:
    # Waits for either line, so that a server which did start is stopped at once.
    proc, output, found = start_process(
        [UVICORN, "orchestrator.api.main:app", "--host", host, "--port", "0"],
        server_env(tmp_path / "data"),
        tmp_path,
        re.compile(r"Uvicorn running|refusing to listen"),
    )
    if found[0] != "refusing to listen":
        proc.kill()
    assert proc.wait(timeout=60) != 0
    assert f"error: refusing to listen on {host}" in "".join(output)


def test_which_address_the_uvicorn_command_binds() -> None:
    assert uvicorn_host(["/venv/bin/uvicorn", "m:app"], {}) == "127.0.0.1"
    assert uvicorn_host(["/venv/bin/uvicorn", "m:app", "--host", "0.0.0.0"], {}) == "0.0.0.0"
    assert uvicorn_host(["/x/uvicorn/__main__.py", "m:app", "--host=::"], {}) == "::"
    assert uvicorn_host(["uvicorn", "m:app"], {"UVICORN_HOST": "10.0.0.1"}) == "10.0.0.1"
    assert uvicorn_host(["uvicorn", "m:app", "--uds", "/run/x.sock"], {}) is None
    assert uvicorn_host(["/venv/bin/orchestrator", "serve"], {}) is None


def test_host_names_and_ports() -> None:
    extra = ApiSettings(allowed_hosts="a.test, b.test:81").allowed_hosts  # type: ignore[arg-type]
    assert extra == ["a.test", "b.test:81"]
    assert host_allowed("LOCALHOST:8000", port=8000, extra=[])
    assert host_allowed("[::1]", port=8000, extra=[])
    assert not host_allowed("[::1]:8001", port=8000, extra=[])
    assert not host_allowed("::1", port=8000, extra=[])
    assert not host_allowed("localhost:80x", port=8000, extra=[])
    assert not host_allowed("127.0.0.2:8000", port=8000, extra=[])
    assert host_allowed("a.test:9999", port=8000, extra=extra)
    assert host_allowed("b.test:81", port=8000, extra=extra)
    assert not host_allowed("b.test:8000", port=8000, extra=extra)
