"""Access control, the dashboard's login session and rate limits, over real HTTP.

Every route of the OpenAPI document is tried without credentials, with the bearer header,
with the session cookie and with a wrong token, so a route added later without the token
check fails here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from api_fixtures import QUICK, ApiServer, read_all, start_server

from orchestrator.api.auth import SESSION_COOKIE, session_valid, session_value

TOKEN = "tok-Security-4f1c9a7e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Reachable without credentials: the load balancers' probe and the login itself.
OPEN = {("get", "/healthz"), ("get", "/api/session"), ("post", "/api/session")}
OPEN |= {("delete", "/api/session")}
PARAMS = {
    "job_id": "nope1234",
    "task_id": "task_001",
    "path": "README.md",
    "commit": "0" * 40,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(tmp_path_factory.mktemp("security") / "data", ORCH_API_TOKEN=TOKEN)
    yield started
    started.stop()


@pytest.fixture
async def anonymous(server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


async def login(client: httpx.AsyncClient) -> str:
    answer = await client.post("/api/session", json={"token": TOKEN})
    assert answer.status_code == 204, answer.text
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    return value


async def routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """(method, concrete path) of every documented operation."""
    document = (await client.get("/openapi.json")).json()
    found = []
    for template, operations in document["paths"].items():
        path = template
        for name, value in PARAMS.items():
            path = path.replace(f"{{{name}}}", value)
        assert "{" not in path, f"no test value for a parameter of {template}"
        found += [(method, path) for method in operations if (method, template) not in OPEN]
    return found


async def call(client: httpx.AsyncClient, method: str, path: str, **kw: object) -> httpx.Response:
    # `{}` is an invalid job: with access, creation answers 422 and starts nothing.
    body = {"json": {}} if method in ("post", "put", "patch") else {}
    return await client.request(method.upper(), path, **body, **kw)  # type: ignore[arg-type]


async def test_every_route_needs_the_token(anonymous: httpx.AsyncClient) -> None:
    checked = await routes(anonymous)
    assert ("get", "/api/jobs/nope1234/stream") in checked and ("get", "/metrics") in checked
    assert len(checked) >= 13
    for method, path in checked:
        bare = await call(anonymous, method, path)
        assert bare.status_code == 401, (method, path, bare.status_code)
        assert "Bearer" in bare.json()["detail"] and bare.headers["www-authenticate"] == "Bearer"
        wrong = await call(anonymous, method, path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong API token"
        forged = await call(anonymous, method, path, headers={"Cookie": f"{SESSION_COOKIE}=1.abc"})
        assert forged.status_code == 401, (method, path)


async def test_every_route_opens_with_the_header_or_the_cookie(server: ApiServer) -> None:
    async with server.client(headers=AUTH) as by_header, server.client() as by_cookie:
        await login(by_cookie)
        for method, path in await routes(by_header):
            for client in (by_header, by_cookie):
                answer = await call(client, method, path)
                # Unknown job (404) or an invalid body (422): past the token check.
                assert answer.status_code in (200, 404, 422), (method, path, answer.text)


async def test_no_token_in_the_url_even_for_the_stream(anonymous: httpx.AsyncClient) -> None:
    # URLs land in access logs and browser history: the stream takes the cookie instead.
    for path in ("/api/jobs/nope1234/stream", "/api/jobs"):
        answer = await anonymous.get(path, params={"token": TOKEN})
        assert answer.status_code == 401, path


async def test_healthz_openapi_and_dashboard_stay_open(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
    assert (await anonymous.get("/openapi.json")).status_code == 200
    assert (await anonymous.get("/")).status_code == 200  # the page, or how to build it


async def test_login_sets_a_strict_httponly_cookie_without_the_token(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.post("/api/session", json={"token": TOKEN})
    assert answer.status_code == 204 and answer.content == b""
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower() and "secure" not in attributes  # plain HTTP here
    assert TOKEN not in cookie
    assert (await anonymous.get("/api/session")).json() == {
        "auth_required": True,
        "authenticated": True,
    }


async def test_a_session_follows_a_live_job_and_logout_ends_it(server: ApiServer) -> None:
    async with server.client() as browser:
        assert (await browser.get("/api/session")).json()["authenticated"] is False
        await login(browser)
        created = await browser.post("/api/jobs", json={"project_description": QUICK})
        assert created.status_code == 201, created.text
        job_id = created.json()["job_id"]
        events = await read_all(browser, f"/api/jobs/{job_id}/stream")
        assert events[-1].type == "done"

        out = await browser.delete("/api/session")
        assert out.status_code == 204 and SESSION_COOKIE in out.headers["set-cookie"]
        assert browser.cookies.get(SESSION_COOKIE) is None
        assert (await browser.get(f"/api/jobs/{job_id}")).status_code == 401
        assert (await browser.get(f"/api/jobs/{job_id}/stream")).status_code == 401


async def test_wrong_or_malformed_logins_get_401_or_422(anonymous: httpx.AsyncClient) -> None:
    wrong = await anonymous.post("/api/session", json={"token": TOKEN + "x"})
    assert wrong.status_code == 401 and wrong.json() == {"detail": "wrong API token"}
    assert "set-cookie" not in wrong.headers
    for body in ({}, {"token": ""}, {"token": 42}):
        bad = await anonymous.post("/api/session", json=body)
        assert bad.status_code == 422, body
        assert "42" not in bad.text  # the submitted value is not echoed


async def test_login_attempts_are_rate_limited(server: ApiServer) -> None:
    # A separate source address: its own bucket, so other tests keep theirs. It holds 30 and
    # gets one back every 2 s: bursts, so that however slow the server, the refill cannot
    # keep up (31 attempts one after the other got a token back when they took over 2 s).
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.9")
    async with server.client(transport=transport) as guesser:

        async def login_as(token: str) -> int:
            return (await guesser.post("/api/session", json={"token": token})).status_code

        guesses = await asyncio.gather(*(login_as(f"guess-{i}") for i in range(60)))
        assert set(guesses) == {401, 429} and guesses.count(401) >= 30
        # The limit holds for the right token too: a guesser learns nothing from the answer.
        answers = await asyncio.gather(*(login_as(TOKEN) for _ in range(10)))
        assert 429 in answers and set(answers) <= {200, 429}


def test_session_values_expire_and_are_bound_to_the_token() -> None:
    now = time.time()
    value = session_value(TOKEN, int(now))
    assert session_valid(value, TOKEN, 3600, now)
    assert not session_valid(value, TOKEN, 3600, now + 3601)  # expired
    assert not session_valid(value, "another-token", 3600, now)  # the token changed
    future = session_value(TOKEN, int(now) + 3600)
    assert not session_valid(future, TOKEN, 3600, now)  # issued in the future
    for junk in ("", ".", "x.y", f"{int(now)}.", "1" * 40 + ".ab"):
        assert not session_valid(junk, TOKEN, 3600, now)


# -- job creation rate limit ---------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = start_server(
        tmp_path_factory.mktemp("ratelimit") / "data", ORCH_CREATE_RATE_PER_MIN="3"
    )
    yield started
    started.stop()


async def test_job_creation_is_rate_limited_per_client_address(limited: ApiServer) -> None:
    async with limited.client() as client:
        first = await client.post("/api/jobs", json={"project_description": QUICK})
        assert first.status_code == 201
        # Invalid requests count too: the bucket limits requests, not jobs.
        assert (await client.post("/api/jobs", json={})).status_code == 422
        assert (await client.post("/api/jobs", json={})).status_code == 422
        over = await client.post("/api/jobs", json={"project_description": QUICK})
        assert over.status_code == 429
        assert 1 <= int(over.headers["retry-after"]) <= 20  # 3 a minute: one every 20 s
        assert "too many job creations" in over.json()["detail"]
        assert "try again in" in over.json()["detail"]
        # Reading is not limited, and the refused job was not created.
        listed = await client.get("/api/jobs")
        assert listed.status_code == 200 and listed.headers["x-total-count"] == "1"

    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with limited.client(transport=other) as neighbour:
        created = await neighbour.post("/api/jobs", json={"project_description": QUICK})
        assert created.status_code == 201, created.text
        await asyncio.wait_for(
            read_all(neighbour, f"/api/jobs/{created.json()['job_id']}/stream"), 120
        )


async def test_a_body_that_is_not_utf8_is_422_like_other_invalid_json(server: ApiServer) -> None:
    # Found by schemathesis: FastAPI answers an undecodable body with an undocumented 400.
    async with server.client(headers=AUTH) as client:
        answer = await client.post(
            "/api/jobs", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "body", "message": "invalid JSON: cannot decode it as UTF-8 text"}
    ]
