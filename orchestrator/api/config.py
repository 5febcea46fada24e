"""Settings of the HTTP layer only (same `ORCH_` environment and `.env` as `Settings`).

Kept beside the API because only the server reads them; `Settings` ignores these keys.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from orchestrator.errors import InvalidInput

DEFAULT_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORCH_", env_file=".env", extra="ignore")

    # When set, every /api call (the event stream too) and /metrics need
    # `Authorization: Bearer <token>` or the session cookie of `POST /api/session`.
    api_token: SecretStr | None = None
    # How long a dashboard login lasts (the cookie's lifetime, checked by the server too).
    session_ttl_s: float = Field(default=12 * 3600, ge=60, le=30 * 24 * 3600)
    # Job creations per minute per client address (token bucket, burst = one minute's worth);
    # 0 turns the limit off. In-process: each worker counts its own requests.
    create_rate_per_min: float = Field(default=300, ge=0)
    cors_origins: list[str] = Field(default_factory=lambda: list(DEFAULT_ORIGINS))
    # Without a token the server answers only to Host headers of its loopback names
    # (api/hosts.py); ORCH_ALLOWED_HOSTS adds names, comma-separated: "name" or "name:port".
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Keep-alive comments on idle event streams: proxies drop silent connections.
    sse_ping_s: float = Field(default=15.0, gt=0, le=15)
    # How often a stream re-reads the store when nothing woke it (events written by
    # another process: a CLI run or another worker).
    sse_poll_s: float = Field(default=1.0, gt=0, le=10)
    # How long DELETE waits for a running job to stop after cancelling it.
    delete_timeout_s: float = Field(default=30.0, gt=0)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @property
    def token(self) -> str | None:
        return self.api_token.get_secret_value() if self.api_token else None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api: ApiSettings) -> None:
    """Refuse to expose the API beyond this machine without a token (DESIGN §8)."""
    if not is_loopback(host) and not api.token:
        raise InvalidInput(
            f"refusing to listen on {host}: the API would be reachable from other machines "
            "without authentication. Set ORCH_API_TOKEN (clients then send "
            "'Authorization: Bearer <token>'), or bind 127.0.0.1"
        )
