"""Text PostgreSQL cannot store, over real HTTP against a server on the real PostgreSQL.

PostgreSQL refuses NUL in text, and no database stores a lone surrogate: in any parameter or
body field they are a 422 naming it (they answered 500). In a model's answer they are escaped
before storing, so a paid call is always recorded. Parameters and body fields are read from
the server's own OpenAPI description, so a new one is covered without editing this file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from api_fixtures import QUICK, ApiServer, read_all, start_server
from fake_llm_servers import Answer, FakeLLMServer, WireRequest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
KEY = "sk-text-test-1618"
# NUL, and a lone surrogate (a URL cannot carry one: UTF-8 has no encoding for it).
REFUSED = ("a\x00b", "a\ud800b")
# A value each parameter accepts, so that only the one under test is wrong.
FINE = {
    "task_id": "task_001",
    "path": "README.md",
    "commit": "0" * 40,
    "q": "heating",
    "status": "done",
}
PLAN = {"tasks": [{"id": "t1", "type": "summarization", "prompt": "Summarise it.", "title": "x"}]}


@contextmanager
def scratch_database() -> Iterator[str]:
    name = f"orch_text_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with scratch_database() as url:
        yield url


def pg_url(database: str) -> str:
    return database.replace("postgresql://", "postgresql+asyncpg://")


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(
        tmp_path_factory.mktemp("text") / "data", ORCH_DATABASE_URL=pg_url(database)
    )
    yield started
    started.stop()


def parameters(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(method, path, name, where) of every string parameter in the path or the query."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
                if param["in"] in ("path", "query") and "string" in kinds:
                    yield method, path, param["name"], param["in"]


def url_for(path: str, name: str, where: str, job_id: str) -> str:
    """`path` with every parameter fine but `name`, which holds a NUL (percent-encoded)."""
    values = {**FINE, "job_id": job_id}
    if where == "path":
        values[name] = "a\x00b"
    url = path.format(**{k: quote(v, safe="") for k, v in values.items()})
    return f"{url}?{name}=a%00b" if where == "query" else url


async def test_nul_in_any_parameter_is_a_422_naming_it(server: ApiServer) -> None:
    async with server.client() as client:
        spec = (await client.get("/openapi.json")).json()
        created = await client.post("/api/jobs", json={"project_description": QUICK})
        job_id = created.json()["job_id"]
        await read_all(client, f"/api/jobs/{job_id}/stream")
        tried = set()
        for method, path, name, where in parameters(spec):
            body = PLAN if method == "put" else None
            answer = await client.request(method, url_for(path, name, where, job_id), json=body)
            assert answer.status_code == 422, (method, path, name, answer.text)
            assert name in answer.json()["detail"], answer.text
            tried.add(name)
        # Nothing was deleted or cancelled on the way.
        assert (await client.get(f"/api/jobs/{job_id}")).json()["status"] == "done"
    assert {"job_id", "task_id", "path", "q"} <= tried


def string_leaves(value: Any, at: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        yield at
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from string_leaves(item, (*at, i))


def with_value(body: Any, at: tuple[str | int, ...], value: str) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for key in at[:-1]:
        target = target[key]
    target[at[-1]] = value
    return copy


FULL_JOB = {"project_description": QUICK, "success_criteria": "Two options, weighed"}
FULL_PLAN = {"tasks": [{**PLAN["tasks"][0], "model": "gpt-4o", "dependencies": []},
                       {"id": "t2", "type": "summarization", "prompt": "More.",
                        "dependencies": ["t1"]}]}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/api/jobs", FULL_JOB), ("PUT", "/api/jobs/{job_id}/plan", FULL_PLAN)],
)
async def test_refused_text_in_any_body_field_is_a_422_naming_it(
    server: ApiServer, method: str, path: str, body: dict[str, Any]
) -> None:
    async with server.client() as client:
        spec = (await client.get("/openapi.json")).json()
        fields = list(string_leaves(body))
        assert fields
        for at in fields:
            for bad in REFUSED:
                # json.dumps writes a lone surrogate as the escape \ud800, as a client would.
                content = json.dumps(with_value(body, at, bad))
                url = path.format(job_id="0badc0de")
                answer = await client.request(
                    method, url, content=content, headers={"Content-Type": "application/json"}
                )
                assert answer.status_code == 422, (at, answer.text)
                field = next(str(key) for key in reversed(at) if isinstance(key, str))
                assert field in answer.json()["detail"], answer.text
        # Every text field of the body's schema was tried.
        assert spec


def answers_with_refused_text(request: WireRequest) -> Answer:
    """A cooperative model whose every answer carries a NUL and a lone surrogate."""
    properties = (request.schema or {}).get("properties", {})
    if "tasks" in properties:
        return {"tasks": [{"id": "a", "type": "summarization", "prompt": "Summarise Raft."}]}
    if "score" in properties:
        return {"score": 0.95, "reasoning": "Clear.\x00"}
    return "Raft elects a leader\x00 that orders writes \ud800."


async def test_a_model_answer_with_refused_text_is_stored_escaped(tmp_path: Path) -> None:
    with scratch_database() as database, FakeLLMServer(answers_with_refused_text) as model:
        server = start_server(
            tmp_path / "data",
            ORCH_DATABASE_URL=pg_url(database),
            ORCH_OPENAI_COMPAT_BASE_URL=f"{model.url}/v1",
            ORCH_OPENAI_COMPAT_API_KEY=KEY,
        )
        try:
            async with server.client() as client:
                created = await client.post("/api/jobs", json={"project_description": QUICK})
                job_id = created.json()["job_id"]
                events = await read_all(client, f"/api/jobs/{job_id}/stream")
                task = (await client.get(f"/api/jobs/{job_id}/tasks/a")).json()
        finally:
            server.stop()
        with psycopg.connect(database) as db:
            texts = db.execute(
                "select response_text from llm_calls where job_id = %s and outcome = 'ok'",
                (job_id,),
            ).fetchall()
    assert events[-1].type == "done" and events[-1].data["status"] == "SUCCESS"
    # Every answer the provider billed is a recorded call: none was lost to the database.
    assert len(texts) == len(model.bill) > 0
    prose = [t for (t,) in texts if t.startswith("Raft")]
    assert prose and all(
        t == "Raft elects a leader\\u0000 that orders writes \\ud800." for t in prose
    )
    assert task["output"] == prose[0]  # the escaped answer is what the task kept
