"""Host and Origin checks for a server without a token: a web page cannot drive it.

DNS rebinding: a page of `attacker.example` has its name re-pointed at 127.0.0.1, and the
browser, believing it talks to attacker.example, sends requests (and reads the answers) to
this server. Those requests still say `Host: attacker.example:<port>`. Without a token, the
server therefore answers only requests whose Host is one of its loopback names (localhost,
127.0.0.1, [::1]) or an `ORCH_ALLOWED_HOSTS` entry, with its own port (400 otherwise), on
every route: the API, the event stream, the dashboard, /metrics.

A page of another origin may also send a request straight to http://127.0.0.1:<port>
(forms and `fetch` in no-cors mode send POSTs without asking): the browser names it in
`Origin`. State-changing requests (anything but GET, HEAD, OPTIONS) whose Origin is neither
the server's own nor one of `ORCH_CORS_ORIGINS` (the dashboard's dev server) get 403. A
request without Origin (curl, the CLI, scripts) is not a browser's cross-origin request.

With ORCH_API_TOKEN set the token decides, as before: these checks do not apply.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from orchestrator.api.config import ApiSettings

__all__ = ["HostOriginGuard", "host_allowed", "split_host"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def split_host(value: str) -> tuple[str, int | None]:
    """`name[:port]` (IPv6 in brackets) as (lower-case name, port or None); a malformed
    port gives port -1, which matches nothing."""
    value = value.strip().lower()
    name, sep, port = value.rpartition(":")
    if not sep or name.endswith(":") or (value.startswith("[") and not name.endswith("]")):
        return value, None  # no port (or a bare IPv6 address, which needs brackets)
    return name, int(port) if port.isdigit() else -1


def host_allowed(host: str, *, port: int | None, extra: list[str]) -> bool:
    """Whether a Host header names this server: a loopback name or an `extra` entry
    ("name" for any port, "name:port" for that one), and when it gives a port, ours."""
    name, given = split_host(host)
    if not name:
        return False
    for entry in extra:
        entry_name, entry_port = split_host(entry)
        if entry_name == name and (entry_port is None or entry_port == given):
            return True
    return name in LOOPBACK_NAMES and (given is None or port is None or given == port)


class HostOriginGuard:
    """ASGI middleware answering 400 to a foreign Host and 403 to a state-changing request
    of a foreign Origin, when the server has no token (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, api: ApiSettings) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.api.token:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        server = scope.get("server")
        port = server[1] if server else None
        if not host_allowed(host, port=port, extra=self.api.allowed_hosts):
            if scope["type"] == "websocket":  # closed before accepting: an HTTP 403
                await send({"type": "websocket.close", "code": 1008})
                return
            why = (
                f"this server answers only to its own names: Host {host!r} is not one. "
                "Add it to ORCH_ALLOWED_HOSTS, or set ORCH_API_TOKEN"
            )
            await _answer(send, 400, why)
            return
        origin = headers.get(b"origin")
        method = scope.get("method", "GET")
        if origin is not None and method not in SAFE_METHODS:
            allowed = {f"{scheme}://{host.lower()}" for scheme in ("http", "https")}
            allowed.update(o.rstrip("/").lower() for o in self.api.cors_origins)
            text = origin.decode("latin-1").rstrip("/").lower()
            if text not in allowed or not urlsplit(text).hostname:
                await _answer(send, 403, f"requests from the page at {text!r} are refused")
                return
        await self.app(scope, receive, send)


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
