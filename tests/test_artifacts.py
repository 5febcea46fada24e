"""The result summary says what each task was for and what the job spent against its cap."""

from __future__ import annotations

from orchestrator.domain import JobRecord, JobSpec, TaskState, TaskStatus, TaskType
from orchestrator.engine.artifacts import build_artifacts


def _readme(tasks: list[TaskState], *, spent: float, budget: float) -> str:
    job = JobRecord(
        job_id="j1",
        spec=JobSpec(project_description="Parse durations", budget_usd=budget),
        total_cost=spent,
        created_at=0,
        updated_at=0,
    )
    files = {a.path: a.content.decode() for a in build_artifacts(job, tasks)}
    return files[".orchestrator/summary.md"]


def _task(task_id: str, title: str, **extra: object) -> TaskState:
    return TaskState(
        job_id="j1",
        task_id=task_id,
        title=title,
        type=TaskType.CODE_GENERATION,
        prompt="…",
        acceptance_threshold=0.8,
        **extra,  # type: ignore[arg-type]
    )


def test_each_row_names_what_the_task_does_and_its_cost() -> None:
    tasks = [
        _task(
            "task_001",
            "Parse ISO-8601 durations",
            status=TaskStatus.COMPLETED,
            output="x = 1\n",
            score=0.91,
            cost_usd=0.0042,
            model="gpt-4o",
        ),
        _task("task_002", "Write the tests", status=TaskStatus.FAILED, cost_usd=0.0),
    ]
    readme = _readme(tasks, spent=0.0042, budget=0.003)
    rows = [line for line in readme.splitlines() if line.startswith("| task_")]
    assert rows[0].split(" | ")[1] == "Parse ISO-8601 durations"
    assert "$0.0042" in rows[0] and "task_001.py" in rows[0]
    assert rows[1].split(" | ")[1] == "Write the tests"
    # The cap exactly as set, never rounded to "$0.00".
    assert "- Spent: $0.0042 of $0.003" in readme


def test_a_title_cannot_break_the_table() -> None:
    readme = _readme([_task("task_001", "Read | write\nfiles")], spent=0, budget=1)
    row = next(line for line in readme.splitlines() if line.startswith("| task_001"))
    assert row.count(" | ") == 7  # eight cells, the title's "|" escaped
    assert "Read \\| write files" in row
