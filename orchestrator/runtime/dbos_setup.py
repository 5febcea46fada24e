"""DBOS's configuration: its system database (where it records workflows and steps) and pools.

On SQLite DBOS opens the file in rollback-journal mode at full synchronous, so each of the
few commits it makes per LLM call creates, syncs and deletes a journal file. We hand it an
engine of our own on the same file in WAL mode at NORMAL synchronous (as the store's own
file: a process crash loses nothing, only an OS crash may lose the last commits), with the
connection settings DBOS gives its own: IMMEDIATE transactions (writers serialised up
front), a 30 s busy timeout, foreign keys on.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from dbos import DBOSConfig

from orchestrator.config import Settings

_SQLITE_PRAGMAS = ("busy_timeout = 30000", "foreign_keys = ON", "synchronous = NORMAL")
# DBOS's own default: a file has no connection slots to share with other processes, unlike
# PostgreSQL (ORCH_DBOS_POOL_SIZE), and a server runs many jobs' steps at once.
SQLITE_POOL_SIZE = 20


def dbos_config(settings: Settings, executor_id: str) -> DBOSConfig:
    config: DBOSConfig = {
        "name": "orchestrator",
        "system_database_url": settings.dbos_url,
        "application_version": settings.application_version,
        "executor_id": executor_id,
        "log_level": "WARNING",
        "sys_db_pool_size": settings.dbos_pool_size,
    }
    if settings.dbos_url.startswith("sqlite"):
        config["system_database_engine"] = sqlite_system_engine(settings.dbos_url)
    return config


def sqlite_system_engine(url: str, pool_size: int = SQLITE_POOL_SIZE) -> sa.Engine:
    """DBOS's SQLite system database in WAL mode (see the module docstring), pooled as
    DBOS pools its own (it lets half the pool poll for workflow results), without its ping
    at each checkout: a connection to a file is never dropped by a server."""
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=30)

    @sa.event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = "IMMEDIATE"
        for pragma in _SQLITE_PRAGMAS:
            dbapi_connection.execute(f"PRAGMA {pragma}")

    with engine.connect() as conn:  # the mode is kept in the file, for every connection
        conn.exec_driver_sql("PRAGMA journal_mode = WAL")
    return engine
