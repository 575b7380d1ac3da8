"""/healthz (process up), /readyz (database and Redis reachable) and /metrics."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, current_app
from sqlalchemy import func, select, text

from service import db, metrics
from service.metrics_access import check_scrape_allowed
from service.queueing import QUEUE_MAINTENANCE, QUEUE_MODERATION
from service.storage import Comment, CommentStatus

bp = APIBlueprint("health", __name__, tag="Operations")


@bp.get("/healthz")
@bp.doc(summary="The process is up")
def healthz():  # noqa: ANN201
    return {"status": "ok"}


@bp.get("/readyz")
@bp.doc(summary="Database and Redis reachable (503 otherwise)")
def readyz():  # noqa: ANN201
    checks: dict[str, str] = {}
    try:
        db.session().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        current_app.extensions["vimod.redis"].ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _count_received() -> int:
    return db.session().scalar(
        select(func.count()).select_from(Comment).where(Comment.status == CommentStatus.received)
    )


@bp.get("/metrics")
@bp.doc(summary="Prometheus metrics")
def prometheus_metrics() -> Response:
    check_scrape_allowed()
    body, content_type = metrics.render(
        current_app.extensions["vimod.redis"],
        [QUEUE_MODERATION, QUEUE_MAINTENANCE],
        _count_received,
    )
    return Response(body, content_type=content_type)
