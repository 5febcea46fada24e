"""The MCP server: the SDK's own client over streamable HTTP against a real `orchestrator
serve` (with a token, and refused without it), and over stdio against `orchestrator mcp`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from api_fixtures import HELLO, ORCHESTRATOR, QUICK, ApiServer, server_env, start_server
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError as McpError
from mcp_types import CallToolResult, TextContent, TextResourceContents
from readme_snippets import snippet

pytestmark = pytest.mark.slow

TOKEN = "mcp-test-token"
TOOLS = {
    "start_job",
    "get_job",
    "list_jobs",
    "wait_for_job",
    "cancel_job",
    "resume_job",
    "list_files",
    "read_file",
    "get_plan",
    "approve_plan",
    "reject_plan",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(
        tmp_path_factory.mktemp("mcp") / "data",
        ORCH_API_TOKEN=TOKEN,
        ORCH_WEBHOOK_SECRET="whsec_" + "A" * 32,  # webhooks on; private hosts refused
    )
    yield started
    started.stop()


def over_http(server: ApiServer, token: str | None = TOKEN) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
    return Client(streamable_http_client(f"{server.url}/mcp", http_client=http))


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def structured(result: CallToolResult) -> Any:
    assert not result.is_error, text(result)
    return result.structured_content


async def start_and_wait(client: Client, arguments: dict[str, Any]) -> tuple[str, Any, list]:
    job_id = structured(await client.call_tool("start_job", arguments))["job_id"]
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    return job_id, await wait(client, job_id, on_progress), progress


async def wait(client: Client, job_id: str, on_progress: Any = None) -> Any:
    """The job's report once it has ended or awaits review."""
    report = None
    while report is None or not report["finished"]:  # each call waits up to timeout_s
        answer = await client.call_tool(
            "wait_for_job", {"job_id": job_id, "timeout_s": 120}, progress_callback=on_progress
        )
        report = structured(answer)
    return report


async def test_an_assistant_starts_watches_and_reads_a_job(server: ApiServer) -> None:
    async with over_http(server) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        arguments = {
            "description": HELLO["project_description"],
            "criteria": HELLO["success_criteria"],
            "budget_usd": 0.5,
        }
        job_id, report, progress = await start_and_wait(client, arguments)
        assert report["job"]["status"] == "done" and report["job"]["final_status"] == "SUCCESS"
        assert report["log"] and report["job"]["total_cost"] > 0
        # Progress came while it ran: task counts that grew, and the spend in words.
        assert len(progress) >= 2 and progress[-1][0] == len(report["job"]["tasks"])
        assert [p[0] for p in progress] == sorted(p[0] for p in progress)
        assert all(message and "spent" in message for _, _, message in progress)

        files = structured(await client.call_tool("list_files", {"job_id": job_id}))["result"]
        assert "README.md" in {f["path"] for f in files}
        readme = text(await client.call_tool("read_file", {"job_id": job_id, "path": "README.md"}))
        async with server.client(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            direct = await http.get(f"/api/jobs/{job_id}/artifacts/README.md")
        assert readme == direct.text

        summary = await client.read_resource(f"job://{job_id}/summary")
        content = summary.contents[0]
        assert isinstance(content, TextResourceContents) and job_id in content.text
        listed = structured(await client.call_tool("list_jobs", {"status": "done"}))
        assert job_id in {j["job_id"] for j in listed["jobs"]}


async def test_an_assistant_reviews_plans_then_approves_or_rejects(server: ApiServer) -> None:
    async with over_http(server) as client:
        reviewed = {"description": QUICK, "budget_usd": 0.5, "review": True}
        job_id, report, _ = await start_and_wait(client, reviewed)
        assert report["job"]["status"] == "awaiting_review"
        plan = structured(await client.call_tool("get_plan", {"job_id": job_id}))
        assert plan["status"] == "awaiting_review" and plan["tasks"]
        assert 0 < plan["forecast"]["low"] <= plan["forecast"]["high"]
        assert all(t["model"] for t in plan["tasks"])
        approve = {"job_id": job_id, "budget_usd": 0.6}
        approved = structured(await client.call_tool("approve_plan", approve))
        assert approved == {"job_id": job_id, "status": "approved"}
        report = await wait(client, job_id)
        assert report["job"]["status"] == "done" and report["job"]["final_status"] == "SUCCESS"
        assert report["job"]["budget_usd"] == 0.6

        other, report, _ = await start_and_wait(client, reviewed)
        assert report["job"]["status"] == "awaiting_review"
        rejected = structured(await client.call_tool("reject_plan", {"job_id": other}))
        assert rejected == {"job_id": other, "status": "rejected"}
        assert (await wait(client, other))["job"]["status"] == "cancelled"

        for name, job in (("approve_plan", job_id), ("reject_plan", other)):
            refused = await client.call_tool(name, {"job_id": job})
            assert refused.is_error and "not awaiting review" in text(refused)
        unknown = await client.call_tool("get_plan", {"job_id": "nope1234"})
        assert unknown.is_error and "nope1234" in text(unknown)
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS  # still connected


async def test_bad_arguments_are_tool_errors_and_the_session_goes_on(server: ApiServer) -> None:
    async with over_http(server) as client:
        bad = await client.call_tool("start_job", {"description": "x", "budget_usd": -1})
        assert bad.is_error and "budget_usd" in text(bad)
        empty = await client.call_tool("start_job", {"description": "  ", "budget_usd": 1})
        assert empty.is_error and "project_description" in text(empty)
        for url, why in (("ftp://example.com/x", "http"), ("http://127.0.0.1/x", "private")):
            hook = {"description": "x", "budget_usd": 1, "notify_url": url}
            refused = await client.call_tool("start_job", hook)
            assert refused.is_error and why in text(refused) and "notify_url" in text(refused)
        unknown = await client.call_tool("get_job", {"job_id": "nope1234"})
        assert unknown.is_error and "nope1234" in text(unknown)
        missing = await client.call_tool("read_file", {"job_id": "nope1234", "path": "a.py"})
        assert missing.is_error and "not found" in text(missing)
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS  # still connected


async def test_without_the_token_mcp_is_refused(server: ApiServer) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient(base_url=server.url) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            refused = await http.post("/mcp", json=hello, headers=headers)
            assert refused.status_code == 401 and "token" in refused.json()["detail"]
    with pytest.raises(ExceptionGroup) as refused_sdk:
        async with over_http(server, token=None) as client:
            await client.list_tools()
    assert refused_sdk.group_contains(McpError, match="error response", depth=None)


async def test_the_readme_mcp_config_runs_a_job_over_stdio(tmp_path: Path) -> None:
    """README's Claude Desktop config, as written (its data directory moved to tmp)."""
    config = json.loads(snippet("mcp-config"))["mcpServers"]["orchestrator"]
    assert config["command"] == "orchestrator"
    env = {
        **server_env(tmp_path / "data"),
        **config["env"],
        "ORCH_DATA_DIR": str(tmp_path / "data"),
    }
    params = StdioServerParameters(command=ORCHESTRATOR, args=config["args"], env=env, cwd=tmp_path)
    async with Client(params, read_timeout_seconds=300) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        _job_id, report, progress = await start_and_wait(
            client, {"description": QUICK, "budget_usd": 0.5}
        )
        assert report["job"]["status"] == "done" and progress
