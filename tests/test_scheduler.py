from orchestrator.domain import TaskResult, TaskStatus
from orchestrator.engine.scheduler import ReadyOrder, ReadyQueue, remaining_path_lengths


def done(task_id: str, status: TaskStatus = TaskStatus.COMPLETED) -> TaskResult:
    return TaskResult(task_id=task_id, status=status, output="x")


def test_dependent_starts_while_unrelated_task_still_runs() -> None:
    q = ReadyQueue({"a": [], "slow": [], "b": ["a"]})
    assert q.take_ready(2) == ["a", "slow"]
    assert q.take_ready(5) == []  # b waits for a only
    q.finish(done("a"))
    assert q.take_ready(5) == ["b"]  # slow is still running: no level barrier


def test_limit_is_respected_and_tasks_start_once() -> None:
    q = ReadyQueue({f"t{i}": [] for i in range(5)})
    first = q.take_ready(3)
    second = q.take_ready(3)
    assert len(first) == 3 and len(second) == 2
    assert not set(first) & set(second)
    assert q.take_ready(0) == []


def test_failed_dependency_skips_all_downstream_with_reason() -> None:
    q = ReadyQueue({"a": [], "b": ["a"], "c": ["b"], "d": []})
    q.take_ready(2)
    skipped = q.finish(done("a", TaskStatus.FAILED))
    assert sorted(skipped) == ["b", "c"]
    assert q.finished["c"].status is TaskStatus.SKIPPED
    assert "a" in q.finished["b"].reason
    assert q.take_ready(5) == []
    q.finish(done("d"))
    assert q.complete


def test_degraded_dependency_is_still_usable() -> None:
    q = ReadyQueue({"a": [], "b": ["a"]})
    q.take_ready(1)
    assert q.finish(done("a", TaskStatus.DEGRADED)) == []
    assert q.take_ready(1) == ["b"]


def test_halted_queue_starts_nothing() -> None:
    q = ReadyQueue({"a": [], "b": []})
    q.halted = True
    assert q.take_ready(2) == []
    assert q.unstarted() == ["a", "b"]


def test_previous_attempt_results_count_as_finished() -> None:
    q = ReadyQueue.for_tasks({"a": [], "b": ["a"]}, [done("a")])
    assert q.take_ready(3) == ["b"]


def test_longest_path_order_prefers_the_critical_chain() -> None:
    graph = {"leaf": [], "c1": [], "c2": ["c1"], "c3": ["c2"]}
    assert remaining_path_lengths(graph) == {"leaf": 1, "c1": 3, "c2": 2, "c3": 1}
    assert ReadyQueue(graph, order=ReadyOrder.LONGEST_PATH).take_ready(1) == ["c1"]
    assert ReadyQueue(graph, order=ReadyOrder.FIFO).take_ready(1) == ["leaf"]


def test_halt_keeps_dependents_pending() -> None:
    q = ReadyQueue({"a": [], "b": ["a"], "c": []})
    q.take_ready(1)
    q.halt(done("a", TaskStatus.FAILED))
    assert q.take_ready(5) == []
    assert "b" not in q.finished
    assert q.unstarted() == ["b", "c"]
