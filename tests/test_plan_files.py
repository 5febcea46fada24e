"""The plan's file manifest through planning and review: a path two independent tasks write
is repaired to one owner, the manifest reaches the stored tasks, and review shows and edits it."""

from __future__ import annotations

from conftest import StartRuntime

from orchestrator.api.routes.review import plan_public
from orchestrator.domain import JobSpec
from orchestrator.engine.plan_repair import repair_plan
from orchestrator.plan import ReviewedPlan


def task(tid: str, deps: list[str] | None = None, **extra: object) -> dict[str, object]:
    return {"id": tid, "type": "code_generation", "prompt": f"do {tid}", "dependencies": deps or [],
            **extra}  # fmt: skip


def test_two_tasks_creating_one_path_are_repaired_the_later_one_losing_it() -> None:
    raw = {
        "tasks": [
            task("a", files=["main.py"]),
            task("b", files=["main.py", "test_main.py"]),  # independent of a: a clash
            task("c", ["b"], files=["test_main.py"]),  # builds on b: may change it
            task("d", ["c"], files=["main.py"]),  # builds on b and c, not on a: a clash
        ]
    }
    repaired = repair_plan(raw)
    assert {t.id: t.files for t in repaired.plan.tasks} == {
        "a": ["main.py"], "b": ["test_main.py"], "c": ["test_main.py"], "d": [],
    }  # fmt: skip
    assert repaired.repairs == [
        "task 'b': file 'main.py' is written by 'a', which it does not build on (dropped)",
        "task 'd': file 'main.py' is written by 'a', which it does not build on (dropped)",
    ]


async def test_review_shows_each_tasks_files_and_takes_edited_ones(
    start_runtime: StartRuntime,
) -> None:
    runtime = await start_runtime()
    spec = JobSpec(project_description="Write a hello world Python script", review=True)
    job_id = await runtime.submit(spec)
    assert await runtime.wait(job_id) is None  # stopped for review after planning
    shown = plan_public(await runtime.reviews.view(job_id))
    files = {t.id: t.files for t in shown.tasks}
    assert ["main.py"] in files.values() and ["test_main.py"] in files.values()

    tasks = [
        {"id": t.id, "type": t.type, "prompt": t.prompt, "dependencies": t.dependencies,
         "files": t.files}
        for t in shown.tasks
    ]  # fmt: skip
    owner = next(t for t in tasks if t["files"] == ["main.py"])
    owner["files"] = ["app/main.py"]
    edited = plan_public(
        await runtime.reviews.edit(job_id, ReviewedPlan.model_validate({"tasks": tasks}))
    )
    assert {t.id: t.files for t in edited.tasks}[str(owner["id"])] == ["app/main.py"]
    stored = {t.task_id: t.files for t in await runtime.store.list_tasks(job_id)}
    assert stored[str(owner["id"])] == ["app/main.py"]
