"""The HTTP contract over real HTTP: `orchestrator serve` in a subprocess, a real SQLite store.

One server for the module; one hello-world job, followed by two subscribers from start to
end, feeds the tests of the seed's shapes, of a job's detail, tasks, artifacts and models.
"""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from api_fixtures import HELLO, QUICK, ApiServer, Sse, read_all, sse, start_server, wait_for_event
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from orchestrator.api import ApiSettings, check_bind, is_loopback
from orchestrator.config import Settings
from orchestrator.errors import InvalidInput
from orchestrator.providers import Pricing

SEED_SUMMARY = {
    "job_id",
    "project_description",
    "status",
    "total_cost",
    "final_status",
    "created_at",
    "updated_at",
    "task_count",
}
SEED_TASK = {"task_id", "status", "score", "model", "cost", "iterations"}
SEED_MODEL = {
    "model",
    "provider",
    "success_rate",
    "trust_factor",
    "avg_latency_ms",
    "latency_p95_ms",
    "avg_cost_usd",
    "call_count",
    "failure_count",
    "cost_per_1m_input",
    "cost_per_1m_output",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(tmp_path_factory.mktemp("api") / "data")
    yield started
    started.stop()


@dataclass
class Watched:
    job_id: str
    first: list[Sse]
    second: list[Sse]
    status_at_first_running_task: str


async def _watch_hello(server: ApiServer) -> Watched:
    async with server.client() as client:
        created = await client.post("/api/jobs", json=HELLO)
        assert created.status_code == 201, created.text
        job_id = created.json()["job_id"]
        seen: list[str] = []

        async def first() -> list[Sse]:
            got = []
            async for event in sse(client, f"/api/jobs/{job_id}/stream"):
                got.append(event)
                if event.type == "task" and event.data["status"] == "running" and not seen:
                    seen.append((await client.get(f"/api/jobs/{job_id}")).json()["status"])
            return got

        a, b = await asyncio.gather(first(), read_all(client, f"/api/jobs/{job_id}/stream"))
    return Watched(job_id, a, b, seen[0])


@pytest.fixture(scope="module")
def hello(server: ApiServer) -> Watched:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_watch_hello(server))
    finally:
        loop.close()


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as c:
        yield c


async def test_healthz_and_version(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    version = (await client.get("/api/version")).json()
    assert version["simulated"] is True and version["executor_id"] == "test-worker"


def test_job_id_has_8_chars(hello: Watched) -> None:
    assert len(hello.job_id) == 8


def test_stream_has_the_seed_shapes_and_gap_free_ids(hello: Watched) -> None:
    events = hello.first
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    by_type = {e.type for e in events}
    assert {"log", "task", "done", "status", "cost"} <= by_type
    for e in events:
        if e.type == "log":
            assert set(e.data) == {"type", "level", "msg", "ts"}
            assert e.data["level"] in ("DEBUG", "INFO", "WARNING", "ERROR")
        elif e.type == "task":
            assert set(e.data) >= SEED_TASK
        elif e.type == "done":
            assert set(e.data) == {"type", "status", "total_cost"}
    assert events[-1].type == "done" and events[-1].data["status"] == "SUCCESS"
    assert [e for e in events if e.type == "done"] == [events[-1]]


def test_two_subscribers_see_identical_events(hello: Watched) -> None:
    assert hello.first == hello.second


def test_task_events_arrive_while_the_job_runs(hello: Watched) -> None:
    assert hello.status_at_first_running_task == "running"
    transitions = {(e.data["task_id"], e.data["status"]) for e in hello.first if e.type == "task"}
    tasks = {task for task, _ in transitions}
    for task in tasks:
        assert {(task, "pending"), (task, "running"), (task, "completed")} <= transitions


async def test_finished_job_replays_its_history_and_ends(
    client: httpx.AsyncClient, hello: Watched
) -> None:
    assert await read_all(client, f"/api/jobs/{hello.job_id}/stream") == hello.first


async def test_job_detail(client: httpx.AsyncClient, hello: Watched) -> None:
    detail = (await client.get(f"/api/jobs/{hello.job_id}")).json()
    assert SEED_SUMMARY | {"tasks", "success_criteria", "budget_usd", "simulated"} <= set(detail)
    assert detail["status"] == "done" and detail["final_status"] == "SUCCESS"
    assert detail["success_criteria"] == HELLO["success_criteria"]
    assert detail["budget_usd"] == 0.5 and detail["simulated"] is True
    assert detail["total_cost"] == pytest.approx(hello.first[-1].data["total_cost"], abs=1e-6)
    assert 0 < detail["total_cost"] <= 0.5
    streamed = {e.data["task_id"] for e in hello.first if e.type == "task"}
    assert set(detail["tasks"]) == streamed and detail["task_count"] == len(streamed)
    for task_id, task in detail["tasks"].items():
        assert set(task) >= SEED_TASK and task["task_id"] == task_id
        assert task["status"] == "completed" and task["iterations"] >= 1


async def test_task_detail_has_every_iteration(client: httpx.AsyncClient, hello: Watched) -> None:
    tasks = (await client.get(f"/api/jobs/{hello.job_id}")).json()["tasks"]
    for task_id, summary in tasks.items():
        detail = (await client.get(f"/api/jobs/{hello.job_id}/tasks/{task_id}")).json()
        assert detail["prompt"] and detail["output"] and "dependencies" in detail
        assert len(detail["history"]) == summary["iterations"]
        for step in detail["history"]:
            assert step["model"] and step["output"] and step["critique"] and step["scores"]
            assert step["input_tokens"] > 0 and step["cost_usd"] > 0 and step["latency_ms"] > 0
            assert isinstance(step["validators"], list)
    missing = await client.get(f"/api/jobs/{hello.job_id}/tasks/task_999")
    assert missing.status_code == 404 and "task_999" in missing.json()["detail"]


async def test_artifacts_list_file_and_zip(client: httpx.AsyncClient, hello: Watched) -> None:
    base = f"/api/jobs/{hello.job_id}"
    listed = (await client.get(f"{base}/artifacts")).json()
    paths = {a["path"] for a in listed}
    # The project's files, each with the task that wrote it; the job's summary beside them.
    assert ".orchestrator/summary.md" in paths and any(p.endswith(".py") for p in paths)
    assert all(a["task_id"] for a in listed if a["path"] != ".orchestrator/summary.md")
    script = next(p for p in sorted(paths) if p.endswith(".py"))
    file = await client.get(f"{base}/artifacts/{script}")
    assert (
        file.status_code == 200
        and len(file.content) == dict((a["path"], a["size"]) for a in listed)[script]
    )
    archive = zipfile.ZipFile(io.BytesIO((await client.get(f"{base}/artifacts.zip")).content))
    names = {n.removeprefix(f"{hello.job_id}/") for n in archive.namelist()}
    # The tree and its git history (the workspace's .git folder), so `git log` works there.
    assert {n for n in names if not n.startswith(".git/")} == paths and ".git/HEAD" in names
    assert archive.read(f"{hello.job_id}/{script}") == file.content
    assert (await client.get(f"{base}/artifacts/nope.py")).status_code == 404
    for bad in ("a/%2e%2e/b", "..%2Fsecret", "a%5Cb"):
        assert (await client.get(f"{base}/artifacts/{bad}")).status_code == 400, bad


async def test_models_come_from_recorded_calls(client: httpx.AsyncClient, hello: Watched) -> None:
    models = (await client.get("/api/models")).json()
    catalog = Settings(_env_file=None).catalog  # type: ignore[call-arg]
    assert {m["model"] for m in models} == set(catalog.models)
    assert [m["provider"] for m in models] == sorted(m["provider"] for m in models)
    used = [m for m in models if m["call_count"] > 0]
    assert used, "a finished job made calls"
    pricing = Pricing(catalog)
    for m in models:
        assert set(m) >= SEED_MODEL and m["simulated"] is True
        assert m["lifecycle"] in ("current", "retiring", "retired")  # and since when, instead:
        assert {"retirement_date", "replacement", "rerouted_to", "retirement_notice"} <= set(m)
        price = pricing.per_mtok(m["model"])
        assert (m["cost_per_1m_input"], m["cost_per_1m_output"]) == (
            price.input_per_mtok,
            price.output_per_mtok,
        )
        assert m["provider"] == catalog.models[m["model"]].provider
    assert any(m["avg_cost_usd"] > 0 for m in used)
    for m in used:
        assert m["avg_latency_ms"] > 0 and m["latency_p95_ms"] > 0
        assert 0 < m["success_rate"] <= 1 and 0 < m["trust_factor"] <= 1


async def test_metrics_parse(client: httpx.AsyncClient, hello: Watched) -> None:
    text = (await client.get("/metrics")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    calls = sum(v for (name, _), v in samples.items() if name == "orchestrator_llm_calls_total")
    assert calls > 0
    cost = sum(v for (name, _), v in samples.items() if name == "orchestrator_llm_cost_usd_total")
    assert cost > 0
    latencies = [
        v for (n, _), v in samples.items() if n == "orchestrator_llm_call_latency_seconds_count"
    ]
    assert sum(latencies) == calls
    assert samples[("orchestrator_jobs", (("status", "done"),))] >= 1
    assert ("orchestrator_sse_subscribers", ()) in samples
    assert ("orchestrator_budget_exhausted_jobs", ()) in samples
    assert samples[("orchestrator_event_loop_lag_seconds_count", ())] > 0


async def test_list_filters_pages_and_counts(client: httpx.AsyncClient) -> None:
    marker = uuid.uuid4().hex[:10]
    ids = []
    for i in range(3):
        body = {"project_description": f"{QUICK} {marker.upper()} {i}", "budget_usd": 0.2}
        ids.append((await client.post("/api/jobs", json=body)).json()["job_id"])
        await wait_for_event(client, ids[-1], "status", status="running")
        assert (await client.post(f"/api/jobs/{ids[-1]}/cancel")).status_code == 202
    found = await client.get("/api/jobs", params={"q": marker})
    assert found.headers["X-Total-Count"] == "3"
    assert [j["job_id"] for j in found.json()] == ids[::-1]  # newest first
    page = await client.get("/api/jobs", params={"q": marker, "limit": 2, "offset": 2})
    assert [j["job_id"] for j in page.json()] == ids[:1] and page.headers["X-Total-Count"] == "3"
    cancelled = await client.get("/api/jobs", params={"q": marker, "status": "cancelled"})
    assert cancelled.headers["X-Total-Count"] == "3"
    done = await client.get("/api/jobs", params={"q": marker, "status": "done"})
    assert done.json() == [] and done.headers["X-Total-Count"] == "0"
    huge = {"offset": 10**20}  # beyond SQL's 64-bit integers: a 422, not a 500
    for params in ({"status": "bogus"}, {"limit": -1}, {"limit": 1001}, {"offset": -1}, huge):
        bad = await client.get("/api/jobs", params=params)
        assert bad.status_code == 422 and next(iter(params)) in bad.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "project_description"),
        ({"project_description": ""}, "project_description"),
        ({"project_description": "   "}, "project_description"),
        ({"project_description": "x" * 20_001}, "project_description"),
        ({"project_description": "x", "budget_usd": 0}, "budget_usd"),
        ({"project_description": "x", "budget_usd": -1}, "budget_usd"),
        # Positive, but it would be stored (to 1e-10) as 0 and read back invalid.
        ({"project_description": "x", "budget_usd": 1e-11}, "budget_usd"),
        ({"project_description": "x", "budget_usd": "lots"}, "budget_usd"),
        ({"project_description": "x", "time_limit_s": 0}, "time_limit_s"),
        ({"project_description": "x", "concurrency": 0}, "concurrency"),
        ({"project_description": "x", "concurrency": 11}, "concurrency"),
        ({"project_description": "x", "concurrency": 2.5}, "concurrency"),
        ({"project_description": "x", "surprise": 1}, "surprise"),
        ([1, 2], "body"),
    ],
)
async def test_invalid_job_is_422_and_stores_nothing(
    client: httpx.AsyncClient, body: object, field: str
) -> None:
    before = (await client.get("/api/jobs", params={"limit": 0})).headers["X-Total-Count"]
    answer = await client.post("/api/jobs", json=body)
    assert answer.status_code == 422
    assert field in answer.json()["detail"] and answer.json()["errors"]
    after = (await client.get("/api/jobs", params={"limit": 0})).headers["X-Total-Count"]
    assert after == before


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/jobs", content=b"{bad", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422 and "invalid JSON" in answer.json()["detail"]


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"project_description": "' + b"x" * (1024 * 1024) + b'"}'
    declared = await client.post(
        "/api/jobs", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and "too large" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    chunked = await client.post(
        "/api/jobs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413


async def test_unknown_job_is_404_everywhere(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/jobs/nope1234"),
        ("DELETE", "/api/jobs/nope1234"),
        ("POST", "/api/jobs/nope1234/resume"),
        ("POST", "/api/jobs/nope1234/cancel"),
        ("GET", "/api/jobs/nope1234/stream"),
        ("GET", "/api/jobs/nope1234/tasks/task_001"),
        ("GET", "/api/jobs/nope1234/artifacts"),
        ("GET", "/api/jobs/nope1234/artifacts.zip"),
        ("GET", "/api/jobs/nope1234/artifacts/README.md"),
    ]:
        answer = await client.request(method, path)
        assert answer.status_code == 404, (method, path)
        assert "nope1234" in answer.json()["detail"]


async def test_cors_for_the_dev_ui(client: httpx.AsyncClient) -> None:
    for origin in ("http://localhost:3000", "http://127.0.0.1:3000"):
        preflight = await client.options(
            "/api/jobs",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers["access-control-allow-origin"] == origin
        listed = await client.get("/api/jobs", headers={"Origin": origin})
        assert "x-total-count" in listed.headers["access-control-expose-headers"].lower()
    other = await client.get("/api/jobs", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_openapi_is_complete(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    operations = [op for ops in doc["paths"].values() for op in ops.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) and "jobs-create_job" in ids
    schemas = doc["components"]["schemas"]
    assert set(schemas["JobSummary"]["properties"]) >= SEED_SUMMARY
    assert set(schemas["ModelStatsPublic"]["properties"]) >= SEED_MODEL
    assert {"LogEvent", "TaskEvent", "DoneEvent", "StreamEvent"} <= set(schemas)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ok = op["responses"].get("200") or op["responses"].get("201")
            if ok is not None and path.startswith("/api"):
                assert ok.get("content"), (method, path)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("example.com", False)],
)  # fmt: skip
def test_public_address_needs_a_token(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    check_bind(host, ApiSettings(_env_file=None, api_token=SecretStr("t")))  # type: ignore[call-arg]
    if loopback:
        check_bind(host, ApiSettings(_env_file=None))  # type: ignore[call-arg]
    else:
        with pytest.raises(InvalidInput, match="ORCH_API_TOKEN"):
            check_bind(host, ApiSettings(_env_file=None))  # type: ignore[call-arg]
