"""How long any process waits for PostgreSQL, and what it does when the database goes silent.

A partition that refuses nothing (a dropped route, a hung server or proxy) is the hard case:
the server never answers, so its own statement_timeout never fires, and psycopg on its own
waits for an answer for ever. Here every wait has a bound on the client side:

* opening a connection: `connect_timeout` (libpq's minimum is 2 s);
* a free connection from the process's pool: `pool_timeout`;
* every answer (a statement, a fetch, a commit, a rollback, the pool's ping):
  `answer_timeout`, enforced by psycopg's own wait loop (BoundedConnection.wait). When it
  expires the connection is closed at once (a reset: what it had not sent yet is dropped)
  and an OperationalError raised, which SQLAlchemy treats as a lost connection;
* TCP keepalives and tcp_user_timeout, so that the kernel, too, gives up on a peer that no
  longer acknowledges anything (this bounds the roles without an answer timeout).

The server gets its own limits in the connection's start-up packet (no extra round trip):
statement_timeout, lock_timeout and idle_in_transaction_session_timeout.

After a silence, the process stops asking for `backoff` seconds: every attempt meanwhile fails
at once (503 on the web; a task re-queued later), then one attempt tries again. Without that,
each request would wait its full bound in turn, and a web server with a few workers would
queue the requests it cannot answer until the clients time out.

Three roles, each with its own bounds (see `for_role`; README "Configuration"):
web (API requests short, staff pages longer: `set_answer_timeout`), worker, and long (the
trainer, migrations and the command line: no statement limit, only the network bounds).
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from service.config import env_number

log = logging.getLogger(__name__)

WEB, WORKER, LONG = "web", "worker", "long"

# Dead peers, seen by the kernel: an idle connection is probed after 10 s, every 5 s, and
# dropped after 3 unanswered probes; data left unacknowledged for 10 s drops it too.
_NETWORK = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
            "keepalives_count": 3, "tcp_user_timeout": 10_000}
# A session idle inside a transaction (its client gone silent mid-transaction) holds its
# locks; the server ends it after this long.
IDLE_IN_TRANSACTION_SECONDS = 60
# The client waits this much longer than the server's statement_timeout, so that a statement
# that is merely slow ends with the server's own error, not a dropped connection.
GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class DbBounds:
    """Seconds; 0 means no limit."""

    connect_timeout: float = 2.0
    pool_timeout: float = 2.0
    # The server's limits for one statement and for one lock wait.
    statement_timeout: float = 0.0
    lock_timeout: float = 0.0
    idle_in_transaction_timeout: float = 0.0
    # The client's limit for one answer from the server, unless set_answer_timeout says
    # otherwise for the work at hand.
    answer_timeout: float = 0.0
    # After a silence, how long this process answers "unavailable" without trying.
    backoff: float = 0.0

    @classmethod
    def for_role(cls, role: str) -> DbBounds:
        connect = max(2.0, env_number("VIMOD_DB_CONNECT_TIMEOUT", 2.0))
        pool = env_number("VIMOD_DB_POOL_TIMEOUT", 2.0)
        backoff = env_number("VIMOD_DB_BACKOFF_SECONDS", 2.0)
        if role == WEB:
            api = env_number("VIMOD_DB_TIMEOUT", 2.0)
            # Staff pages' statements may run this long on the server (set_answer_timeout
            # raises the client's wait for them); the API's are cut at `api` by the client.
            staff = env_number("VIMOD_DB_STAFF_TIMEOUT", 20.0)
            return cls(connect, pool, statement_timeout=staff, lock_timeout=api,
                       idle_in_transaction_timeout=IDLE_IN_TRANSACTION_SECONDS,
                       answer_timeout=api, backoff=backoff)
        if role == WORKER:
            work = env_number("VIMOD_DB_WORKER_TIMEOUT", 10.0)
            return cls(connect, pool, statement_timeout=work, lock_timeout=work,
                       idle_in_transaction_timeout=IDLE_IN_TRANSACTION_SECONDS,
                       answer_timeout=work + GRACE_SECONDS if work else 0.0, backoff=backoff)
        if role == LONG:
            return cls(connect, pool)
        raise ValueError(f"unknown database role {role!r}")

    def staff_answer_timeout(self) -> float:
        """The client's wait for a staff page's statement: the server's limit, and a little."""
        return self.statement_timeout + GRACE_SECONDS if self.statement_timeout else 0.0

    def connect_args(self) -> dict[str, Any]:
        """psycopg's connection parameters for these bounds."""
        args: dict[str, Any] = {"connect_timeout": int(self.connect_timeout), **_NETWORK}
        server = [("statement_timeout", self.statement_timeout),
                  ("lock_timeout", self.lock_timeout),
                  ("idle_in_transaction_session_timeout", self.idle_in_transaction_timeout)]
        options = " ".join(f"-c {name}={int(seconds * 1000)}" for name, seconds in server
                           if seconds)
        if options:
            args["options"] = options
        return args


# The answer timeout for the work at hand, when it differs from the engine's (a staff page's
# longer statements); None: the engine's own.
_answer_timeout: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "vimod_db_answer_timeout", default=None)


def set_answer_timeout(seconds: float | None) -> None:
    """From now on in this thread (or task): wait this long for each answer (0: no limit;
    None: the engine's own bound)."""
    _answer_timeout.set(seconds)


class DatabaseSilent(psycopg.OperationalError):  # noqa: N818 - the driver's error, as SQLAlchemy expects
    """The database did not answer within its bound (or did not a moment ago)."""


# psycopg's own timeout of a wait (internal, raised by Connection.wait(timeout=) since 3.3;
# an OperationalError): converted to DatabaseSilent here.
_WAIT_TIMEOUT = psycopg.errors._WaitTimeout


def connection_class(bounds: DbBounds) -> type[psycopg.Connection]:
    """A psycopg Connection class that enforces `bounds` (one per engine: the circuit state
    is the engine's, i.e. the process's)."""
    class Circuit:
        # monotonic time until which the database is not asked (after a silence)
        open_until = 0.0

        @classmethod
        def check(cls) -> None:
            if bounds.backoff and time.monotonic() < cls.open_until:
                raise DatabaseSilent("the database did not answer a moment ago; not asking again "
                             f"for up to {bounds.backoff:g} s")

        @classmethod
        def trip(cls, what: str) -> None:
            if bounds.backoff:
                cls.open_until = time.monotonic() + bounds.backoff
            log.debug("database silent (%s)", what)

    class BoundedConnection(psycopg.Connection):
        circuit = Circuit

        @classmethod
        def connect(cls, *args: Any, **kwargs: Any):  # noqa: ANN206
            Circuit.check()
            try:
                return super().connect(*args, **kwargs)
            except psycopg.errors.ConnectionTimeout as exc:
                Circuit.trip("connect")
                raise DatabaseSilent(f"no connection within {bounds.connect_timeout:g} s") from exc

        def wait(self, gen, interval: float = 0.1, timeout: float | None = None):  # noqa: ANN001, ANN201
            if Circuit.open_until and bounds.backoff:
                try:
                    Circuit.check()
                except DatabaseSilent:
                    gen.close()
                    _abort(self)
                    raise
            if timeout is None:
                override = _answer_timeout.get()
                limit = bounds.answer_timeout if override is None else override
                timeout = limit or None
            try:
                return super().wait(gen, interval=interval, timeout=timeout)
            except _WAIT_TIMEOUT as exc:
                Circuit.trip("answer")
                _abort(self)
                raise DatabaseSilent(f"no answer from the database within {timeout:g} s") from exc

    return BoundedConnection


def _abort(conn) -> None:  # noqa: ANN001
    """Close the connection now, with a reset rather than a goodbye: a query still in the
    send buffer (a partition, not a slow server) is dropped instead of being delivered and
    run once the network heals, long after its client was told it failed."""
    try:
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            sock.close()
    except Exception:  # noqa: BLE001 - already closed: nothing to reset
        pass
    conn.pgconn.finish()
    conn.close()
