"""Result files of a job: each task's final output as a file, plus a README of the plan."""

from __future__ import annotations

from pydantic import BaseModel

from orchestrator.domain import JobRecord, TaskState, TaskType

CODE_TYPES = frozenset({TaskType.CODE_GENERATION})


class Artifact(BaseModel):
    path: str
    content: bytes


def artifact_path(task: TaskState) -> str:
    suffix = ".py" if task.type in CODE_TYPES else ".md"
    return f"{task.task_id}{suffix}"


def build_artifacts(job: JobRecord, tasks: list[TaskState]) -> list[Artifact]:
    files = [
        Artifact(path=artifact_path(t), content=t.output.encode("utf-8"))
        for t in tasks
        if t.status.is_usable() and t.output
    ]
    files.append(Artifact(path="README.md", content=_readme(job, tasks).encode("utf-8")))
    return files


def _readme(job: JobRecord, tasks: list[TaskState]) -> str:
    lines = [
        f"# Job {job.job_id}",
        "",
        job.spec.project_description,
        "",
        f"- Success criteria: {job.spec.success_criteria or '(none)'}",
        f"- Final status: {job.final_status or job.status}",
        f"- Spent: ${job.total_cost:.4f} of ${job.spec.budget_usd:.2f}",
    ]
    if job.simulated:
        lines.append("- Providers: simulated (no API keys were configured)")
    lines += ["", "| task | type | status | score | model | file |", "|---|---|---|---|---|---|"]
    for t in tasks:
        score = f"{t.score:.2f}" if t.score is not None else "-"
        file = artifact_path(t) if t.status.is_usable() and t.output else "-"
        lines.append(
            f"| {t.task_id} | {t.type} | {t.status} | {score} | {t.model or '-'} | {file} |"
        )
    return "\n".join(lines) + "\n"
