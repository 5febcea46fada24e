"""Generated code that tries to get out, run through the validator path under each isolation
backend: every attempt fails or is killed. The same attempts run without isolation
("none") as the control: there they succeed, which shows each test can see an escape.

Traffic goes to loopback only: the orchestrator's own server and listeners of the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_fixtures import ORCHESTRATOR, ApiServer, server_env, start_process, start_server
from sandbox_fixtures import (
    BACKENDS,
    dies_soon,
    kill_marked,
    label_of,
    limits_for,
    marked_processes,
    marker,
)

from orchestrator.domain import TaskType, ValidatorResult
from orchestrator.engine.sandbox import SandboxLimits, run_sandboxed
from orchestrator.engine.sandbox_choice import choose_isolation, landlock_problem, read_only_paths
from orchestrator.engine.validators import run_python, run_validators

CANARY = "sk-canary-7f3a9c"


@pytest.fixture(params=BACKENDS)
def limits(request: pytest.FixtureRequest) -> SandboxLimits:
    return limits_for(request.param)


def isolated(limits: SandboxLimits) -> bool:
    return limits.isolation != "none"


def outcomes(result: ValidatorResult) -> dict[str, str]:
    """The JSON object the attempt printed as its last line: what each try got."""
    assert result.passed, result.detail
    found: dict[str, str] = json.loads(result.detail.splitlines()[-1])
    return found


# Each try prints "ok: ..." when it worked, else the exception's name.
TRY = (
    "import json, os, socket, sys\n"
    "out = {}\n"
    "def attempt(name, f):\n"
    "    try:\n"
    "        out[name] = 'ok: ' + str(f())[:200]\n"
    "    except Exception as e:\n"
    "        out[name] = type(e).__name__\n"
)
SHOW = "print(json.dumps(out))\n"


async def test_the_orchestrators_env_file_and_environment_are_out_of_reach(
    limits: SandboxLimits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={CANARY}\n")
    monkeypatch.chdir(tmp_path)  # the orchestrator's working directory holds the .env
    me = os.getpid()
    code = (
        TRY
        + (
            f"attempt('env_file', lambda: open('/proc/{me}/cwd/.env').read())\n"
            f"attempt('environ', lambda: open('/proc/{me}/environ', 'rb').read())\n"
            f"attempt('cmdline', lambda: open('/proc/{me}/cmdline', 'rb').read())\n"
            f"attempt('signal', lambda: os.kill({me}, 0))\n"
        )
        + SHOW
    )
    result = await run_python(code, limits)
    got = outcomes(result)
    if isolated(limits):
        assert CANARY not in result.detail
        assert not any(v.startswith("ok") for v in got.values()), got
    else:
        assert got["env_file"] == f"ok: OPENAI_API_KEY={CANARY}\n"
        assert got["environ"].startswith("ok: ") and got["signal"] == "ok: None"


async def test_the_store_can_be_neither_read_nor_written(
    limits: SandboxLimits, tmp_path: Path
) -> None:
    store = tmp_path / ".orchestrator" / "orchestrator.db"
    store.parent.mkdir()
    store.write_bytes(b"SQLite format 3\x00" + b"budget=8.0" * 100)
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    code = (
        TRY
        + (
            f"attempt('read', lambda: open('{store}', 'rb').read(16))\n"
            f"attempt('write', lambda: open('{store}', 'r+b').write(b'budget=9e9'))\n"
            f"attempt('list', lambda: os.listdir('{store.parent}'))\n"
        )
        + SHOW
    )
    got = outcomes(await run_python(code, limits))
    after = hashlib.sha256(store.read_bytes()).hexdigest()
    if isolated(limits):
        assert not any(v.startswith("ok") for v in got.values()), got
        assert after == before
    else:
        assert got["read"].startswith("ok: ") and got["write"] == "ok: 10"
        assert after != before


async def test_the_users_home_directories_cannot_be_listed(limits: SandboxLimits) -> None:
    homes = [h for h in ("/root", "/home") if os.path.isdir(h)]  # noqa: ASYNC240
    code = TRY + "".join(f"attempt('{h}', lambda: sorted(os.listdir('{h}')))\n" for h in homes)
    got = outcomes(await run_python(code + SHOW, limits))
    for home in homes:
        # Under bubblewrap a home shows at most the directories leading to the mounted
        # interpreter (e.g. /root/.pyenv); nothing else of it.
        beneath = [p for p in read_only_paths(limits.python) if p.startswith(f"{home}/")]
        mounted = sorted({p[len(home) + 1 :].split("/")[0] for p in beneath})
        if isolated(limits):
            assert got[home] in ("PermissionError", "FileNotFoundError", f"ok: {mounted}")
        else:
            assert got[home] == f"ok: {sorted(os.listdir(home))}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The orchestrator's own API on loopback, with no token."""
    api = start_server(tmp_path_factory.mktemp("escape") / "data")
    yield api
    api.stop()


@pytest.fixture
def listeners() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A TCP and a UDP socket of the test on loopback, neither blocking."""
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    for s in (tcp, udp):
        s.setblocking(False)
    yield tcp, udp
    tcp.close()
    udp.close()


async def planted_jobs(server: ApiServer) -> set[str]:
    async with server.client() as client:
        jobs = (await client.get("/api/jobs")).json()
    return {j["job_id"] for j in jobs if j["project_description"] == "planted by generated code"}


async def test_no_connection_reaches_the_orchestrator_or_a_loopback_listener(
    limits: SandboxLimits,
    server: ApiServer,
    listeners: tuple[socket.socket, socket.socket],
) -> None:
    tcp, udp = listeners
    port, tcp_port = httpx.URL(server.url).port, tcp.getsockname()[1]
    body = '{"project_description": "planted by generated code"}'
    request = (
        f"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()
    code = (
        TRY
        + (
            "def post():\n"
            f"    s = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
            f"    s.sendall({request!r})\n"
            "    return s.recv(200)\n"
            "attempt('api', post)\n"
            f"attempt('tcp', lambda: socket.create_connection(('127.0.0.1', {tcp_port})))\n"
            "attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
            f".sendto(b'leak', ('127.0.0.1', {udp.getsockname()[1]})))\n"
            "attempt('ipv6', lambda: socket.socket(socket.AF_INET6))\n"
        )
        + SHOW
    )
    before = await planted_jobs(server)
    got = outcomes(await run_python(code, limits))
    planted = await planted_jobs(server) - before
    if isolated(limits):
        assert not any(v.startswith("ok") for v in got.values()), got
        assert planted == set()
        with pytest.raises(BlockingIOError):
            tcp.accept()
        with pytest.raises(BlockingIOError):
            udp.recv(16)
    else:
        assert got["api"].startswith("ok: b'HTTP/1.1 201")
        assert len(planted) == 1
        tcp.accept()[0].close()
        assert udp.recv(16) == b"leak"


async def test_a_fork_bomb_is_killed_with_every_process(limits: SandboxLimits) -> None:
    script = f"{marker()}.py"
    code = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    limits = limits.model_copy(update={"timeout_s": 20.0, "max_processes": 16})
    run = await run_sandboxed([limits.python, "-I", script], {script: code}, limits)
    assert run.returncode is None and run.stopped == "stopped: more than 16 processes (killed)"
    assert all(dies_soon(pid) for pid in marked_processes(script))


async def test_a_process_that_calls_setsid_and_sleeps_does_not_outlive_the_run(
    limits: SandboxLimits,
) -> None:
    mark = marker()
    # The child tries to leave the process group, then becomes a sleeper that says when it
    # is up (through a pipe) so that the run ends with the sleeper alive.
    code = (
        "import os, sys\n"
        "r, w = os.pipe()\n"
        "os.set_inheritable(w, True)\n"
        "if os.fork() == 0:\n"
        "    try:\n"
        "        os.setsid()\n"
        "        print('setsid: ok', flush=True)\n"
        "    except OSError as e:\n"
        "        print('setsid:', type(e).__name__, flush=True)\n"
        "    sleeper = f'import os, time; os.write({w}, b\"x\"); time.sleep(120)'\n"
        f"    os.execv(sys.executable, [sys.executable, '-c', sleeper, '{mark}'])\n"
        "os.read(r, 1)\n"
    )
    try:
        result = await run_python(code, limits)
        assert result.passed, result.detail
        left = marked_processes(mark)
        if isolated(limits):
            assert "setsid: ok" not in result.detail
            assert all(dies_soon(pid) for pid in left)
        else:  # the documented escape of an unisolated run
            assert "setsid: ok" in result.detail
            assert left and not any(dies_soon(pid) for pid in left[:1])
    finally:
        kill_marked(mark)


async def test_a_required_backend_that_is_missing_runs_nothing(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    limits = SandboxLimits(isolation="bubblewrap", bwrap=str(tmp_path / "no-bwrap"))
    code = f"open({str(ran)!r}, 'w').write('x')\n"
    checks = await run_validators(TaskType.CODE_GENERATION, code, prompt="x", limits=limits)
    results = {r.name: r for r in checks}
    reason = f"ORCH_SANDBOX=bubblewrap, but '{tmp_path / 'no-bwrap'}' not found"
    assert not results["python_run"].passed
    assert results["python_run"].detail.startswith(f"not run: {reason}")
    assert results["isolation"].detail.startswith(f"none: {reason}")
    assert not ran.exists()


def test_require_falls_back_to_landlock_without_bubblewrap(tmp_path: Path) -> None:
    if landlock_problem() is not None:
        pytest.skip(f"no Landlock here: {landlock_problem()}")
    chosen = choose_isolation("require", str(tmp_path / "no-bwrap"))
    assert chosen.label == label_of("landlock") and not chosen.refused
    assert choose_isolation("landlock", "bwrap").label == label_of("landlock")
    off = choose_isolation("none", "bwrap")
    assert off.backend == "none" and not off.refused


def test_the_server_refuses_to_start_without_the_isolation_it_must_have(tmp_path: Path) -> None:
    # ORCH_SANDBOX=require on a machine with neither backend takes the same path: a server
    # that could only run generated code unisolated does not start, so no job runs any.
    missing = tmp_path / "no-bwrap"
    proc, output, found = start_process(
        [ORCHESTRATOR, "serve", "--port", "0"],
        server_env(tmp_path / "data", ORCH_SANDBOX="bubblewrap", ORCH_SANDBOX_BWRAP=str(missing)),
        tmp_path,
        re.compile(r"Uvicorn running|refusing to start"),
    )
    if found[0] != "refusing to start":
        proc.kill()
    assert proc.wait(timeout=60) != 0
    assert f"refusing to start: ORCH_SANDBOX=bubblewrap, but '{missing}' not found" in "".join(
        output
    )
