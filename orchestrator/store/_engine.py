"""Building the store's async engine from a URL, and bringing its schema to the head revision.

SQLite is the default: one file that a CLI process and a server process may open at the
same time, so every connection runs in WAL mode (readers never block the one writer) with
a generous busy timeout (a writer waits for the other process instead of failing).

PostgreSQL: the URL's libpq `options` (session settings such as
idle_in_transaction_session_timeout, which ends the session of a process frozen inside a
transaction and so frees the rows it locked) reach the server with every connection, named
"orchestrator" in pg_stat_activity unless the URL's `application_name` says otherwise. The
pool is small (several worker processes share one server's connection slots) unless the
URL's `pool_size` and `max_overflow` query parameters size it (config.py's
ORCH_STORE_POOL_SIZE and ORCH_STORE_MAX_OVERFLOW put them there).
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

# The store's pool on PostgreSQL when its URL does not size it (config.py's defaults). A worker
# running a dozen simulated jobs of three tasks at once keeps 15 connections busy if let, but
# finishes them no slower with 8: each is held for a short transaction, and a coroutine
# waiting for one costs nothing but the wait.
POOL_SIZE = 4
MAX_OVERFLOW = 4
APPLICATION_NAME = "orchestrator"

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


# PostgreSQL's errors (SQLSTATE, Appendix A of its manual) that another try may not meet.
# asyncpg's errors reach SQLAlchemy as the plain DBAPIError whatever they were, so the code,
# not the class, tells them apart.
RETRYABLE_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected: the server rolled this transaction back to end one
        "55P03",  # lock_not_available: a lock timeout ran out
        "53300",  # too_many_connections: every slot of the server (shared by all) was taken
        "57P01",  # admin_shutdown: the session was ended (a restart, pg_terminate_backend)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: the server is starting or in recovery
        "25P03",  # idle_in_transaction_session_timeout: the session ended, not the database
    }
)
_CONNECTION_EXCEPTION = "08"  # the class of a connection that failed or was refused


def is_transient(error: BaseException) -> bool:
    """Whether a failed database operation may succeed if tried again: the database was
    busy or locked, it ended the transaction to break a deadlock or a serialization
    conflict, it had no connection slot free, no pooled connection came free in time, or
    the connection was lost."""
    if isinstance(error, PoolTimeout | OperationalError | InterfaceError | ConnectionError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    code = sqlstate(error)
    return code is not None and (
        code in RETRYABLE_SQLSTATES or code.startswith(_CONNECTION_EXCEPTION)
    )


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error, raised by its driver or wrapped by SQLAlchemy
    (asyncpg's and psycopg's errors both carry it); None for any other error."""
    for candidate in (error, getattr(error, "orig", None)):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def create_engine(url: URL) -> AsyncEngine:
    """One engine per Store. The caller disposes of it."""
    if url.get_backend_name() != "sqlite":
        url, pool_size, max_overflow = _pool_options(url)
        url, server_settings = _startup_options(url)
        return create_async_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args={"server_settings": server_settings},
        )
    if _is_sqlite_memory(url):
        # Every new connection to ":memory:" would be a new, empty database.
        engine = create_async_engine(url, poolclass=StaticPool)
    else:
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    return engine


def _pool_options(url: URL) -> tuple[URL, int, int]:
    """The URL without its `pool_size` and `max_overflow` query parameters (asyncpg would
    take them for its own arguments), and the pool they size."""
    sizes = []
    for name, default in (("pool_size", POOL_SIZE), ("max_overflow", MAX_OVERFLOW)):
        value = url.query.get(name, str(default))
        try:
            size = int(str(value))
        except ValueError:
            size = -1
        if size < (1 if name == "pool_size" else 0):
            raise InvalidInput(f"invalid database URL: {name}={value!r} is not a valid size")
        sizes.append(size)
    return url.difference_update_query(["pool_size", "max_overflow"]), sizes[0], sizes[1]


def _startup_options(url: URL) -> tuple[URL, dict[str, str]]:
    """The URL without libpq's `options` and `application_name` query parameters (asyncpg
    takes neither as an argument), and the startup parameters that send them to the server as
    libpq would: `options`' `-c name=value` settings (e.g. the idle-in-transaction timeout
    config.py adds) apply to every session; the name tells our sessions from DBOS's."""
    settings = {"application_name": APPLICATION_NAME}
    for name in ("options", "application_name"):
        if value := url.query.get(name):
            settings[name] = str(value)
    return url.difference_update_query(["options", "application_name"]), settings


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
