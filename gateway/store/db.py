"""Open the store: SQLite under the data directory by default, PostgreSQL by DATABASE_URL.

Migrations run on open (Alembic), so every command starts on the current schema and upgrades keep
data. SQLite runs in WAL with synchronous=FULL: a committed message survives power loss.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class Store:
    engine: Engine
    session: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


def rowcount(result: Any) -> int:
    """Rows an UPDATE touched: how a conditional update tells whether this worker won the claim."""
    return int(result.rowcount)


def normalise_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'frontdesk.db').resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _serialise_sqlite_writers(engine: Engine, database: Path) -> None:
    """Queue writers on an flock instead of SQLite's busy handler.

    SQLite lets one writer in at a time; the others sleep in growing steps (1, 2, 5 ... 100 ms) and
    retry, so a few processes writing at once (the SMTP listener and the workers) spend most of
    their time asleep. An exclusive flock taken before a connection's first write and released at
    commit or rollback makes the next writer wake the moment the lock is free. Every connection
    opens the lock file itself, so threads of one process queue too.
    """
    lock_path = str(database) + ".writelock"

    def connect(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["lock_fd"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        record.info["locked"] = False

    def close(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        fd = record.info.pop("lock_fd", None)
        if fd is not None:
            os.close(fd)

    def before_execute(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        info = conn.connection._connection_record.info if conn.connection._connection_record else {}
        if not info.get("locked") and statement.lstrip()[:7].upper().startswith(_DML) and "lock_fd" in info:
            fcntl.flock(info["lock_fd"], fcntl.LOCK_EX)
            info["locked"] = True

    def release(conn) -> None:  # type: ignore[no-untyped-def]
        record = conn.connection._connection_record if conn.connection is not None else None
        if record is not None and record.info.get("locked"):
            record.info["locked"] = False
            fcntl.flock(record.info["lock_fd"], fcntl.LOCK_UN)

    event.listen(engine, "connect", connect)
    event.listen(engine.pool, "close", close)
    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "commit", release)
    event.listen(engine, "rollback", release)


def open_store(url: str, *, migrate: bool = True) -> Store:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        if engine.url.database and engine.url.database != ":memory:":
            _serialise_sqlite_writers(engine, Path(engine.url.database))
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)
    if migrate:
        upgrade(engine)
    return Store(engine=engine, session=sessionmaker(engine, expire_on_commit=False))


def upgrade(engine: Engine) -> None:
    """Bring the schema to head; safe to call from several processes at once on PostgreSQL."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(4711)"))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
