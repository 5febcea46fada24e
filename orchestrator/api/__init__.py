"""The HTTP API: FastAPI app factory, one router per resource, SSE event streams, metrics.

`create_app` is imported on first use: the HTTP client imports `orchestrator.api.schemas`,
and must not pull in the server (the runtime, DBOS, the providers) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.api.config import ApiSettings, check_bind, is_loopback

if TYPE_CHECKING:
    from orchestrator.api.app import create_app

__all__ = ["ApiSettings", "check_bind", "create_app", "is_loopback"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from orchestrator.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
