"""Building the store's async engine from a URL, and bringing its schema to the head revision.

SQLite is the default: one file that a CLI process and a server process may open at the
same time, so every connection runs in WAL mode (readers never block the one writer) with
a generous busy timeout (a writer waits for the other process instead of failing).

PostgreSQL: the URL's libpq `options` (session settings such as
idle_in_transaction_session_timeout, which ends the session of a process frozen inside a
transaction and so frees the rows it locked) reach the server with every connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from orchestrator.errors import InvalidInput

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# Key of the PostgreSQL advisory lock that serialises migrations of concurrent processes.
_MIGRATION_LOCK_KEY = 0x6F726368  # "orch"

_SQLITE_PRAGMAS = (
    "busy_timeout = 30000",
    "journal_mode = WAL",
    # Safe in WAL mode: a crash of the process loses nothing; only an OS crash may lose
    # the last commits. It removes an fsync from every commit on the hot event path.
    "synchronous = NORMAL",
    "foreign_keys = ON",
)


def async_url(url: str) -> URL:
    """Parse `url` and pin the async driver: sqlite+aiosqlite or postgresql+asyncpg."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise InvalidInput(f"invalid database URL: {e}") from e
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise InvalidInput(f"unsupported database {backend!r}: use sqlite or postgresql")


def is_transient(error: BaseException) -> bool:
    """Whether a failed database operation may succeed if tried again: the database was
    busy or locked, no pooled connection came free in time, or the connection was lost."""
    if isinstance(error, PoolTimeout | OperationalError | InterfaceError | ConnectionError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def create_engine(url: URL) -> AsyncEngine:
    """One engine per Store. The caller disposes of it."""
    if url.get_backend_name() != "sqlite":
        url, server_settings = _startup_options(url)
        return create_async_engine(
            url, pool_pre_ping=True, connect_args={"server_settings": server_settings}
        )
    if _is_sqlite_memory(url):
        # Every new connection to ":memory:" would be a new, empty database.
        engine = create_async_engine(url, poolclass=StaticPool)
    else:
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    return engine


def _startup_options(url: URL) -> tuple[URL, dict[str, str]]:
    """The URL without libpq's `options` query parameter (asyncpg takes no such argument),
    and the startup parameters that send it to the server as libpq would: its `-c name=value`
    settings (e.g. the idle-in-transaction timeout config.py adds) apply to every session."""
    options = url.query.get("options")
    if not options:
        return url, {}
    return url.difference_update_query(["options"]), {"options": str(options)}


def _set_sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (there is no alembic.ini).

    A new revision, from a connection to a database at head, inside `conn.run_sync`:
    `command.revision(alembic_config(sync_conn), "message", autogenerate=True)`; then
    review and edit it by hand (tests/test_store.py checks it matches tables.py).
    """
    config = Config()
    # Config values go through configparser interpolation: escape "%".
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Run every pending migration, once, even when several processes open the store at once."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # Take the write lock before alembic reads its version table: a second process
            # waits here, then finds the schema already at head. (SQLite DDL is not run in
            # a transaction by default, so without this both would create the tables.)
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        await conn.run_sync(_upgrade_sync)
        await conn.commit()


def _upgrade_sync(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
