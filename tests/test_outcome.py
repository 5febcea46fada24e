import pytest

from orchestrator.domain import ProjectStatus, StopReason, TaskResult, TaskStatus
from orchestrator.engine.outcome import final_status


def r(status: TaskStatus, stop: StopReason | None = None) -> TaskResult:
    return TaskResult(task_id=f"t{id(status)}{stop}", status=status, stop_reason=stop)


@pytest.mark.parametrize(
    ("results", "planned", "expected"),
    [
        ([r(TaskStatus.COMPLETED), r(TaskStatus.COMPLETED)], 2, ProjectStatus.SUCCESS),
        ([r(TaskStatus.COMPLETED)], 2, ProjectStatus.PARTIAL_SUCCESS),
        ([r(TaskStatus.COMPLETED), r(TaskStatus.DEGRADED)], 2, ProjectStatus.PARTIAL_SUCCESS),
        ([r(TaskStatus.FAILED), r(TaskStatus.SKIPPED)], 2, ProjectStatus.FAILED),
        (
            [r(TaskStatus.COMPLETED), r(TaskStatus.DEGRADED, StopReason.BUDGET)],
            2,
            ProjectStatus.BUDGET_EXHAUSTED,
        ),
        ([r(TaskStatus.FAILED, StopReason.TIMEOUT)], 1, ProjectStatus.TIMEOUT),
        (
            [r(TaskStatus.FAILED, StopReason.TIMEOUT), r(TaskStatus.FAILED, StopReason.CANCELLED)],
            2,
            ProjectStatus.CANCELLED,
        ),
    ],
)
def test_final_status(results: list[TaskResult], planned: int, expected: ProjectStatus) -> None:
    assert final_status(results, planned) is expected


def test_job_status_follows_final_status() -> None:
    assert ProjectStatus.SUCCESS.job_status == "done"
    assert ProjectStatus.BUDGET_EXHAUSTED.job_status == "failed"
    assert ProjectStatus.CANCELLED.job_status == "cancelled"
