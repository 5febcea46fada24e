"""A job taken over by a process on another machine, whose disk holds only the commits it
made: before the tree's tests run, the files the job's finished tasks stored are committed
there too (each by its task's model), so acceptance sees the whole project, not the part
this machine wrote."""

from __future__ import annotations

import asyncio
import time

from conftest import StartRuntime
from test_project_job import HELLO

from orchestrator.config import Settings
from orchestrator.domain import ProjectStatus
from orchestrator.events import LogEvent
from orchestrator.runtime.tree_steps import TreeSteps
from orchestrator.runtime.workspaces import remove_workspace, workspace_of


async def test_acceptance_on_a_machine_without_the_earlier_commits_restores_them(
    start_runtime: StartRuntime, settings: Settings
) -> None:
    runtime = await start_runtime()
    job_id = await runtime.submit(HELLO)
    assert await runtime.wait(job_id) is ProjectStatus.SUCCESS
    tasks = {t.task_id: t for t in await runtime.store.list_tasks(job_id)}
    workspace = workspace_of(settings, job_id)
    before = await asyncio.to_thread(workspace.read)
    writers = {c.files[0]: c for c in await asyncio.to_thread(workspace.log) if c.files}
    tests_task = writers["test_main.py"].message.split(":", 1)[0]

    # This machine ran only the test task: its disk has that one commit.
    await asyncio.to_thread(remove_workspace, workspace)
    await asyncio.to_thread(
        workspace.commit,
        {"test_main.py": before["test_main.py"].decode()},
        author=tasks[tests_task].model or "",
        message=f"{tests_task}: score 0.90, cost $0.001",
        step="this-machine",
        now=time.time(),
    )

    accepted = await TreeSteps(runtime.deps).accept_tree(job_id, 0, "", 0)
    assert accepted.ran and accepted.passed, accepted.output
    assert await asyncio.to_thread(workspace.read) == before  # the whole project again
    restored = [c for c in await asyncio.to_thread(workspace.log) if "Restored" in c.message]
    assert restored and "main.py" in {f for c in restored for f in c.files}
    for commit in restored:  # each by the model of the task that wrote it
        task_id = commit.message.split(":", 1)[0]
        assert commit.author.split(" <")[0] == tasks[task_id].model
    events = await runtime.store.read_events(job_id)
    lines = [e.event.msg for e in events if isinstance(e.event, LogEvent)]
    assert any("files restored from its stored result: main.py" in m for m in lines), lines

    # Once whole, a second acceptance restores nothing more.
    count = len(await asyncio.to_thread(workspace.log))
    assert (await TreeSteps(runtime.deps).accept_tree(job_id, 0, "", 0)).passed
    assert len(await asyncio.to_thread(workspace.log)) == count
