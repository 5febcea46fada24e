"""Chaos on the real PostgreSQL: a worker killed, another frozen, the provider's bill the judge.

Two `orchestrator serve` processes (a, b) and a CLI `orchestrator run` share one database and
one billing provider double; each is given its own base URL under the double (`/a`, `/b`,
`/cli`, then `/c`), so the bill says which process made each call, and each job's plan puts
the job's tag into every prompt of the job, so the bill says which job each call was for.

a is killed (kill -9) with calls in flight; b takes its jobs over once a is silent for the
dead-after time; c starts in a's place; b is frozen (SIGSTOP) with calls in flight and stays
frozen until c has taken its jobs over; only then are b's held answers delivered — paid, and
malformed, so that b would try again — and b woken. Then: every job ends; each job's bill is
within its budget and its recorded total is its bill (at least its bill, within the budget, for
a job that had a call in flight at the kill or the freeze: that call is charged its
reservation); once another process has called for a job, no earlier one calls for it again;
the woken b makes no call at all and exits, declared dead; the CLI calls only for its own job,
and no server for it.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from api_fixtures import ORCHESTRATOR, ApiServer, server_env, start_server
from fake_llm_servers import Answer, BillLine, FakeLLMServer, WireRequest, echo
from fakes import plan_task
from store_fixtures import server_database

from orchestrator.config import Settings
from orchestrator.domain import JobBudget
from orchestrator.providers import Pricing
from orchestrator.runtime.workers import DECLARED_DEAD_EXIT
from orchestrator.store import Store

__all__ = ["server_database"]  # a fixture, used by name

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

KEY = "sk-chaos-5a4b3c2d"
TAG = re.compile(r"\{\{(J\d+|CLI)")
DEADLINE_S = 120
SERVER_JOBS = {"J1": 0.05, "J2": 0.07, "J3": 0.09, "J4": 0.12, "J5": 0.16, "J6": 0.2}
CLI_BUDGET = 0.1
TASKS = {"CLI": 6}  # the CLI's job runs long, one task at a time: it lives through it all
CLI_WORKFLOWS = "select 1 from dbos.workflow_status where executor_id like 'cli-%%'"
IN_FLIGHT_DB = (
    "select count(*) from llm_calls join jobs using (job_id) "
    "where jobs.owner = %s and llm_calls.outcome = 'in_flight'"
)


def answers(request: WireRequest) -> Answer:
    """A plan whose every task carries the job's tag; text answers that use much of their
    cap (budgets run out); other structured answers echo."""
    if request.schema is not None:
        if "tasks" in request.schema.get("properties", {}):
            tag = job_tag(f"{request.system}\n{request.prompt}")
            count = TASKS.get(tag, 4)
            return {"tasks": [plan_task(f"{tag}/t{i}") for i in range(1, count + 1)]}
        return echo(request)
    words = request.max_tokens * (3 + len(request.prompt) % 5) // 8
    return " ".join(["word"] * words)


def job_tag(text: str) -> str:
    found = TAG.search(text.replace("[[", "{{"))
    assert found, f"a call for no job: {text[:300]!r}"
    return found.group(1)


def description(tag: str) -> str:
    return f"Write a short guide to brewing green tea {{{{{tag}}}}}, with a summary of its steps"


def query(database: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database) as conn:
        return conn.execute(sql, args).fetchall()


def wait_until(what: str, condition: Callable[[], bool], deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def process_env(database: str, llm: FakeLLMServer, caller: str) -> dict[str, str]:
    return {
        "ORCH_DATABASE_URL": database.replace("postgresql://", "postgresql+asyncpg://"),
        "OPENAI_API_KEY": KEY,
        "ORCH_OPENAI_BASE_URL": f"{llm.url}/{caller}/v1",
        "ANTHROPIC_API_KEY": KEY,
        "ORCH_ANTHROPIC_BASE_URL": f"{llm.url}/{caller}",
        "ORCH_RETRY_BACKOFF_S": "0.01",
        "ORCH_WORKER_HEARTBEAT_S": "0.5",
        "ORCH_WORKER_DEAD_AFTER_S": "4",
        "ORCH_PG_IDLE_IN_TRANSACTION_TIMEOUT_S": "1",
    }


class Chaos:
    """The processes of the scenario and what the test saw of them."""

    def __init__(self, database: str, llm: FakeLLMServer, tmp: Path) -> None:
        self.database = database
        self.llm = llm
        self.tmp = tmp
        self.servers: dict[str, ApiServer] = {}
        self.cli: subprocess.Popen[str] | None = None
        self.held: dict[str, int] = {}  # caller -> its calls held when it was killed or frozen

    def serve(self, *callers: str) -> None:
        def start(caller: str) -> ApiServer:
            env = process_env(self.database, self.llm, caller)
            return start_server(self.tmp / caller, worker_id=caller, **env)

        with ThreadPoolExecutor(len(callers)) as pool:
            self.servers.update(zip(callers, pool.map(start, callers), strict=True))

    def run_cli(self) -> None:
        data = self.tmp / "cli"
        data.mkdir(parents=True)
        env = server_env(data, **process_env(self.database, self.llm, "cli"))
        args = [ORCHESTRATOR, "run", description("CLI"), "--budget", str(CLI_BUDGET)]
        log = (self.tmp / "cli.log").open("w")
        self.cli = subprocess.Popen(
            [*args, "--concurrency", "1", "--out", str(data / "out"), "--yes"],
            env=env,
            cwd=data,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def create_jobs(self) -> dict[str, str]:
        """The server jobs, created through a's API: job id -> tag."""
        made = {}
        with httpx.Client(base_url=self.servers["a"].url, timeout=60) as client:
            for tag, budget in SERVER_JOBS.items():
                body = {"project_description": description(tag), "budget_usd": budget}
                body |= {"success_criteria": "Covers water temperature", "concurrency": 2}
                created = client.post("/api/jobs", json=body)
                assert created.status_code == 201, created.text
                made[created.json()["job_id"]] = tag
        return made

    def owner(self, caller: str) -> str:
        """How the jobs table names the process `caller` as a job's owner."""
        return f"{socket.gethostname()}:{self.servers[caller].proc.pid}"

    def unfinished(self, caller: str) -> set[str]:
        """The jobs `caller` owns that have not ended."""
        sql = "select job_id from jobs where owner = %s and final_status is null"
        return {job_id for (job_id,) in query(self.database, sql, self.owner(caller))}

    def freeze_with_calls_held(self, caller: str) -> None:
        """Hold `caller`'s answers and stop it (SIGSTOP) once every call it has reserved is
        held at the double: none is reserved and about to be sent, none answered and about
        to be recorded. How many calls it has held is remembered."""
        proc = self.servers[caller].proc
        self.llm.hold(caller)
        deadline = time.monotonic() + DEADLINE_S
        while True:
            assert time.monotonic() < deadline, f"{caller} never had all its calls held"
            assert proc.poll() is None, f"{caller} ended"
            proc.send_signal(signal.SIGSTOP)
            held = self.llm.pending[caller]
            if held and held == query(self.database, IN_FLIGHT_DB, self.owner(caller))[0][0]:
                break
            proc.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        self.held[caller] = held

    def stop(self) -> None:
        for server in self.servers.values():
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGCONT)
                server.stop()
        if self.cli is not None and self.cli.poll() is None:
            self.cli.kill()
            self.cli.wait(timeout=30)


async def recorded_money(database: str, job_ids: list[str]) -> dict[str, JobBudget]:
    """Each job's budget and recorded total, as the store reads them."""
    url = database.replace("postgresql://", "postgresql+asyncpg://")
    store = await Store.open(url, migrate=False)
    try:
        return {job_id: await store.job_budget(job_id) for job_id in job_ids}
    finally:
        await store.close()


def test_kill_and_freeze_two_servers_with_a_cli_beside_them(
    server_database: str, tmp_path: Path
) -> None:
    db = server_database
    with FakeLLMServer(answers, api_key=KEY, latency_s=(0.1, 0.4)) as llm:
        chaos = Chaos(db, llm, tmp_path)
        try:
            chaos.serve("a", "b")
            chaos.run_cli()
            # Once its job runs, the CLI's answers wait till the end: it lives, and serves
            # DBOS's queues, through every takeover.
            wait_until("the CLI runs its job", lambda: bool(query(db, CLI_WORKFLOWS)))
            llm.hold("cli")
            tags = chaos.create_jobs()

            # a and b both run jobs; a is killed with calls in flight. b's answers are held
            # from then on: its jobs, and those it takes over, stay unfinished.
            wait_until("a runs a job", lambda: bool(chaos.unfinished("a")))
            wait_until("b runs a job", lambda: bool(chaos.unfinished("b")))
            llm.hold("b")
            chaos.freeze_with_calls_held("a")
            of_a = chaos.unfinished("a")
            chaos.servers["a"].kill()
            killed_at = time.monotonic()
            llm.let_go("a", fault="malformed")  # answered to nobody, and billed

            # b takes a's jobs over; c starts in a's place.
            wait_until("b owns a's jobs", lambda: not chaos.unfinished("a"))
            chaos.serve("c")

            # b is frozen with calls in flight until c owns every job b had; then it gets
            # its answers, paid and malformed (it would try again), and wakes.
            chaos.freeze_with_calls_held("b")
            frozen_at = time.monotonic()
            of_b = chaos.unfinished("b")
            wait_until("c owns b's jobs", lambda: not chaos.unfinished("b"))
            llm.let_go("b", fault="malformed")
            woken_at = time.monotonic()
            chaos.servers["b"].proc.send_signal(signal.SIGCONT)
            llm.let_go("cli")

            wait_until(
                "every job ends",
                lambda: not query(db, "select job_id from jobs where final_status is null"),
            )
            assert chaos.cli is not None
            assert chaos.cli.wait(timeout=DEADLINE_S) in (0, 1), (tmp_path / "cli.log").read_text()
            # b, woken to find itself declared dead, left before its stale runs went on.
            assert chaos.servers["b"].proc.wait(timeout=DEADLINE_S) == DECLARED_DEAD_EXIT
        finally:
            chaos.stop()
        bill = list(llm.bill)

    pricing = Pricing(Settings(_env_file=None).catalog)  # type: ignore[call-arg]
    all_jobs = dict(query(db, "select job_id, project_description from jobs"))
    tag_of = {job_id: job_tag(text) for job_id, text in all_jobs.items()}
    assert sorted(tag_of.values()) == sorted([*SERVER_JOBS, "CLI"])
    assert {j: tag_of[j] for j in tags} == tags
    job_of = {tag: job_id for job_id, tag in tag_of.items()}
    by_job: dict[str, list[BillLine]] = defaultdict(list)
    for line in bill:
        by_job[job_of[job_tag(line.prompt)]].append(line)

    # The scenario happened as meant: a was killed and b frozen mid-job, with calls held;
    # the malformed answers are exactly those (no other fault was injected).
    # Nothing runs in two places: b, woken, calls no more; a job's calls move from one
    # process to the next and never back; the CLI and the servers keep to their own jobs.
    assert not [b for b in bill if b.caller == "b" and b.sent_at > woken_at]
    assert not [b for b in bill if b.caller == "a" and b.sent_at > killed_at]
    for job_id, lines in by_job.items():
        callers = [b.caller for b in sorted(lines, key=lambda b: b.sent_at)]
        runs = [c for i, c in enumerate(callers) if i == 0 or callers[i - 1] != c]
        assert len(runs) == len(set(runs)), f"{tag_of[job_id]} went back: {runs}"
        if tag_of[job_id] == "CLI":
            assert set(callers) == {"cli"}, callers
        else:
            assert "cli" not in callers, f"the CLI called for {tag_of[job_id]}"

    # The scenario happened as meant: a was killed and b frozen mid-job, with calls held
    # (answered malformed: no other fault was injected).
    stopped_at = {"a": killed_at, "b": frozen_at}
    held = [b for b in bill if b.fault == "malformed" and b.sent_at < stopped_at.get(b.caller, 0)]
    assert of_a and of_b, "a and b each had a job when killed, frozen"
    assert Counter(b.caller for b in held) == chaos.held, chaos.held
    assert any(b.caller == "c" and b.sent_at > frozen_at for b in bill)

    # Every job ended, within its budget by the provider's bill; recorded = billed, or
    # covers it where a call in flight at the kill or freeze was charged its reservation.
    held_of = Counter(job_of[job_tag(b.prompt)] for b in held)
    ended = dict(query(db, "select job_id, final_status from jobs"))
    money = asyncio.run(recorded_money(db, list(ended)))
    for job_id, final_status in ended.items():
        name = tag_of[job_id]
        assert final_status is not None, name
        billed = sum(
            (pricing.cost(b.model, b.input_tokens, b.output_tokens) for b in by_job[job_id]),
            Decimal(0),
        )
        budget, recorded = money[job_id].budget_usd, money[job_id].spent_usd
        assert billed <= budget, name
        if held_of[job_id]:
            assert billed <= recorded <= budget, name
        else:
            assert recorded == billed, name
        answered = query(
            db,
            "select count(*) from llm_calls where job_id = %s "
            "and outcome not in ('in_flight', 'interrupted')",
            job_id,
        )[0][0]
        # Each call billed once, but for calls in flight at the kill or freeze.
        assert 0 <= len(by_job[job_id]) - answered <= held_of[job_id], name
