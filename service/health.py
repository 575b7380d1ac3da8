"""/healthz (process up), /readyz (database and Redis reachable, each within its own short
timeout; and how long ago the sweeps ran) and /metrics.

/healthz touches neither the database nor Redis (nor does any app-wide hook on its way:
tests/test_db_partition.py answers it with both silent)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from apiflask import APIBlueprint
from flask import Response, current_app
from sqlalchemy import func, select, text

from service import db, metrics, outages
from service.metrics_access import check_scrape_allowed
from service.queueing import QUEUE_MAINTENANCE, QUEUE_MODERATION, sweep_ages
from service.storage import Comment, CommentStatus

bp = APIBlueprint("health", __name__, tag="Operations")

# Each readiness check answers within this long, whatever the database or Redis do.
CHECK_SECONDS = 1.0
# A sweep that has not run for this many intervals is reported late.
SWEEP_LATE_INTERVALS = 3


@bp.get("/healthz")
@bp.doc(summary="The process is up (asks neither the database nor Redis)")
def healthz():  # noqa: ANN201
    return {"status": "ok"}


class _Checks:
    """Runs each check in a thread of its own and waits CHECK_SECONDS for it. A check that
    is still waiting (a silent database) is not started again until it ends: its thread
    ends by itself, within the database's and Redis's own bounds."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")
        self._running: dict[str, Future] = {}
        self._lock = threading.Lock()

    def run(self, name: str, check: Callable[[], object]) -> tuple[str, object]:
        with self._lock:
            future = self._running.get(name)
            if future is None or future.done():
                future = self._running[name] = self._pool.submit(check)
        try:
            return "ok", future.result(timeout=CHECK_SECONDS)
        except FutureTimeout:
            return f"error: no answer within {CHECK_SECONDS:g} s", None
        except Exception as exc:  # noqa: BLE001
            return f"error: {type(exc).__name__}", None


_checks: _Checks | None = None


def _checker() -> _Checks:
    global _checks
    if _checks is None or _checks._pid != os.getpid():  # threads do not survive a fork
        _checks = _Checks()
    return _checks


def _sweep_report(ages: dict[str, float | None]) -> dict[str, dict]:
    late_after = SWEEP_LATE_INTERVALS * current_app.config["SWEEP_INTERVAL"]
    report = {}
    for name, age in ages.items():
        if age is None:
            report[name] = {"status": "unknown", "seconds_ago": None}
        else:
            report[name] = {"status": "late" if age > late_after else "ok",
                            "seconds_ago": round(age, 1)}
    return report


@bp.get("/readyz")
@bp.doc(summary="Database and Redis reachable (503 otherwise); when the sweeps last ran")
def readyz():  # noqa: ANN201
    engine = current_app.extensions["vimod.engine"]
    redis = current_app.extensions["vimod.redis"]

    def database() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        outages.DATABASE.ok()

    checker = _checker()
    db_status, _ = checker.run("database", database)
    # One round trip tells both: Redis answers, and when the sweeps last ran.
    redis_status, ages = checker.run("redis", lambda: sweep_ages(redis))
    checks = {"database": db_status, "redis": redis_status}
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if ages is not None:
        # Reported, not a reason to take the web out of service: a sweep that stopped is
        # the workers' problem (README, "Faults: what vimod promises").
        body["sweeps"] = _sweep_report(ages)
    return body, 200 if ready else 503


def _count_received() -> int:
    return db.session().scalar(
        select(func.count()).select_from(Comment).where(Comment.status == CommentStatus.received)
    )


@bp.get("/metrics")
@bp.doc(summary="Prometheus metrics")
def prometheus_metrics() -> Response:
    check_scrape_allowed()
    redis = current_app.extensions["vimod.redis"]
    body, content_type = metrics.render(
        redis,
        [QUEUE_MODERATION, QUEUE_MAINTENANCE],
        _count_received,
        lambda: sweep_ages(redis),
    )
    return Response(body, content_type=content_type)
