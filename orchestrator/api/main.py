"""`uvicorn orchestrator.api.main:app`: the app built from the environment (`ORCH_*`, .env).

`orchestrator serve` is the fuller way to run it (host checks, a stable worker id).
"""

from orchestrator.api.app import create_app
from orchestrator.config import Settings

app = create_app(Settings())
