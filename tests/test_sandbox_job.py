"""A job whose generated code hangs goes on: the validator fails with the reason, the task
ends, and the task that depends on it still runs. Through the real durable runtime."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field

import pytest
from conftest import StartRuntime
from fakes import MARKER, ScriptedClient, plan_task

from orchestrator.config import Settings
from orchestrator.domain import JobSpec, ProjectStatus, Role, TaskStatus, ValidatorResult
from orchestrator.engine.sandbox import SandboxLimits, isolation_of
from orchestrator.providers import ClientSet, LLMRequest, LLMResponse

# Hangs without burning CPU (a blocked read, a lost lock, a server that never answers):
# only the wall-clock limit can end it.
HANGING = "import time\n\ntime.sleep(3600)\n"


def code_task(task_id: str) -> dict[str, object]:
    return plan_task(task_id) | {
        "type": "code_generation",
        "prompt": f"Write a script for topic [[{task_id}]].",
        "acceptance_threshold": 0.8,
    }


@dataclass
class CodeWriter(ScriptedClient):
    """The scripted client, except that it writes `code[task_id]` as the task's code."""

    code: dict[str, str] = field(default_factory=dict)
    critiques: list[str] = field(default_factory=list)  # the critique prompts seen

    async def complete(self, request: LLMRequest) -> LLMResponse:
        found = MARKER.search(request.prompt)
        task_id = found.group(1) if found else ""
        if request.role is Role.CRITIQUE:
            self.critiques.append(request.prompt)
        if request.role not in (Role.GENERATE, Role.REVISE) or task_id not in self.code:
            return await super().complete(request)
        text = self.code[task_id]
        return LLMResponse(
            model=request.model,
            provider=self.catalog.models[request.model].provider,
            text=text,
            input_tokens=len(request.system + request.prompt) // 4,
            output_tokens=len(text) // 4,
            latency_ms=1.0,
            simulated=True,
        )


async def test_a_job_whose_generated_code_hangs_goes_on(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    plan = [code_task("hang"), plan_task("after", ["hang"])]
    client = CodeWriter(settings.catalog, plan, code={"hang": HANGING})
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    started = time.monotonic()
    job_id = await runtime.submit(JobSpec(project_description="hanging code", concurrency=1))

    # A failed hard check caps the score at 0.5, below the task's 0.8: degraded, not stuck.
    assert await runtime.wait(job_id) is ProjectStatus.PARTIAL_SUCCESS
    tasks = {t.task_id: t for t in await runtime.store.list_tasks(job_id)}
    assert tasks["hang"].status is TaskStatus.DEGRADED
    assert tasks["after"].status is TaskStatus.COMPLETED
    (first, *_) = await runtime.store.list_iterations(job_id, "hang")
    checks = {v.name: v for v in first.validators}
    assert not checks["python_run"].passed
    assert checks["python_run"].detail == "timed out after 10 s (killed)"
    assert first.score == 0.5
    # One run of the sandbox's default 10 s timeout, not an hour; the revision repeated the
    # same code, so its checks were not run again.
    assert time.monotonic() - started < 60


async def test_lint_findings_reach_the_critic_without_capping_the_score(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    client = CodeWriter(settings.catalog, [code_task("lint")], code={"lint": "import os\n"})
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    job_id = await runtime.submit(JobSpec(project_description="lint", concurrency=1))
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    (task,) = await runtime.store.list_tasks(job_id)
    assert task.status is TaskStatus.COMPLETED and task.score == 0.99
    assert any("- ruff FAILED: 1 finding(s):\nmain.py:1:8: F401" in p for p in client.critiques)


async def test_a_job_whose_code_tries_to_escape_goes_on_and_says_its_isolation(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    # Reads the store and the orchestrator's .env, and connects to a listener on loopback:
    # isolated, each attempt fails; the program reports how, and the job ends.
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    store = (settings.data_dir / "orchestrator.db").resolve()
    attempts = {
        "store": f"open({str(store)!r}, 'rb').read(16)",
        "env": f"open('/proc/{os.getpid()}/cwd/.env').read()",
        "connect": f"socket.create_connection(('127.0.0.1', {listener.getsockname()[1]}))",
    }
    code = "import socket\n\n" + "".join(
        f"try:\n    {what}\n    print('{name}: ok')\nexcept OSError as e:\n"
        f"    print('{name}:', type(e).__name__)\n"
        for name, what in attempts.items()
    )
    client = CodeWriter(settings.catalog, [code_task("escape")], code={"escape": code})
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    job_id = await runtime.submit(JobSpec(project_description="escape", concurrency=1))

    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    (first, *_) = await runtime.store.list_iterations(job_id, "escape")
    checks = {v.name: v for v in first.validators}
    isolation = isolation_of(SandboxLimits())
    assert isolation.backend != "none", "CI installs bubblewrap; Landlock needs Linux 6.7+"
    assert checks["isolation"] == ValidatorResult(
        name="isolation", passed=True, detail=isolation.label
    )
    assert checks["python_run"].passed
    shown = checks["python_run"].detail.split("stdout:\n", 1)[1].splitlines()
    assert [line.split(":")[0] for line in shown] == list(attempts)
    assert not [line for line in shown if line.endswith(": ok")]
    with pytest.raises(BlockingIOError):
        listener.accept()
    listener.close()


async def test_a_job_that_demands_isolation_the_machine_lacks_ends_before_any_call(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    client = CodeWriter(settings.catalog, [code_task("a")], code={"a": "print('hi')\n"})
    runtime = await start_runtime(
        ClientSet([client], settings.catalog),
        sandbox="bubblewrap",
        sandbox_bwrap="/nonexistent/bwrap",
    )
    job_id = await runtime.submit(JobSpec(project_description="x"))

    assert await runtime.wait(job_id) is ProjectStatus.SYSTEM_FAILURE
    job = await runtime.store.get_job(job_id)
    assert job.error.startswith("refusing to run generated code: ORCH_SANDBOX=bubblewrap")
    assert client.seen == []  # not even the plan was paid for
    lines = [e.event for e in await runtime.store.read_events(job_id)]
    assert any("generated code isolation: none" in getattr(e, "msg", "") for e in lines)


async def test_the_job_log_says_how_generated_code_is_isolated(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    client = ScriptedClient(settings.catalog, [plan_task("a")])
    runtime = await start_runtime(ClientSet([client], settings.catalog))
    job_id = await runtime.submit(JobSpec(project_description="x"))
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    expected = isolation_of(SandboxLimits()).label
    events = [e.event for e in await runtime.store.read_events(job_id)]
    assert f"generated code isolation: {expected}" in [getattr(e, "msg", "") for e in events]
