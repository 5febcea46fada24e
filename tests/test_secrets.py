"""Secrets stay secret: provider keys and the API token never leave the server.

A server runs real-provider jobs (the real SDK code paths, against local fake servers) with
fake keys in its environment and a token; one provider rejects its key, so error paths run
too. Then every response body, every SSE event, the server's whole output, the CLI's model
listing, every file under the data directory (store, artifacts) and the OpenAPI document are
searched for the keys and the token.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from api_fixtures import ORCHESTRATOR, ApiServer, server_env, start_server
from fake_llm_servers import Answer, FakeLLMServer, WireRequest
from pydantic import SecretStr

from orchestrator.api import ApiSettings
from orchestrator.config import Settings

TOKEN = "tok-SECRET-api-0b7e51c3"
KEYS = {
    "OPENAI_API_KEY": "sk-test-SECRET-openai-1234567890",
    "ANTHROPIC_API_KEY": "sk-ant-test-SECRET-anthropic-2345678901",
    "GEMINI_API_KEY": "AIza-test-SECRET-gemini-3456789012",
}
SECRETS = (TOKEN, *KEYS.values())
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def answers(request: WireRequest) -> Answer:
    properties = (request.schema or {}).get("properties", {})
    if "tasks" in properties:
        node = {"type": "summarization", "prompt": "Summarise Raft.", "dependencies": []}
        return {"tasks": [{"id": "a", **node}, {"id": "b", **node, "dependencies": ["a"]}]}
    if "score" in properties:
        return {"score": 0.95, "reasoning": "Clear and short."}
    return "Raft elects a leader that orders every write."


@dataclass
class Seen:
    """Everything the server let out, as text."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, text: str | bytes) -> None:
        self.texts[where] = text if isinstance(text, str) else text.decode("utf-8", "replace")

    def leaks(self) -> list[tuple[str, str]]:
        return [(where, s[:12]) for where, t in self.texts.items() for s in SECRETS if s in t]


@pytest.fixture(scope="module")
def providers() -> Iterator[dict[str, FakeLLMServer]]:
    with ExitStack() as stack:
        yield {
            "openai": stack.enter_context(FakeLLMServer(answers, api_key=KEYS["OPENAI_API_KEY"])),
            "anthropic": stack.enter_context(
                FakeLLMServer(answers, api_key=KEYS["ANTHROPIC_API_KEY"])
            ),
            # Expects another key: every Gemini call fails with 401 (AuthFailed paths).
            "gemini": stack.enter_context(FakeLLMServer(answers, api_key="another-key")),
        }


@pytest.fixture(scope="module")
def env(providers: dict[str, FakeLLMServer]) -> dict[str, str]:
    return {
        **KEYS,
        "ORCH_OPENAI_BASE_URL": f"{providers['openai'].url}/v1",
        "ORCH_ANTHROPIC_BASE_URL": providers["anthropic"].url,
        "ORCH_GEMINI_BASE_URL": providers["gemini"].url,
        "ORCH_API_TOKEN": TOKEN,
        "ORCH_RETRY_BACKOFF_S": "0.01",
        "ORCH_LOG_LEVEL": "DEBUG",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[ApiServer]:
    # uvicorn's debug log: access lines and more, all searched.
    started = start_server(tmp_path_factory.mktemp("secrets") / "data", **env)
    yield started
    started.stop()


async def collect(client: httpx.AsyncClient, seen: Seen, path: str, **kw: object) -> httpx.Response:
    answer = await client.request(kw.pop("method", "GET"), path, **kw)  # type: ignore[arg-type]
    seen.add(f"{kw.get('method', 'GET')} {path} -> {answer.status_code}", answer.content)
    seen.add(f"headers of {path}", str(answer.headers))
    return answer


async def test_no_key_or_token_in_any_output(
    server: ApiServer, providers: dict[str, FakeLLMServer], env: dict[str, str], tmp_path: Path
) -> None:
    seen = Seen()
    async with server.client(headers=AUTH) as client, server.client() as browser:
        await collect(browser, seen, "/api/session", method="POST", json={"token": TOKEN})
        await collect(browser, seen, "/api/session", method="POST", json={"token": "wrong"})
        await collect(browser, seen, "/api/session", method="POST", json={"token": 7})
        await collect(browser, seen, "/api/session")
        created = await collect(
            client, seen, "/api/jobs", method="POST", json={"project_description": "Explain Raft"}
        )
        job_id = created.json()["job_id"]
        # The whole stream, raw (ids, data, comments), from the session cookie's side.
        async with browser.stream("GET", f"/api/jobs/{job_id}/stream") as stream:
            assert stream.status_code == 200
            seen.add("stream", await stream.aread())
        assert '"type":"done"' in seen.texts["stream"].replace(" ", "")

        job = (await collect(client, seen, f"/api/jobs/{job_id}")).json()
        assert set(job["tasks"]) == {"a", "b"}  # the fake providers' plan: real SDK path
        for task_id in job["tasks"]:
            await collect(client, seen, f"/api/jobs/{job_id}/tasks/{task_id}")
        listed = (await collect(client, seen, f"/api/jobs/{job_id}/artifacts")).json()
        assert listed
        for artifact in listed:
            await collect(client, seen, f"/api/jobs/{job_id}/artifacts/{artifact['path']}")
        archive = await collect(client, seen, f"/api/jobs/{job_id}/artifacts.zip")
        with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
            for name in zipped.namelist():
                seen.add(f"zip:{name}", zipped.read(name))
        for path in ("/api/jobs", "/api/models", "/api/version", "/metrics", "/healthz"):
            await collect(client, seen, path)
        for path in ("/openapi.json", "/docs"):
            await collect(browser, seen, path)
        # Error answers: a 422 and a 401 sent with the token in a header echo neither.
        await collect(client, seen, "/api/jobs", method="POST", json={"budget_usd": "x"})
        await collect(client, seen, "/api/jobs/nope1234")
        await collect(browser, seen, "/api/jobs", headers={"Authorization": f"Bearer {TOKEN}x"})

    # The keys were used (real SDK calls, one rejected): the search below is not vacuous.
    assert {r.api_key for r in providers["openai"].requests} == {KEYS["OPENAI_API_KEY"]}
    listing = await asyncio.to_thread(
        subprocess.run,
        [ORCHESTRATOR, "models", "--check"],
        env=server_env(server.data_dir, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    seen.add("orchestrator models --check", listing.stdout + listing.stderr)
    assert "openai" in listing.stdout
    # `--check` called Gemini too, with the key the fake server refuses.
    assert {r.api_key for r in providers["gemini"].requests} == {KEYS["GEMINI_API_KEY"]}

    for file in sorted(p for p in server.data_dir.rglob("*") if p.is_file()):
        seen.add(f"file {file.relative_to(server.data_dir)}", file.read_bytes())
    assert "file orchestrator.db" in seen.texts  # the store: jobs, events, calls, artifacts
    assert any(where.startswith("zip:") for where in seen.texts)
    seen.add("server output", "".join(server.output))
    assert "GET /api/jobs" in seen.texts["server output"]  # access lines are in it

    assert seen.leaks() == []


def test_settings_and_their_reprs_are_redacted() -> None:
    settings = Settings(_env_file=None, openai_api_key=SecretStr(KEYS["OPENAI_API_KEY"]))  # type: ignore[call-arg]
    api = ApiSettings(_env_file=None, api_token=SecretStr(TOKEN))  # type: ignore[call-arg]
    dumps = [settings.model_dump_json(), api.model_dump_json()]
    shown = " ".join([repr(settings), str(settings), repr(api), str(api), *dumps])
    assert KEYS["OPENAI_API_KEY"] not in shown and TOKEN not in shown
    assert "**********" in shown
