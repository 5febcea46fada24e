"""Result files of a job: each task's final output as a file, plus a README of the plan."""

from __future__ import annotations

from pydantic import BaseModel

from orchestrator.domain import JobRecord, TaskState, TaskType
from orchestrator.money import usd, usd_exact

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
        f"- Spent: {usd(job.total_cost)} of {usd_exact(job.spec.budget_usd)}",
    ]
    if job.simulated:
        lines.append("- Providers: simulated (no API keys were configured)")
    lines += [
        "",
        "| task | what it does | type | status | score | cost | model | file |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in tasks:
        score = f"{t.score:.2f}" if t.score is not None else "-"
        file = artifact_path(t) if t.status.is_usable() and t.output else "-"
        cells = [t.task_id, t.title or "-", t.type, t.status, score, usd(t.cost_usd)]
        cells += [t.model or "-", file]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    # A title is the model's words: a "|" or a line break would break the table.
    return " ".join(text.replace("|", "\\|").split())
