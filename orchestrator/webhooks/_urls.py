"""Which webhook URLs the orchestrator will call: http(s) only, and by default no address
on this machine or its private networks (a job's `notify_url` must not reach what only the
server can reach). ORCH_WEBHOOK_ALLOW_PRIVATE lifts the second rule."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from orchestrator.errors import InvalidInput, UnusableInput

MAX_URL_CHARS = 2048


def check_form(url: str) -> str:
    """The URL if it is an absolute http(s) URL of a sane length; InvalidInput if not."""
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"a webhook URL may have at most {MAX_URL_CHARS} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"a webhook URL must be http:// or https:// with a host, not {url!r}")
    return url


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


async def check_reachable(url: str, *, allow_private: bool) -> None:
    """Refuse a URL whose host is, or resolves to, a loopback, private, link-local or
    otherwise non-public address (unless `allow_private`)."""
    check_form(url)
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError as e:
        raise UnusableInput(f"webhook host {host!r} cannot be resolved: {e}") from None
    if any(_private(str(info[4][0])) for info in found):
        raise UnusableInput(
            f"webhook host {host!r} is a private or local address; set "
            "ORCH_WEBHOOK_ALLOW_PRIVATE=true to allow it"
        )


def shown(url: str) -> str:
    """The URL as responses and logs show it: no credentials, query or fragment (receivers
    often carry a token there)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
