"""`orchestrator --server URL` against a real `orchestrator serve` with a token: the commands
run on the server (nothing is stored where the CLI runs), with the same live table, output
and exit codes as locally."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import ORCHESTRATOR, QUICK, ApiServer, start_server
from test_cli_review import ANSI, EDITOR, QUESTION, Terminal

pytestmark = pytest.mark.slow

TOKEN = "cli-remote-token"
HELLO = ["Write a hello world Python script", "--criteria", "Script prints Hello World"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(tmp_path_factory.mktemp("remote") / "data", ORCH_API_TOKEN=TOKEN)
    yield started
    started.stop()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The CLI's own data directory: remote commands must never create it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    return {**clean, "ORCH_DATA_DIR": str(tmp_path / "local"), "COLUMNS": "200"}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ORCHESTRATOR, *args], env=env, capture_output=True, text=True, timeout=180
    )


def server_jobs(server: ApiServer) -> dict[str, str | None]:
    with server.db() as db:
        return dict(db.execute("select job_id, final_status from jobs").fetchall())


def test_run_on_the_server_shows_the_table_and_exits_with_the_jobs_code(
    server: ApiServer, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    remote = ["--server", server.url, "--token", TOKEN]
    done = cli(env, *remote, "run", *HELLO, "--budget", "0.5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    job_id = next(j for j, status in server_jobs(server).items() if status == "SUCCESS")
    assert f"job {job_id}: SUCCESS" in done.stdout and "simulated" in done.stdout
    assert "task_001" in done.stdout and "iter" in done.stdout  # the live task table
    assert (out / ".orchestrator" / "summary.md").exists() and sorted(out.glob("*.py"))
    assert not Path(env["ORCH_DATA_DIR"]).exists()

    env_only = {**env, "ORCH_SERVER_URL": server.url, "ORCH_API_TOKEN": TOKEN}
    shown = cli(env_only, "show", job_id)
    assert shown.returncode == 0 and "SUCCESS" in shown.stdout and "task_001" in shown.stdout
    listed = cli(env_only, "jobs", "--status", "done")
    assert listed.returncode == 0 and job_id in listed.stdout
    again = cli(env_only, "cancel", job_id)
    assert again.returncode == 2 and "already finished" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert not Path(env["ORCH_DATA_DIR"]).exists()


def test_a_job_that_fails_exits_1_and_resume_raises_its_budget(
    server: ApiServer, env: dict[str, str], tmp_path: Path
) -> None:
    remote = ["--server", server.url, "--token", TOKEN]
    before = set(server_jobs(server))
    broke = cli(env, *remote, "run", *HELLO, "--budget", "0.000001", "--out", str(tmp_path))
    assert broke.returncode == 1, broke.stderr
    (job_id,) = set(server_jobs(server)) - before
    assert server_jobs(server)[job_id] == "BUDGET_EXHAUSTED"
    resumed = cli(env, *remote, "resume", job_id, "--budget", "0.5", "--out", str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr
    assert server_jobs(server)[job_id] == "SUCCESS"


def test_bad_token_unknown_job_and_no_server_are_exit_2(
    server: ApiServer, env: dict[str, str]
) -> None:
    wrong = cli(env, "--server", server.url, "--token", "nope", "jobs")
    assert wrong.returncode == 2 and "wrong API token" in wrong.stderr
    unknown = cli(env, "--server", server.url, "--token", TOKEN, "show", "nope1234")
    assert unknown.returncode == 2 and "nope1234" in unknown.stderr
    nowhere = cli(env, "--server", "http://127.0.0.1:9", "jobs")
    assert nowhere.returncode == 2 and "cannot reach" in nowhere.stderr


def test_plan_then_approve_or_reject_on_the_server(
    server: ApiServer, env: dict[str, str], tmp_path: Path
) -> None:
    remote = ["--server", server.url, "--token", TOKEN]
    before = set(server_jobs(server))
    planned = cli(env, *remote, "plan", QUICK, "--budget", "0.5")
    assert planned.returncode == 0, planned.stderr
    assert "forecast $" in planned.stdout and "awaits review" in planned.stdout
    (job_id,) = set(server_jobs(server)) - before
    shown = cli(env, *remote, "plan", "--job", job_id)
    assert shown.returncode == 0 and "forecast $" in shown.stdout
    approved = cli(env, *remote, "approve", job_id, "--budget", "0.6", "--out", str(tmp_path))
    assert approved.returncode == 0, approved.stderr
    assert f"job {job_id}: " in approved.stdout and "of $0.60" in approved.stdout
    assert server_jobs(server)[job_id] in ("SUCCESS", "PARTIAL_SUCCESS")
    again = cli(env, *remote, "reject", job_id)
    assert again.returncode == 2 and "not awaiting review" in again.stderr
    assert not Path(env["ORCH_DATA_DIR"]).exists()


def test_review_on_the_server_in_a_terminal_edit_then_reject(
    server: ApiServer, env: dict[str, str], tmp_path: Path
) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    env = {**env, "EDITOR": f"{sys.executable} {editor}", "VISUAL": ""}
    before = set(server_jobs(server))
    remote = ["--server", server.url, "--token", TOKEN]
    term = Terminal([ORCHESTRATOR, *remote, "run", QUICK, "--review", "--budget", "0.5"], env)
    term.expect(QUESTION)
    term.type("edit")
    term.expect(QUESTION)  # asked again, with the plan as the server now has it
    assert "gpt-4o-mini (pinned)" in ANSI.sub("", term.seen)
    term.type("reject")
    assert term.wait() == 1, ANSI.sub("", term.seen)[-2000:]
    (job_id,) = set(server_jobs(server)) - before
    assert f"job {job_id}: CANCELLED" in ANSI.sub("", term.seen)
    assert server_jobs(server)[job_id] == "CANCELLED"
    with server.db() as db:
        (prompt,) = db.execute(
            "select prompt from tasks where job_id = ? order by position", (job_id,)
        ).fetchone()
    assert prompt.startswith("EDITED:")


def test_run_review_yes_on_the_server_approves_unasked(
    server: ApiServer, env: dict[str, str], tmp_path: Path
) -> None:
    remote = ["--server", server.url, "--token", TOKEN]
    done = cli(env, *remote, "run", QUICK, "--review", "--yes", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "forecast $" in done.stdout and "awaits review" not in done.stdout
    waiting = cli(env, *remote, "run", QUICK, "--review", "--budget", "0.5")
    assert waiting.returncode == 1 and "awaits review" in waiting.stdout
    job_id = waiting.stdout.split("awaits review")[0].split()[-1]
    rejected = cli(env, *remote, "reject", job_id)
    assert rejected.returncode == 0 and "rejected" in rejected.stdout
    assert server_jobs(server)[job_id] == "CANCELLED"
