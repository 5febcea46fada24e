"""Task titles travel from the plan through the store to the API and the CLI table."""

from __future__ import annotations

from rich.console import Console
from store_fixtures import new_job, pg_database, plan, store, store_url

from orchestrator.api.schemas import JobSummary, TaskSummary
from orchestrator.cli.view import task_table
from orchestrator.domain import TaskState
from orchestrator.store import Store

__all__ = ["pg_database", "store", "store_url"]  # fixtures, used by name


async def test_titles_are_stored_and_read_back(store: Store) -> None:
    job = await new_job(store)
    tasks = [t.model_copy(update={"title": f"Step {t.task_id}"}) for t in plan(job)]
    assert await store.save_plan(job, tasks)
    stored = await store.list_tasks(job)
    assert [t.title for t in stored] == [t.title for t in tasks]
    assert TaskSummary.of(stored[0]).title == tasks[0].title


async def test_the_api_summaries_carry_titles_and_the_cap(store: Store) -> None:
    job_id = await new_job(store, budget_usd=0.003)
    summary = JobSummary.of(await store.get_job(job_id))
    assert summary.budget_usd == 0.003
    assert summary.time_limit_s > 0


def test_the_cli_table_shows_titles() -> None:
    task = TaskState(
        job_id="j",
        task_id="task_001",
        title="Parse the input file",
        type="code_generation",
        prompt="…",
        acceptance_threshold=0.85,
        cost_usd=0.003,
    )
    console = Console(width=200, record=True)
    console.print(task_table([task]))
    text = console.export_text()
    assert "Parse the input file" in text
    assert "$0.003" in text
