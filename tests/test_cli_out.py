"""`orchestrator run … --out DIR` leaves the project itself in DIR: its files, the job's summary
and the tree's git history, locally and from a server; a folder holding something else is
refused before the job starts, unless --force. Real subprocesses, real SQLite, real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import ApiServer, start_server
from dulwich import porcelain
from dulwich.repo import Repo
from test_cli import cli, job_count

pytestmark = pytest.mark.slow

HELLO = ["Write a hello world Python script, with tests", "--criteria", "prints Hello World"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(
        tmp_path_factory.mktemp("out-server") / "data", ORCH_SIM_LATENCY_SCALE="0"
    )
    yield started
    started.stop()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The CLI's own data directory, the simulator at full speed."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    data = str(tmp_path / "data")
    return {**clean, "ORCH_DATA_DIR": data, "ORCH_SIM_LATENCY_SCALE": "0", "COLUMNS": "200"}


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    argv = [sys.executable, "-B", *args]
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=60, env=env)


def history(folder: Path) -> list[tuple[str, str]]:
    """(author, first line of the message) of each commit, newest first, read by dulwich."""
    with Repo(str(folder)) as repo:
        return [
            (e.commit.author.decode(), e.commit.message.decode().splitlines()[0])
            for e in repo.get_walker()
        ]


def assert_a_working_project(folder: Path) -> list[tuple[str, str]]:
    ran = run_in(folder, "main.py")
    assert ran.returncode == 0 and ran.stdout.strip() == "Hello World", ran.stderr
    tested = run_in(folder, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert tested.returncode == 0 and " passed" in tested.stdout, tested.stdout
    assert (folder / ".git").is_dir() and (folder / ".orchestrator" / "summary.md").is_file()
    log = history(folder)
    # One commit per task that wrote files, each by its model, its message the task's.
    assert len(log) >= 2 and all(m.startswith("task_") and ": score " in m for _, m in log)
    assert all(author.endswith("@models.invalid>") for author, _ in log)
    # The folder is the history's checkout: nothing changed against the last commit.
    status = porcelain.status(str(folder))
    assert not any(status.staged.values()) and status.unstaged == []
    return log


def test_run_out_writes_the_project_with_its_history_and_refuses_a_full_folder(
    env: dict[str, str], tmp_path: Path, server: ApiServer
) -> None:
    out = tmp_path / "project"
    done = cli(env, "run", *HELLO, "--budget", "0.5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    local_log = assert_a_working_project(out)
    with Repo(str(out)) as repo:
        local_head = repo.head()

    # A folder that is not empty is refused before a job starts, locally and remotely.
    jobs = job_count(env)
    for remote in ([], ["--server", server.url]):
        refused = cli(env, *remote, "run", *HELLO, "--budget", "0.5", "--out", str(out))
        assert refused.returncode == 2, refused.stdout
        assert refused.stderr.count("\n") == 1 and "is not empty" in refused.stderr
        assert "--force" in refused.stderr
    assert job_count(env) == jobs
    with server.db() as db:
        assert db.execute("select count(*) from jobs").fetchone()[0] == 0
    (tmp_path / "a-file").write_text("x")
    not_a_folder = cli(env, "run", *HELLO, "--out", str(tmp_path / "a-file"))
    assert not_a_folder.returncode == 2 and "not a folder" in not_a_folder.stderr

    # --force writes into it: here the server's job, fetched as its zip, with its own history.
    mine = out / "notes.txt"
    mine.write_text("kept")
    forced = cli(
        env, "--server", server.url, "run", *HELLO, "--budget", "0.5", "--out", str(out), "--force"
    )
    assert forced.returncode == 0, forced.stderr
    remote_log = assert_a_working_project(out)
    with server.db() as db:
        (job_id,) = (row[0] for row in db.execute("select job_id from jobs"))
    with Repo(str(out)) as repo, Repo(str(server.data_dir / "workspaces" / job_id)) as theirs:
        # The server's history replaced the local one (not merged into it).
        assert repo.head() == theirs.head() != local_head
        assert len(list(repo.get_walker())) == len(list(theirs.get_walker()))
    assert len(remote_log) == len(local_log) and mine.read_text() == "kept"
