"""Prometheus metrics. Multi-process safe: with PROMETHEUS_MULTIPROC_DIR set (as `vimod dev`
and the gunicorn config do) every worker writes its own files and /metrics merges them."""

from __future__ import annotations

import contextlib
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from service.queueing import RECEIVED_KEY

COMMENTS_ACCEPTED = Counter(
    "vimod_comments_accepted_total", "Comments stored and queued by the intake API", ["site"]
)
COMMENTS_REFUSED = Counter(
    "vimod_comments_refused_total", "Comment submissions refused, by reason", ["reason"]
)
ENQUEUE_FAILURES = Counter(
    "vimod_enqueue_failures_total", "Comments stored but not queued (left for the sweep)"
)
INTAKE_LATENCY = Histogram(
    "vimod_intake_latency_seconds",
    "Time to answer POST /api/v1/comments",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class _LiveCollector:
    """Gauges read at scrape time, so every gunicorn worker reports the same truth."""

    def __init__(self, redis_client, queues: list[str], count_received,  # noqa: ANN001
                 sweep_ages) -> None:  # noqa: ANN001
        self.redis = redis_client
        self.queues = queues
        self.count_received = count_received
        self.sweep_ages = sweep_ages

    def collect(self):  # noqa: ANN201
        depth = GaugeMetricFamily(
            "vimod_queue_depth", "Messages waiting in a Celery queue", labels=["queue"]
        )
        for queue in self.queues:
            # Redis down: report no sample rather than fail the scrape.
            with contextlib.suppress(Exception):
                depth.add_metric([queue], float(self.redis.llen(queue)))
        yield depth
        waiting = GaugeMetricFamily(
            "vimod_comments_waiting", "Comment ids queued in Redis for the moderation workers"
        )
        with contextlib.suppress(Exception):
            waiting.add_metric([], float(self.redis.llen(RECEIVED_KEY)))
        yield waiting
        received = GaugeMetricFamily(
            "vimod_comments_unprocessed", "Comments stored but not yet analysed (status received)"
        )
        with contextlib.suppress(Exception):
            received.add_metric([], float(self.count_received()))
        yield received
        # Alert on this (README, "Faults: what vimod promises"): no sweep means comments
        # whose message was lost wait in `received` until one runs again.
        sweep_age = GaugeMetricFamily(
            "vimod_sweep_age_seconds", "Seconds since the sweep last finished", labels=["sweep"]
        )
        with contextlib.suppress(Exception):
            for name, age in self.sweep_ages().items():
                if age is not None:
                    sweep_age.add_metric([name], age)
        yield sweep_age


def render(redis_client, queues: list[str], count_received,  # noqa: ANN001
           sweep_ages) -> tuple[bytes, str]:  # noqa: ANN001
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    live = CollectorRegistry()
    live.register(_LiveCollector(redis_client, queues, count_received, sweep_ages))
    return generate_latest(registry) + generate_latest(live), CONTENT_TYPE_LATEST
