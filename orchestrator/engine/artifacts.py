"""Result files of a job: the project tree its tasks wrote, plus a summary of the plan.

The tree is what `orchestrator.workspace.tree_of` assembles from the usable tasks (a task
with a manifest writes its files; one without writes `task_NNN.py` or `task_NNN.md`): the
same files the job's workspace commits. The summary sits outside the tree, under
`.orchestrator/`, so the project is only the project.
"""

from __future__ import annotations

from pydantic import BaseModel

from orchestrator.domain import JobRecord, TaskState
from orchestrator.money import usd, usd_exact
from orchestrator.workspace import has_manifest, task_files, tree_of

SUMMARY_PATH = ".orchestrator/summary.md"


class Artifact(BaseModel):
    path: str
    content: bytes
    task_id: str | None = None  # the task that wrote it last (None: the summary)


def build_artifacts(job: JobRecord, tasks: list[TaskState]) -> list[Artifact]:
    files = [
        Artifact(path=path, content=f.content.encode("utf-8"), task_id=f.task_id)
        for path, f in sorted(tree_of(tasks).items())
    ]
    files.append(Artifact(path=SUMMARY_PATH, content=_summary(job, tasks).encode("utf-8")))
    return files


def _summary(job: JobRecord, tasks: list[TaskState]) -> str:
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
        "| task | what it does | type | status | score | cost | model | files |",
        "|---|---|---|---|---|---|---|---|",
    ]
    legacy = not has_manifest(tasks)
    for t in tasks:
        score = f"{t.score:.2f}" if t.score is not None else "-"
        written = ", ".join(task_files(t, legacy=legacy)) if t.status.is_usable() else ""
        cells = [t.task_id, t.title or "-", t.type, t.status, score, usd(t.cost_usd)]
        cells += [t.model or "-", written or "-"]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    # A title is the model's words: a "|" or a line break would break the table.
    return " ".join(text.replace("|", "\\|").split())
