"""Plan review over real HTTP: a job asked to be reviewed plans, stops in `awaiting_review`
with its plan and forecast, takes an edited plan, and runs once approved, or ends CANCELLED
once rejected having paid (by the simulator's own bill) for its planning only. A job awaiting
review survives a `kill -9` of its server and is approved by the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_fixtures import (
    HELLO,
    QUICK,
    ApiServer,
    read_all,
    sse,
    start_server,
    wait_for_event,
)
from store_fixtures import server_database

__all__ = ["server_database"]  # a fixture, used by name

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    root = tmp_path_factory.mktemp("review")
    started = start_server(root / "data", ORCH_SIM_BILLING_LOG=str(root / "bill.log"))
    yield started
    started.stop()


def bill(server: ApiServer) -> list[str]:
    log = server.data_dir.parent / "bill.log"
    return log.read_text().splitlines() if log.exists() else []


async def awaiting(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    created = await client.post("/api/jobs", json={**body, "review": True})
    assert created.status_code == 201, created.text
    job_id = str(created.json()["job_id"])
    await wait_for_event(client, job_id, "status", status="awaiting_review")
    return job_id


def edited(plan: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The plan as PUT takes it, with `changes` applied to its first task."""
    tasks = [
        {k: t[k] for k in ("id", "title", "type", "prompt", "dependencies")}
        | {"model": t["pinned_model"]}
        for t in plan["tasks"]
    ]
    tasks[0] |= changes
    return {"tasks": tasks}


async def test_edit_then_approve_runs_the_edited_plan(server: ApiServer) -> None:
    async with server.client() as client:
        job_id = await awaiting(client, HELLO)
        job = (await client.get(f"/api/jobs/{job_id}")).json()
        assert job["status"] == "awaiting_review"
        assert all(t["status"] == "pending" for t in job["tasks"].values())

        plan = (await client.get(f"/api/jobs/{job_id}/plan")).json()
        total = plan["forecast"]
        assert 0 < total["low"] <= total["expected"] <= total["high"]
        assert plan["spent_usd"] > 0  # the planning
        assert plan["leaves_usd"]["high"] == pytest.approx(
            plan["budget_usd"] - plan["spent_usd"] - total["low"], abs=1e-6
        )
        first = plan["tasks"][0]
        assert first["model"] and first["critic"] and len(first["evaluators"]) == 2

        # A much longer prompt, pinned to a dearer model: the forecast follows.
        body = edited(plan, prompt=first["prompt"] * 20, model="claude-opus-4-6")
        put = await client.put(f"/api/jobs/{job_id}/plan", json=body)
        assert put.status_code == 200, put.text
        new = put.json()
        assert new["tasks"][0]["model"] == "claude-opus-4-6"
        assert new["forecast"]["expected"] > total["expected"]
        assert new["tasks"][0]["forecast"]["low"] > first["forecast"]["low"]

        low = await client.post(f"/api/jobs/{job_id}/approve", json={"budget_usd": 1e-6})
        assert low.status_code == 422, low.text
        assert "spent" in low.json()["detail"]

        approved = await client.post(f"/api/jobs/{job_id}/approve", json={"budget_usd": 2.0})
        assert approved.status_code == 202, approved.text
        events = await read_all(client, f"/api/jobs/{job_id}/stream")
        assert events[-1].data["status"] in ("SUCCESS", "PARTIAL_SUCCESS")
        plans = [e.data for e in events if e.type == "plan"]
        assert [p["expected"] for p in plans] == [total["expected"], new["forecast"]["expected"]]
        statuses = [e.data["status"] for e in events if e.type == "status"]
        assert statuses[:4] == ["pending", "running", "awaiting_review", "pending"]
        task_id = first["id"]
        detail = (await client.get(f"/api/jobs/{job_id}/tasks/{task_id}")).json()
        assert detail["prompt"] == first["prompt"] * 20
        assert {i["model"] for i in detail["history"]} == {"claude-opus-4-6"}
        assert (await client.get(f"/api/jobs/{job_id}")).json()["budget_usd"] == 2.0

        again = await client.post(f"/api/jobs/{job_id}/approve")
        assert again.status_code == 409
        assert (await client.post(f"/api/jobs/{job_id}/reject")).status_code == 409


async def test_a_job_shows_the_forecast_it_was_approved_with_beside_its_cost(
    server: ApiServer,
) -> None:
    """The forecast is stored at approval (and at the start of a job not reviewed): jobs that
    finish later add to the history a new forecast is made from, not to theirs."""
    async with server.client() as client:
        reviewed = await awaiting(client, {"project_description": QUICK, "budget_usd": 0.5})
        seen = (await client.get(f"/api/jobs/{reviewed}/plan")).json()
        assert (await client.post(f"/api/jobs/{reviewed}/approve")).status_code == 202
        await read_all(client, f"/api/jobs/{reviewed}/stream")
        unreviewed = (await client.post("/api/jobs", json=HELLO)).json()["job_id"]
        await read_all(client, f"/api/jobs/{unreviewed}/stream")
        started = (await client.get(f"/api/jobs/{unreviewed}/plan")).json()

        # Both jobs' calls are history now: a plan forecast today rests on more of it.
        fresh = await awaiting(client, {"project_description": QUICK, "budget_usd": 0.5})
        now = (await client.get(f"/api/jobs/{fresh}/plan")).json()["forecast"]
        assert now["recorded_calls"] > started["forecast"]["recorded_calls"]
        assert started["forecast"]["recorded_calls"] > seen["forecast"]["recorded_calls"]

        after = (await client.get(f"/api/jobs/{reviewed}/plan")).json()
        assert after["status"] == "done"
        assert after["forecast"] == seen["forecast"]
        assert [t["forecast"] for t in after["tasks"]] == [t["forecast"] for t in seen["tasks"]]
        assert sum(t["cost"] for t in after["tasks"]) > 0  # the actual, beside it
        assert (await client.get(f"/api/jobs/{unreviewed}/plan")).json() == started
        assert (await client.post(f"/api/jobs/{fresh}/reject")).status_code == 202


async def test_bad_edits_are_422_naming_task_and_field_and_change_nothing(
    server: ApiServer,
) -> None:
    async with server.client() as client:
        job_id = await awaiting(client, {"project_description": QUICK, "budget_usd": 0.5})
        plan = (await client.get(f"/api/jobs/{job_id}/plan")).json()
        first = plan["tasks"][0]["id"]
        many = edited(plan)
        many["tasks"] = [{**many["tasks"][0], "id": f"t{i}", "dependencies": []} for i in range(51)]
        cases: list[tuple[dict[str, Any], list[str]]] = [
            (edited(plan, dependencies=[first]), [first, "dependencies"]),
            (edited(plan, dependencies=["nope"]), [first, "dependencies", "nope"]),
            (edited(plan, prompt=""), [first, "prompt"]),
            (edited(plan, model="gpt-99"), [first, "model", "gpt-99"]),
            (edited(plan, type="poetry"), [first, "type"]),
            (many, ["tasks", "50"]),
        ]
        for body, words in cases:
            put = await client.put(f"/api/jobs/{job_id}/plan", json=body)
            assert put.status_code == 422, put.text
            detail = put.json()["detail"]
            assert all(w in detail for w in words), detail
        assert (await client.get(f"/api/jobs/{job_id}/plan")).json() == plan


async def test_reject_ends_cancelled_having_paid_for_the_planning_only(
    server: ApiServer,
) -> None:
    async with server.client() as client:
        before = len(bill(server))
        job_id = await awaiting(client, {"project_description": QUICK, "budget_usd": 0.5})
        rejected = await client.post(f"/api/jobs/{job_id}/reject")
        assert rejected.status_code == 202, rejected.text
        events = await read_all(client, f"/api/jobs/{job_id}/stream")
        assert events[-1].data["type"] == "done"
        assert events[-1].data["status"] == "CANCELLED"
        kinds = [e.type for e in events]
        assert "plan" in kinds
        job = (await client.get(f"/api/jobs/{job_id}")).json()
        assert (job["status"], job["final_status"]) == ("cancelled", "CANCELLED")
        calls = bill(server)[before:]
        assert calls and all(line.startswith("decompose ") for line in calls)
        assert job["total_cost"] > 0
        assert (await client.post(f"/api/jobs/{job_id}/approve")).status_code == 409
        put = await client.put(f"/api/jobs/{job_id}/plan", json={"tasks": []})
        assert put.status_code == 422  # an empty plan is refused before anything else


async def test_a_forecast_above_max_forecast_usd_stops_for_review_unasked(
    server: ApiServer,
) -> None:
    async with server.client() as client:
        body = {"project_description": QUICK, "budget_usd": 0.5, "max_forecast_usd": 1e-6}
        created = await client.post("/api/jobs", json=body)
        assert created.status_code == 201, created.text
        job_id = created.json()["job_id"]
        await wait_for_event(client, job_id, "status", status="awaiting_review")
        said = await _log_line(client, job_id, "awaiting review")
        assert "forecast's high end" in said and "is above $0.000001" in said
        assert (await client.post(f"/api/jobs/{job_id}/reject")).status_code == 202

        # Far above any forecast: it runs without stopping.
        body["max_forecast_usd"] = 100.0
        created = await client.post("/api/jobs", json=body)
        job_id = created.json()["job_id"]
        events = await read_all(client, f"/api/jobs/{job_id}/stream")
        assert "awaiting_review" not in [e.data.get("status") for e in events]
        assert events[-1].data["status"] in ("SUCCESS", "PARTIAL_SUCCESS")


async def _log_line(client: httpx.AsyncClient, job_id: str, text: str) -> str:
    """The first log line of the job that contains `text`."""
    async for event in sse(client, f"/api/jobs/{job_id}/stream"):
        if event.type == "log" and text in event.data["msg"]:
            return str(event.data["msg"])
    raise AssertionError(f"no log line with {text!r}")


async def test_cancel_of_a_job_awaiting_review_rejects_it(server: ApiServer) -> None:
    async with server.client() as client:
        job_id = await awaiting(client, {"project_description": QUICK, "budget_usd": 0.5})
        cancelled = await client.post(f"/api/jobs/{job_id}/cancel")
        assert cancelled.status_code == 202, cancelled.text
        events = await read_all(client, f"/api/jobs/{job_id}/stream")
        assert (events[-1].type, events[-1].data["status"]) == ("done", "CANCELLED")


async def test_a_job_awaiting_review_survives_a_kill_and_is_approved_after(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = start_server(data, worker_id="review-a")
    try:
        async with first.client() as client:
            job_id = await awaiting(client, {"project_description": QUICK, "budget_usd": 0.5})
            plan = (await client.get(f"/api/jobs/{job_id}/plan")).json()
    finally:
        first.kill()
    second = start_server(data, worker_id="review-b")
    try:
        async with second.client() as client:
            job = (await client.get(f"/api/jobs/{job_id}")).json()
            assert job["status"] == "awaiting_review"
            assert (await client.get(f"/api/jobs/{job_id}/plan")).json()["tasks"] == plan["tasks"]
            approved = await client.post(f"/api/jobs/{job_id}/approve")
            assert approved.status_code == 202, approved.text
            events = await read_all(client, f"/api/jobs/{job_id}/stream")
            assert events[-1].data["status"] in ("SUCCESS", "PARTIAL_SUCCESS")
    finally:
        second.stop()


@pytest.mark.postgres
async def test_a_second_server_on_postgresql_approves_a_job_the_first_planned(
    server_database: str, tmp_path: Path
) -> None:
    """The plan, the stop and the approval live in the shared database: the second server
    approves, a worker of the shared queue runs it, and the first server streams it all."""
    url = server_database.replace("postgresql://", "postgresql+asyncpg://")
    first = start_server(tmp_path / "a", worker_id="review-pg-a", ORCH_DATABASE_URL=url)
    second = start_server(tmp_path / "b", worker_id="review-pg-b", ORCH_DATABASE_URL=url)
    try:
        async with first.client() as a, second.client() as b:
            job_id = await awaiting(a, {"project_description": QUICK, "budget_usd": 0.5})
            assert (await b.get(f"/api/jobs/{job_id}/plan")).json()["status"] == "awaiting_review"
            approved = await b.post(f"/api/jobs/{job_id}/approve")
            assert approved.status_code == 202, approved.text
            assert (await a.post(f"/api/jobs/{job_id}/approve")).status_code == 409
            events = await read_all(a, f"/api/jobs/{job_id}/stream")
            assert events[-1].data["status"] in ("SUCCESS", "PARTIAL_SUCCESS")
    finally:
        first.stop()
        second.stop()
