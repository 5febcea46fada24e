"""Who may call the API when the server has ORCH_API_TOKEN: a bearer header or a session
cookie, both checked in constant time.

The cookie holds no token: it is `<issued epoch s>.<HMAC-SHA256(token, issued)>`, so it expires
on the server's clock (`session_ttl_s`), any worker sharing the token accepts it, a restart
keeps it valid, and changing the token ends every session. It is HttpOnly (page scripts never
see it) and SameSite=Strict (other sites' pages cannot make the browser send it).

There is no `?token=` query parameter, not even for the event stream (whose EventSource
cannot set headers): URLs end up in access logs, proxies and browser history; the dashboard
uses the cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from fastapi import Request, Response

from orchestrator.api.config import ApiSettings
from orchestrator.api.errors import NotAuthenticated

__all__ = ["SESSION_COOKIE", "check_access", "end_session", "start_session", "token_matches"]

SESSION_COOKIE = "orch_session"
NEEDS_TOKEN = (
    "this server needs its API token (ORCH_API_TOKEN): send 'Authorization: Bearer <token>', "
    "or log in with POST /api/session (the dashboard asks for it)"
)


def token_matches(given: str, expected: str) -> bool:
    # Compared as bytes: compare_digest refuses non-ASCII str.
    return secrets.compare_digest(given.encode(), expected.encode())


def _signature(token: str, issued: int) -> str:
    return hmac.new(token.encode(), f"session:{issued}".encode(), hashlib.sha256).hexdigest()


def session_value(token: str, issued: int) -> str:
    return f"{issued}.{_signature(token, issued)}"


def session_valid(value: str, token: str, ttl_s: float, now: float) -> bool:
    issued_text, _, signature = value.partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    if not (issued - 60 <= now <= issued + ttl_s):  # a minute of clock skew between workers
        return False
    return token_matches(signature, _signature(token, issued))


def check_access(api: ApiSettings, bearer: str | None, cookie: str | None) -> None:
    """Raise NotAuthenticated unless the request carries the token or a valid session."""
    expected = api.token
    if expected is None:
        return
    if bearer is not None:
        if token_matches(bearer, expected):
            return
        raise NotAuthenticated("wrong API token")
    if cookie is not None and session_valid(cookie, expected, api.session_ttl_s, time.time()):
        return
    if cookie is not None:
        raise NotAuthenticated("the session has expired or the token changed: log in again")
    raise NotAuthenticated(NEEDS_TOKEN)


def start_session(request: Request, response: Response, api: ApiSettings, given: str) -> None:
    """Set the session cookie if `given` is the server's token; raise NotAuthenticated if not."""
    expected = api.token
    if expected is None:
        return  # nothing to log in to: every request is allowed
    if not token_matches(given, expected):
        raise NotAuthenticated("wrong API token")
    response.set_cookie(
        SESSION_COOKIE,
        session_value(expected, int(time.time())),
        max_age=int(api.session_ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        # Behind TLS (directly or via a proxy that uvicorn trusts) the cookie never goes
        # out over plain HTTP.
        secure=request.url.scheme == "https",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
