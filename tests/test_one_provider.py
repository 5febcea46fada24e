"""One provider is enough: critique and evaluation prefer another provider, then another model
of the generator's provider, then the generator itself (routing), and the task and the API say
so ("self-evaluated"); the only model is never taken out of a job by its own slowness."""

from __future__ import annotations

from conftest import StartRuntime
from fake_llm_servers import Answer, FakeLLMServer, WireRequest
from fakes import catalog_of

from orchestrator.config import DEFAULT_CATALOG, Catalog, load_catalog
from orchestrator.domain import Evaluation, JobSpec, ProjectStatus, Role, TaskStatus
from orchestrator.engine.calls_api import CallSpec
from orchestrator.engine.health import BreakerState, HealthBook, lone_models
from orchestrator.engine.routing import Router
from orchestrator.events import LogEvent, TaskEvent
from orchestrator.providers.base import LLMRequest
from orchestrator.providers.pricing import Pricing

FREE = {"input_per_mtok": 0, "output_per_mtok": 0}
MODEL = "llama3.2"  # the default catalog's OpenAI-compatible model


def local_catalog(*names: str) -> Catalog:
    return catalog_of(
        {n: {"provider": "openai_compat", "quality": 0.6, "price": FREE} for n in names}
    )


def review_by(catalog: Catalog, generator: str) -> list[str]:
    router = Router(catalog, Pricing(catalog), HealthBook())
    spec = CallSpec(
        role=Role.CRITIQUE,
        system="",
        prompt="",
        avoid_providers=["openai_compat"],
        avoid_models=[generator],
    )
    return [m.name for m in router.candidates(spec)]


def test_another_model_of_the_same_provider_reviews_before_the_generator_itself() -> None:
    # The generator ranks first on its own (listed first, equal otherwise): it still comes last.
    assert review_by(local_catalog("llama3.2", "qwen2.5"), "llama3.2") == ["qwen2.5", "llama3.2"]


def test_the_only_model_reviews_its_own_output() -> None:
    assert review_by(local_catalog("llama3.2"), "llama3.2") == ["llama3.2"]


# -- the only model is not taken out by its own slowness --------------------------------------


def test_a_lone_model_is_one_no_other_served_model_could_stand_in_for() -> None:
    both = local_catalog("llama3.2", "qwen2.5")
    assert lone_models(both, lambda name: name == "llama3.2") == {"llama3.2"}
    assert lone_models(both, lambda name: True) == set()
    assert lone_models(load_catalog(DEFAULT_CATALOG), lambda name: True) == set()


def test_timeouts_open_the_breaker_of_a_model_with_alternatives_only() -> None:
    book = HealthBook()
    book.protect({"alone"})
    for _ in range(3):
        book.record("alone", ok=False, latency_ms=500, cost=0, timeout=True)
        book.record("shared", ok=False, latency_ms=500, cost=0, timeout=True)
    assert book.state("alone") is BreakerState.CLOSED
    assert book.state("shared") is BreakerState.OPEN
    assert book.trust("alone") < 1  # slowness still counts against it in ranking
    # An outage of the lone model (it refuses connections, it answers 5xx) still opens it.
    for _ in range(3):
        book.record("alone", ok=False, latency_ms=5, cost=0)
    assert book.state("alone") is BreakerState.OPEN


# The broken plan a small model writes: ids that are numbers, a dependency on a step it never
# wrote, a threshold as a percentage, a type of its own.
SMALL_MODEL_PLAN = {
    "tasks": [
        {"id": 1, "type": "summary", "prompt": "Summarise the first part.", "dependencies": []},
        {"id": 2, "type": "summary", "prompt": "Summarise the second part.",
         "dependencies": ["step9"], "acceptance_threshold": 85},
    ]
}  # fmt: skip


def small_model(request: WireRequest) -> Answer:
    if request.schema is None:
        return "A short summary of the part."
    if "tasks" in request.schema.get("properties", {}):
        return SMALL_MODEL_PLAN
    return {"score": 0.9, "reasoning": "fine"}


async def test_timeouts_of_the_only_model_do_not_take_it_out_of_the_job(
    start_runtime: StartRuntime,
) -> None:
    with FakeLLMServer(small_model) as server:
        runtime = await start_runtime(
            openai_compat_base_url=f"{server.url}/v1",
            call_timeout_s=1.5,  # against answers held back for 30 s: each one times out
            call_retries=2,
            retry_backoff_s=0,
        )
        # One call first, outside the job: the client's first call (imports, connection)
        # may take longer than the timeout on a loaded machine.
        warm = LLMRequest(model=MODEL, role=Role.EVALUATE, system="", prompt="warm up",
                          max_tokens=20, json_schema=Evaluation.model_json_schema())  # fmt: skip
        await runtime.deps.clients.for_model(MODEL).complete(warm)
        # The plan is answered; the first task's generation times out three times.
        server.script.extend([None, "slow", "slow", "slow"])
        spec = JobSpec(project_description="Summarise the report", concurrency=1)
        job_id = await runtime.submit(spec)
        status = await runtime.wait(job_id)

        tasks = {t.task_id: t for t in await runtime.store.list_tasks(job_id)}
        assert tasks["1"].status is TaskStatus.FAILED
        assert "llama3.2: 3 timeouts" in tasks["1"].reason
        # The next task still had its model: generated, critiqued, scored.
        assert tasks["2"].status is TaskStatus.COMPLETED, tasks["2"].reason
        assert status is ProjectStatus.PARTIAL_SUCCESS
        assert runtime.deps.health.state(MODEL) is BreakerState.CLOSED
        assert server.faults["slow"] == 3

        # The plan is the model's, repaired, and the log says how.
        events = await runtime.store.read_events(job_id)
        lines = [e.event.msg for e in events if isinstance(e.event, LogEvent)]
        assert "plan repaired: task '2' depended on unknown 'step9' (dropped)" in lines
        assert "plan repaired: task '1': type 'summary' read as summarization" in lines
        assert "plan: 2 tasks, repaired" in lines
        # Critique and scores came from the model itself: marked on the task and iteration.
        assert tasks["2"].self_evaluated and not tasks["1"].self_evaluated
        [iteration] = await runtime.store.list_iterations(job_id, "2")
        assert iteration.self_evaluated
        told = [e.event for e in events if isinstance(e.event, TaskEvent)]
        assert [t.self_evaluated for t in told if t.task_id == "2"][-1]  # the live card's too
