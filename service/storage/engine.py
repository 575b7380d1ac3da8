"""Engine and session set-up shared by the web app, the workers and the CLI."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.storage.bounds import LONG, DbBounds, connection_class


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the web processes read while a worker writes; busy_timeout makes
    # concurrent writers wait instead of failing with "database is locked".
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str, role: str = LONG, **kwargs) -> Engine:
    """`role` (service/storage/bounds.py) sets how long a process waits for PostgreSQL:
    "web" and "worker" bound every statement, "long" (the default: the trainer, migrations,
    the command line, tests) only the connection and the network."""
    bounds = DbBounds.for_role(role)
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15}, hide_parameters=True,
                               **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs.setdefault("pool_timeout", bounds.pool_timeout)
    # hide_parameters: a failed statement's logged error must not carry comment text,
    # e-mail addresses or a site's webhook secret.
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True,
                           connect_args=bounds.connect_args(), **kwargs)
    connection = connection_class(bounds)

    @event.listens_for(engine, "do_connect")
    def _bounded_connect(_dialect, _record, cargs, cparams):  # noqa: ANN001, ANN202
        return connection.connect(*cargs, **cparams)

    engine.vimod_bounds = bounds  # type: ignore[attr-defined]
    return engine


def engine_bounds(engine: Engine) -> DbBounds | None:
    """The bounds a PostgreSQL engine was made with (None for SQLite)."""
    return getattr(engine, "vimod_bounds", None)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
