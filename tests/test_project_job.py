"""A job's result is a working project: the simulator's hello job leaves a tree whose program
runs and whose tests pass, with one git commit per task that wrote files, by its model."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import StartRuntime

from orchestrator.config import Settings
from orchestrator.domain import JobSpec, ProjectStatus, TaskResult
from orchestrator.runtime.workspaces import commit_task, workspace_of
from orchestrator.workspace import STEP_TRAILER

HELLO = JobSpec(
    project_description="Write a hello world Python script, with tests",
    success_criteria="python main.py prints Hello World",
    budget_usd=0.5,
)


def _run(argv: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, env=env)


async def test_the_hello_job_leaves_a_project_that_runs_and_passes_its_tests(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    runtime = await start_runtime()
    job_id = await runtime.submit(HELLO)
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    store = runtime.store
    tasks = await store.list_tasks(job_id)
    by_path = {path: t for t in tasks for path in t.files}
    assert {"main.py", "test_main.py", "README.md"} <= set(by_path)

    workspace = workspace_of(settings, job_id)
    root = str(workspace.root)
    tree = await asyncio.to_thread(workspace.read)
    assert {"main.py", "test_main.py", "README.md"} <= set(tree)
    ran = await asyncio.to_thread(_run, [sys.executable, "main.py"], root)
    assert ran.returncode == 0 and ran.stdout.strip() == "Hello World", ran.stderr
    tested = await asyncio.to_thread(
        _run, [sys.executable, "-B", "-m", "pytest", "-q", "-p", "no:cacheprovider"], root
    )
    assert tested.returncode == 0 and "1 passed" in tested.stdout, tested.stdout

    # One commit per task that wrote files, its model the author, its id and score said.
    log = await asyncio.to_thread(workspace.log)
    writers = [t for t in tasks if t.files]
    assert len(log) == len(writers)
    for commit in log:
        task = next(t for t in writers if commit.message.startswith(f"{t.task_id}: score "))
        assert commit.author.startswith(f"{task.model} <")
        assert set(commit.files) == set(task.files)

    # The result files are the tree, the job's summary beside it, each file's writer named.
    stored = dict(await store.list_artifacts(job_id))
    assert set(stored) == {*tree, ".orchestrator/summary.md"}
    assert await store.read_artifact(job_id, "main.py") == tree["main.py"]

    # The step that committed a task, run again (as after a crash before DBOS recorded
    # it), finds its commit: no second one.
    first = log[-1]
    step = first.message.split(STEP_TRAILER, 1)[1].strip()
    task = next(t for t in writers if first.message.startswith(t.task_id))
    result = TaskResult(
        task_id=task.task_id, status=task.status, score=task.score, model=task.model,
        output=task.output, cost_usd=task.cost_usd,
    )  # fmt: skip
    said = await commit_task(workspace, task, result, step=step, now=0)
    assert said[-1][0].endswith(f"({first.id[:8]})")
    assert len(await asyncio.to_thread(workspace.log)) == len(log)

    # A deleted job takes its workspace with it.
    await runtime.delete(job_id)
    deadline = time.monotonic() + 30
    for _ in iter(lambda: workspace.root.exists() and time.monotonic() < deadline, False):
        await asyncio.sleep(0.05)  # the removal runs in the background: polled, with a deadline
    assert not workspace.root.exists()


DEMOS = [
    JobSpec(
        project_description="Write a Python CLI that converts CSV to JSON, with tests",
        budget_usd=0.5,
    ),
    JobSpec(
        project_description=(
            "Build a small Python library that parses ISO-8601 durations, "
            "with unit tests and a README"
        ),
        budget_usd=0.5,
    ),
]


@pytest.mark.parametrize("spec", DEMOS, ids=["csv-to-json-cli", "duration-library"])
async def test_the_demo_jobs_leave_projects_whose_tests_pass(
    spec: JobSpec, start_runtime: StartRuntime, settings: Settings
) -> None:
    runtime = await start_runtime()
    job_id = await runtime.submit(spec)
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    workspace = workspace_of(settings, job_id)
    tree = await asyncio.to_thread(workspace.read)
    assert {"main.py", "test_main.py", "README.md"} <= set(tree)
    root = str(workspace.root)
    tested = await asyncio.to_thread(
        _run, [sys.executable, "-B", "-m", "pytest", "-q", "-p", "no:cacheprovider"], root
    )
    assert tested.returncode == 0 and "passed" in tested.stdout, tested.stdout
    history = await asyncio.to_thread(workspace.log)
    tasks = await runtime.store.list_tasks(job_id)
    assert len(history) == len([t for t in tasks if t.files])
    assert {c.author.split(" <")[0] for c in history} <= {t.model for t in tasks}

    if "CSV" in spec.project_description:
        # The program converts a CSV file given on its command line to JSON.
        (workspace.root / "in.csv").write_text("city,people\nLyon,522000\nNice,342000\n")
        ran = await asyncio.to_thread(_run, [sys.executable, "main.py", "in.csv"], root)
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout) == [
            {"city": "Lyon", "people": "522000"},
            {"city": "Nice", "people": "342000"},
        ]
    else:
        probe = "from main import parse_duration; print(parse_duration('P1DT1M'))"
        ran = await asyncio.to_thread(_run, [sys.executable, "-c", probe], root)
        assert ran.stdout.strip() == "86460", ran.stderr
