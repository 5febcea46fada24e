"""Plan review on the command line, in real subprocesses on a real SQLite store: `run --review`
in a pseudo-terminal answered approve, edit (through a scripted $EDITOR) and reject; `--yes`;
`plan` then `approve` or `reject` from other invocations."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import ORCHESTRATOR, cli, db, env

__all__ = ["env"]  # a fixture, used by name

pytestmark = pytest.mark.slow

QUICK = "Weigh the options for heating a small house"
QUESTION = "approve, edit or reject?"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Rewrites the plan file it is given: the first task gets a new prompt and a pinned model.
EDITOR = """
import sys, yaml
path = sys.argv[1]
plan = yaml.safe_load(open(path))
plan["tasks"][0]["prompt"] = "EDITED: list three heating options with their yearly cost"
plan["tasks"][0]["model"] = "gpt-4o-mini"
open(path, "w").write(yaml.safe_dump(plan))
"""


class Terminal:
    """A command on a pseudo-terminal: read its screen until some text, type answers."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, env=env, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in ANSI.sub("", self.seen):
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on the screen:\n{ANSI.sub('', self.seen)[-3000:]}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the command ended and closed the terminal
                    chunk = b""
                if not chunk:
                    assert text in ANSI.sub("", self.seen), f"ended without {text!r}"
                self.seen += chunk.decode(errors="replace")

    def type(self, line: str) -> None:
        self.seen = ""  # what follows is the answer's
        os.write(self.master, line.encode() + b"\r")

    def wait(self, timeout: float = 180) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:  # keep reading, or a full terminal blocks it
            assert time.monotonic() < deadline, "the command did not end"
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    break
        return self.proc.wait(timeout=30)


def only_job(env: dict[str, str]) -> tuple[str, str, str | None]:
    with db(env) as conn:
        row = conn.execute("select job_id, status, final_status from jobs").fetchone()
    return row[0], row[1], row[2]


def roles(env: dict[str, str]) -> set[str]:
    with db(env) as conn:
        return {r[0] for r in conn.execute("select distinct role from llm_calls")}


def test_review_in_a_terminal_edit_then_approve(env: dict[str, str], tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    env = {**env, "EDITOR": f"{sys.executable} {editor}", "VISUAL": ""}
    term = Terminal([ORCHESTRATOR, "run", QUICK, "--review", "--budget", "0.5"], env)
    term.expect(QUESTION)
    assert "forecast $" in ANSI.sub("", term.seen)
    term.type("edit")
    term.expect(QUESTION)  # asked again, with the edited plan
    assert "gpt-4o-mini (pinned)" in ANSI.sub("", term.seen)
    term.type("approve")
    assert term.wait() == 0, ANSI.sub("", term.seen)[-2000:]
    job_id, status, final = only_job(env)
    assert (status, final) in (("done", "SUCCESS"), ("done", "PARTIAL_SUCCESS"))
    with db(env) as conn:
        prompt, model = conn.execute(
            "select prompt, pinned_model from tasks where job_id = ? order by position", (job_id,)
        ).fetchone()
    assert prompt.startswith("EDITED:") and model == "gpt-4o-mini"


def test_review_in_a_terminal_reject_pays_the_planning_only(env: dict[str, str]) -> None:
    term = Terminal([ORCHESTRATOR, "run", QUICK, "--review", "--budget", "0.5"], env)
    term.expect(QUESTION)
    term.type("reject")
    assert term.wait() == 1
    assert only_job(env)[1:] == ("cancelled", "CANCELLED")
    assert roles(env) == {"decompose"}


def test_yes_approves_unasked_without_a_terminal(env: dict[str, str]) -> None:
    done = cli(env, "run", QUICK, "--review", "--yes", "--budget", "0.5")
    assert done.returncode == 0, done.stderr
    assert "forecast $" in done.stdout
    assert only_job(env)[2] in ("SUCCESS", "PARTIAL_SUCCESS")


def test_plan_then_approve_or_reject_from_another_invocation(env: dict[str, str]) -> None:
    planned = cli(env, "plan", QUICK, "--budget", "0.5")
    assert planned.returncode == 0, planned.stderr
    assert "forecast $" in planned.stdout and "awaits review" in planned.stdout
    job_id, status, _ = only_job(env)
    assert status == "awaiting_review" and roles(env) == {"decompose"}
    assert cli(env, "resume", job_id).returncode == 2  # 409: approve or reject it
    approved = cli(env, "approve", job_id)
    assert approved.returncode == 0, approved.stderr
    assert only_job(env)[2] in ("SUCCESS", "PARTIAL_SUCCESS")
    again = cli(env, "reject", job_id)
    assert again.returncode == 2 and "not awaiting review" in again.stderr


def test_review_without_a_terminal_leaves_the_job_waiting(env: dict[str, str]) -> None:
    waiting = cli(env, "run", QUICK, "--review", "--budget", "0.5")
    assert waiting.returncode == 1 and "awaits review" in waiting.stdout
    job_id, status, _ = only_job(env)
    assert status == "awaiting_review"
    rejected = cli(env, "reject", job_id)
    assert rejected.returncode == 0, rejected.stderr
    assert only_job(env)[1:] == ("cancelled", "CANCELLED")
