"""README's "Use it from other tools" snippets, run as written (only the port and the data
directory changed): the ten-line webhook receiver verifies a real server's webhook, and the
client in five lines runs a job to its `done`. (The MCP config is run by test_mcp.py.)"""

from __future__ import annotations

import contextlib
import io
import queue
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from api_fixtures import server_env, start_server
from readme_snippets import snippet
from test_webhooks import SECRET

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lines_of(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_the_readme_receiver_verifies_what_the_readme_client_started(tmp_path: Path) -> None:
    port = free_port()
    receiver = snippet("webhook-receiver").replace("9000", str(port))
    env = {**server_env(tmp_path / "unused"), "ORCH_WEBHOOK_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", receiver],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = lines_of(proc)
    server = start_server(
        tmp_path / "data",
        ORCH_WEBHOOK_SECRET=SECRET,
        ORCH_WEBHOOK_URLS=f"http://127.0.0.1:{port}/",
        ORCH_WEBHOOK_ALLOW_PRIVATE="true",
        ORCH_WEBHOOK_BACKOFF_S="0.2",
    )
    try:
        printed = io.StringIO()
        client = snippet("client").replace("http://127.0.0.1:8000", server.url)
        with contextlib.redirect_stdout(printed):
            exec(compile(client, "README client", "exec"), {})
        assert printed.getvalue().strip() == "done"
        with server.db() as db:
            (job_id,) = db.execute("select job_id from jobs").fetchone()
        line = lines.get(timeout=120)
        assert line.split() == ["job.finished", job_id, "SUCCESS"], line
    finally:
        server.stop()
        proc.kill()
        proc.wait(timeout=30)
