"""The HTTP API: FastAPI app factory, one router per resource, SSE event streams, metrics."""

from orchestrator.api.app import create_app
from orchestrator.api.config import ApiSettings, check_bind, is_loopback

__all__ = ["ApiSettings", "check_bind", "create_app", "is_loopback"]
