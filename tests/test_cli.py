"""The `orchestrator` command end to end, in real subprocesses on a real SQLite store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from api_fixtures import kill_with_a_call_in_flight

ORCHESTRATOR = str(Path(sys.executable).with_name("orchestrator"))
HELLO = ["Write a hello world Python script", "--criteria", "Script prints Hello World"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    return {
        **clean,
        "ORCH_DATA_DIR": str(tmp_path / "data"),
        "ORCH_SIM_LATENCY_SCALE": "0",
        "COLUMNS": "200",
    }


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ORCHESTRATOR, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(Path(env["ORCH_DATA_DIR"]) / "orchestrator.db", timeout=30)


def job_count(env: dict[str, str]) -> int:
    if not (Path(env["ORCH_DATA_DIR"]) / "orchestrator.db").exists():
        return 0
    with db(env) as conn:
        return int(conn.execute("select count(*) from jobs").fetchone()[0])


def test_run_hello_world_ends_success_with_a_runnable_script(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = cli(env, "run", *HELLO, "--budget", "0.5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "SUCCESS" in done.stdout and "simulated" in done.stdout
    scripts = sorted(out.glob("*.py"))
    assert scripts and (out / "README.md").exists()
    ran = subprocess.run(
        [sys.executable, str(scripts[0])], capture_output=True, text=True, timeout=20
    )
    assert ran.returncode == 0 and "Hello World" in ran.stdout
    with db(env) as conn:
        job_id, spent, status = conn.execute(
            "select job_id, total_cost, final_status from jobs"
        ).fetchone()
    assert status == "SUCCESS" and 0 < spent <= 0.5

    listed = cli(env, "jobs")
    assert listed.returncode == 0 and job_id in listed.stdout
    shown = cli(env, "show", job_id)
    assert shown.returncode == 0 and "task_001" in shown.stdout and "SUCCESS" in shown.stdout
    again = cli(env, "cancel", job_id)
    assert again.returncode == 2 and "already finished" in again.stderr


def test_project_file_runs(env: dict[str, str], tmp_path: Path) -> None:
    example = Path(__file__).parents[1] / "examples" / "hello-world.yaml"
    done = cli(env, "run", "--file", str(example), "--out", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", *HELLO, "--budget", "0"], "budget_usd"),
        (["run", *HELLO, "--concurrency", "11"], "concurrency"),
        (["run", ""], "project_description"),
        (["run"], "project description"),
        (["run", "--file", "/nonexistent/project.yaml"], "cannot read"),
        (["show", "nope1234"], "not found"),
        (["resume", "nope1234"], "not found"),
        (["cancel", "nope1234"], "not found"),
        (["resume", "nope1234", "--budget", "-1"], "budget"),
    ],
)
def test_bad_input_is_one_clear_line_and_stores_nothing(
    env: dict[str, str], args: list[str], message: str
) -> None:
    before = job_count(env)
    done = cli(env, *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert job_count(env) == before


def test_malformed_yaml_names_the_line(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("project_description: hi\nbudget_usd: [0.5\n")
    done = cli(env, "run", "--file", str(bad))
    assert done.returncode == 2 and "line 3" in done.stderr
    assert job_count(env) == 0


def ok_calls(env: dict[str, str]) -> list[tuple[object, ...]]:
    with db(env) as conn:
        return conn.execute(
            "select job_id, task_id, iteration, role, slot, request_hash, cost_usd "
            "from llm_calls where outcome = 'ok' order by id"
        ).fetchall()


def all_calls(env: dict[str, str]) -> int:
    """Attempts that returned: not those in flight, nor those a crash cut off."""
    query = "select count(*) from llm_calls where outcome not in ('in_flight', 'interrupted')"
    with db(env) as conn:
        return int(conn.execute(query).fetchone()[0])


def billed_calls(bills: Path) -> int:
    return len(bills.read_text().splitlines()) if bills.exists() else 0


@pytest.mark.slow
def test_kill_9_then_resume_repeats_no_completed_call(env: dict[str, str], tmp_path: Path) -> None:
    bills = tmp_path / "billing.log"
    env = {**env, "ORCH_SIM_LATENCY_SCALE": "0.15", "ORCH_SIM_BILLING_LOG": str(bills)}
    proc = subprocess.Popen(
        [ORCHESTRATOR, "run", *HELLO, "--budget", "0.5", "--concurrency", "3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        in_flight = kill_with_a_call_in_flight(
            proc,
            lambda: billed_calls(bills) - all_calls(env),  # started at the provider only
            lambda: len(ok_calls(env)) >= 15,
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    before = ok_calls(env)
    assert billed_calls(bills) - all_calls(env) == in_flight
    with db(env) as conn:
        (job_id,) = conn.execute("select job_id from jobs").fetchone()
        assert conn.execute("select final_status from jobs").fetchone()[0] is None

    done = cli(env, "resume", job_id, "--out", str(tmp_path / "out"), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    after = ok_calls(env)
    assert after[: len(before)] == before  # what was recorded stays as it was
    keys = Counter(row[:5] for row in after)
    assert max(keys.values()) == 1  # no logical call succeeded twice
    with db(env) as conn:
        final, status = conn.execute("select final_status, status from jobs").fetchone()
        ids = [r[0] for r in conn.execute("select id from events order by id")]
    assert final in ("SUCCESS", "PARTIAL_SUCCESS") and status == "done"
    # Provider side: the only calls made twice are those that were in flight at the kill
    # (at most one per running task: concurrency 3); every completed call was re-used.
    assert 1 <= in_flight <= 3
    assert billed_calls(bills) - all_calls(env) == in_flight
    assert ids == list(range(1, len(ids) + 1))
