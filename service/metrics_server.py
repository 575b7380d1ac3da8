"""Metrics on a port of their own (VIMOD_METRICS_PORT): the gunicorn master serves them
(service/gunicorn_conf.py), merged from every worker's files (PROMETHEUS_MULTIPROC_DIR),
with the live gauges of /metrics (queue depths, comments waiting and unprocessed). The port
is for Prometheus on a private network; the public port's /metrics then answers 404."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable

import redis
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


def ensure_multiprocess_dir() -> str:
    """The folder the workers' metrics are merged from; made when the environment has none.
    Must run in the master before any process imports prometheus_client."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="vimod-metrics-")
    return path


def _count_received(database_url: str) -> Callable[[], int]:
    engine: Engine | None = None

    def count() -> int:
        nonlocal engine
        from service.storage import Comment, CommentStatus, make_engine

        if engine is None:
            # NullPool: no connection outlives a scrape, so none is shared with the workers
            # that this (master) process forks later.
            engine = make_engine(database_url, poolclass=NullPool)
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Comment)
                               .where(Comment.status == CommentStatus.received))

    return count


def start(port: int, host: str, redis_url: str, database_url: str) -> None:
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    from service.metrics import _LiveCollector
    from service.queueing import QUEUE_MAINTENANCE, QUEUE_MODERATION, sweep_ages

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    registry.register(_LiveCollector(client, [QUEUE_MODERATION, QUEUE_MAINTENANCE],
                                     _count_received(database_url),
                                     lambda: sweep_ages(client)))
    start_http_server(port, addr=host, registry=registry)
    log.info("metrics on http://%s:%d/metrics", host, port)
