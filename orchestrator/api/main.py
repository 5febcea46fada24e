"""`uvicorn orchestrator.api.main:app`: the app built from the environment (`ORCH_*`, .env).

`orchestrator serve` is the fuller way to run it (a stable worker id). Started by the
`uvicorn` command, this module reads the address it was told to bind and refuses, as
`serve` does, anything beyond loopback without ORCH_API_TOKEN; however it is started, the
app answers only to its loopback names without a token (api/hosts.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from fastapi import FastAPI

from orchestrator.api.app import create_app
from orchestrator.api.config import ApiSettings, check_bind
from orchestrator.config import Settings
from orchestrator.errors import InvalidInput


def uvicorn_host(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The address the `uvicorn` command (or `python -m uvicorn`) binds; None when this
    process is not that command or binds a socket it was given (`--fd`, `--uds`)."""
    program = Path(argv[0]) if argv else Path()
    if program.name != "uvicorn" and program.parent.name != "uvicorn":
        return None
    host = environ.get("UVICORN_HOST", "127.0.0.1")
    for i, arg in enumerate(argv):
        if arg in ("--fd", "--uds") or arg.startswith(("--fd=", "--uds=")):
            return None
        if arg == "--host" and i + 1 < len(argv):
            host = argv[i + 1]
        elif arg.startswith("--host="):
            host = arg.removeprefix("--host=")
    return host


def _build() -> FastAPI:
    api = ApiSettings()
    host = uvicorn_host(sys.argv, os.environ)
    if host is not None:
        try:
            check_bind(host, api)
        except InvalidInput as e:
            raise SystemExit(f"error: {e}") from None
    return create_app(Settings(), api=api)


app = _build()
