"""Settings from the environment / `.env`, and the model catalog file.

Both are built once at start-up (CLI or app factory) and passed down; nothing here is global.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from orchestrator.domain import Role, TaskType
from orchestrator.errors import CatalogError, InvalidInput
from orchestrator.webhooks import check_form

DEFAULT_CATALOG = Path(__file__).with_name("catalog.yaml")
# How generated code is isolated (engine/sandbox_choice.py): the strongest backend
# available, one that must be, or none.
SandboxMode = Literal["auto", "require", "bubblewrap", "landlock", "none"]
# How an OpenAI-compatible endpoint is asked for structured output (providers/output_modes.py).
OutputSetting = Literal["auto", "json_schema", "json_object", "tool", "prompted"]


class FaultRates(BaseModel):
    """Probabilities of the simulator's injected faults, per call."""

    rate_limit: float = Field(default=0.0, ge=0, le=1)
    server_error: float = Field(default=0.0, ge=0, le=1)
    timeout: float = Field(default=0.0, ge=0, le=1)
    malformed: float = Field(default=0.0, ge=0, le=1)
    # Not per call: the share of projects whose code files the simulator first writes with a
    # bug their tests catch (ORCH_SIM_FAULTS__BUG); a fix round's answer repairs it.
    bug: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _at_most_one(self) -> FaultRates:
        total = self.rate_limit + self.server_error + self.timeout + self.malformed
        if total > 1:
            raise ValueError(f"fault rates add up to {total:g}; at most 1 is possible")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ORCH_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Path(".orchestrator")
    database_url: str | None = None
    catalog_path: Path = DEFAULT_CATALOG
    log_level: str = "INFO"

    # The simulator: latency multiplier (0 = instant), seed, injected fault rates.
    sim_latency_scale: float = Field(default=1.0, ge=0)
    sim_seed: int = 7
    sim_faults: FaultRates = FaultRates()
    # Append one line per simulated call as it starts (a stand-in for a provider's usage log).
    sim_billing_log: Path | None = None

    # LLM providers. A provider is configured when its key is set (the OpenAI-compatible one:
    # its base URL); with none configured the offline simulator answers every model. Keys use
    # the vendors' own variable names (no ORCH_ prefix); a field name matches its variable
    # case-insensitively, so `openai_api_key` reads OPENAI_API_KEY. Keys are SecretStr: never
    # printed, logged or returned.
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("anthropic_api_key")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("openai_api_key")
    )
    # GEMINI_API_KEY, else GOOGLE_API_KEY.
    gemini_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("gemini_api_key", "google_api_key")
    )
    deepseek_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("deepseek_api_key")
    )
    # MOONSHOT_API_KEY, else MOONSHOTAI_API_KEY (the name pydantic-ai reads).
    moonshot_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("moonshot_api_key", "moonshotai_api_key")
    )
    openrouter_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("openrouter_api_key")
    )
    # Any OpenAI-compatible endpoint (Ollama, vLLM, LM Studio): ORCH_OPENAI_COMPAT_BASE_URL,
    # e.g. http://127.0.0.1:11434/v1, and ORCH_OPENAI_COMPAT_API_KEY if it wants one.
    openai_compat_base_url: str | None = None
    openai_compat_api_key: SecretStr | None = None
    # ORCH_OPENAI_COMPAT_OUTPUT: how it is asked for structured output; `auto` finds out.
    openai_compat_output: OutputSetting = "auto"
    # The context window of its models when neither the catalog nor the server tells.
    openai_compat_context_tokens: int | None = Field(default=None, ge=256)
    # Base-URL overrides (ORCH_<PROVIDER>_BASE_URL): a proxy, a gateway, or a test server.
    anthropic_base_url: str | None = None
    openai_base_url: str | None = None
    gemini_base_url: str | None = None
    deepseek_base_url: str | None = None
    moonshot_base_url: str | None = None
    openrouter_base_url: str | None = None

    # A job whose forecast's high end is above this stops for plan review even when it did not
    # ask for one (ORCH_REVIEW_ABOVE_USD; a job's own max_forecast_usd takes precedence).
    review_above_usd: float | None = Field(default=None, gt=0)
    # When a project's tests fail on its assembled tree after the last task: at most this many
    # fix rounds, each a code task, inside the budget (ORCH_FIX_ROUNDS; 0: none).
    fix_rounds: int = Field(default=2, ge=0, le=10)

    call_timeout_s: float = Field(default=120.0, gt=0)
    call_retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.5, ge=0)
    # A model's circuit breaker, once open, lets a probe call through after this long.
    breaker_cooldown_s: float = Field(default=30.0, gt=0)

    # Isolation of generated code (ORCH_SANDBOX): auto | require | bubblewrap | landlock |
    # none; and the bubblewrap program (ORCH_SANDBOX_BWRAP: a name on PATH or a path).
    sandbox: SandboxMode = "auto"
    sandbox_bwrap: str = "bwrap"

    # DBOS: a stable id per worker process (recovery picks up this id's unfinished workflows).
    executor_id: str = "local"
    application_version: str = "orchestrator-1"
    # How often a worker looks for queued jobs (a new job starts within it), and a job for the
    # end of a task workflow running in another process (after a recovery); its own task
    # workflows are awaited directly. Each look at the queue builds a few DBOS queries, whose
    # garbage at 20 looks a second was most of what the collector had to do.
    queue_poll_interval_s: float = Field(default=0.25, gt=0)
    # Scale-out: workers (`serve`, `worker`) take jobs from one shared queue. The most jobs
    # one worker runs at once (unset: its fair share, runtime/workers.py); the same for all.
    worker_jobs: int | None = Field(default=None, ge=1)
    # A worker beats every `worker_heartbeat_s`; one silent for `worker_dead_after_s` is
    # presumed dead and the others take over its unfinished jobs.
    worker_heartbeat_s: float = Field(default=5.0, gt=0)
    worker_dead_after_s: float = Field(default=30.0, gt=0)
    # PostgreSQL connections of a process: DBOS's pool for its system database (a worker's
    # steps, queue and recovery; DBOS lets half of it poll for workflow results), the store's
    # pool (`store_pool_size` kept, `store_max_overflow` more for a burst), and one listening
    # connection each. Small enough that several workers fit in PostgreSQL's default 100
    # connections (README: Scaling out); a process waits for a free one rather than fail.
    dbos_pool_size: int = Field(default=8, ge=2)
    store_pool_size: int = Field(default=4, ge=1)
    store_max_overflow: int = Field(default=4, ge=0)
    pg_idle_in_transaction_timeout_s: float = Field(
        default=10.0,
        ge=0,
        description=(
            "PostgreSQL ends a session of ours (the store's and DBOS's) left idle inside an "
            "open transaction this long, releasing its row locks. A process frozen mid-"
            "transaction (a long pause, a stopped VM) would otherwise hold a job's row until "
            "it wakes, and the worker that takes its jobs over would wait on that lock: keep it "
            "well below ORCH_WORKER_DEAD_AFTER_S. 0: the server's own setting."
        ),
    )

    # Webhooks: every job's events go to ORCH_WEBHOOK_URLS (comma-separated) and to its own
    # notify_url, signed with ORCH_WEBHOOK_SECRET (Standard Webhooks: "whsec_" + base64; none
    # is sent without it). Loopback and private hosts are refused unless allowed.
    webhook_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_secret: SecretStr | None = None
    webhook_allow_private: bool = False
    # A delivery is tried at most this often, waiting webhook_backoff_s × 4ⁿ (at most 6 h,
    # ±20 % jitter, or the receiver's Retry-After) between attempts: about a day in all.
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_backoff_s: float = Field(default=10.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("webhook_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return [check_form(u.strip()) for u in value.split(",") if u.strip()]
        except InvalidInput as e:
            raise ValueError(str(e)) from None

    @property
    def store_url(self) -> str:
        """SQLAlchemy async URL of the orchestrator's own tables."""
        if self.database_url:
            return self._with_store_pool(self._with_session_settings(self.database_url))
        return f"sqlite+aiosqlite:///{(self.data_dir / 'orchestrator.db').resolve()}"

    @property
    def dbos_url(self) -> str:
        """DBOS system database URL (sync driver)."""
        if self.database_url:
            url = self.database_url.replace("+asyncpg", "").replace("+psycopg", "")
            return self._with_session_settings(url)
        return f"sqlite:///{(self.data_dir / 'dbos.sqlite').resolve()}"

    def _with_session_settings(self, url: str) -> str:
        """A PostgreSQL `url` with the session settings every connection of ours gets, as
        libpq's `options` (DBOS's driver reads it; store/_engine.py hands it to asyncpg)."""
        timeout_ms = round(self.pg_idle_in_transaction_timeout_s * 1000)
        try:
            parsed = make_url(url)
        except ArgumentError:
            return url  # opening the store says what is wrong with it
        if parsed.get_backend_name() not in ("postgresql", "postgres") or timeout_ms == 0:
            return url
        options = str(parsed.query.get("options", ""))
        if "idle_in_transaction_session_timeout" in options:
            return url  # the URL's own choice
        options = f"{options} -c idle_in_transaction_session_timeout={timeout_ms}".strip()
        rest = parsed.difference_update_query(["options"]).render_as_string(False)
        # %20, not "+": libpq reads a URI's query percent-decoded only.
        return f"{rest}{'&' if '?' in rest else '?'}options={quote(options, safe='')}"

    def _with_store_pool(self, url: str) -> str:
        """A PostgreSQL `url` with the store's pool size (store/_engine.py reads it), unless
        the URL sizes the pool itself."""
        try:
            parsed = make_url(url)
        except ArgumentError:
            return url
        if parsed.get_backend_name() not in ("postgresql", "postgres"):
            return url
        sizes = {"pool_size": self.store_pool_size, "max_overflow": self.store_max_overflow}
        wanted = {k: str(v) for k, v in sizes.items() if k not in parsed.query}
        rest = "&".join(f"{k}={v}" for k, v in wanted.items())
        return f"{url}{'&' if '?' in url else '?'}{rest}" if rest else url

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @cached_property
    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_path)


class Price(BaseModel):
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


# Where a model is in its provider's lifecycle on a given day (providers/retirement.py):
# retiring = deprecated, served until its retirement date (if it has one); retired = past it.
ModelLifecycle = Literal["current", "retiring", "retired"]


class Deprecation(BaseModel):
    """A catalog entry's own word on a model's retirement, over pydantic-ai's data."""

    retirement_date: date | None = None
    replacement: str | None = None  # the model to use instead
    rerouted_to: str | None = None  # the model the provider answers the old name with
    source_url: str | None = None


class ModelInfo(BaseModel):
    name: str
    provider: str
    price_provider: str | None = None
    quality: float = Field(default=0.85, gt=0, le=1)
    max_output_tokens: int = Field(default=4096, ge=16, le=200_000)
    # Prompt + answer tokens the model can take; None: unknown (the server may tell).
    context_tokens: int | None = Field(default=None, ge=256)
    price: Price | None = None
    # Overrides pydantic-ai's deprecation data (providers/retirement.py); `deprecation: null`
    # says the model is served (e.g. by a proxy that keeps it).
    deprecation: Deprecation | None = None

    @property
    def pricing_provider(self) -> str:
        return self.price_provider or self.provider


class TaskTypePolicy(BaseModel):
    threshold: float = Field(ge=0.5, le=1.0)
    max_iterations: int = Field(ge=1, le=10)
    models: list[str] = Field(min_length=1)


class Catalog(BaseModel):
    models: dict[str, ModelInfo]
    task_types: dict[TaskType, TaskTypePolicy]
    roles: dict[Role, list[str]]

    @model_validator(mode="before")
    @classmethod
    def _name_models(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("models"), dict):
            data = dict(data)
            data["models"] = {
                name: {"name": name, **(spec or {})} for name, spec in data["models"].items()
            }
        return data

    @model_validator(mode="after")
    def _check_references(self) -> Catalog:
        missing_types = set(TaskType) - set(self.task_types)
        if missing_types:
            raise ValueError(f"task types without a policy: {sorted(missing_types)}")
        for role in (Role.DECOMPOSE, Role.CRITIQUE, Role.EVALUATE):
            if not self.roles.get(role):
                raise ValueError(f"role {role} lists no models")
        named = [m for p in self.task_types.values() for m in p.models]
        named += [m for models in self.roles.values() for m in models]
        unknown = sorted({m for m in named if m not in self.models})
        if unknown:
            raise ValueError(f"models used but not defined: {unknown}")
        return self

    def policy(self, task_type: TaskType) -> TaskTypePolicy:
        return self.task_types[task_type]

    def model(self, name: str) -> ModelInfo:
        try:
            return self.models[name]
        except KeyError:
            raise CatalogError(f"model {name!r} is not in the catalog") from None


def load_catalog(path: Path) -> Catalog:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CatalogError(f"cannot read model catalog {path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise CatalogError(f"model catalog {path} is not valid YAML: {e}") from e
    try:
        return Catalog.model_validate(raw)
    except ValidationError as e:
        raise CatalogError(f"model catalog {path} is invalid: {e}") from e
