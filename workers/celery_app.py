"""The Celery application: broker and result settings, queues, and the sweeps' clock (every
worker keeps it: workers/sweeps.py; there is no beat process)."""

from __future__ import annotations

import os
import socket

import redis
from celery import Celery
from celery.signals import worker_init, worker_ready, worker_shutdown
from kombu import Queue

from service.config import Settings
from service.queueing import (
    QUEUE_MAINTENANCE,
    QUEUE_MODERATION,
    QUEUE_TRAINING,
    QUEUE_WEBHOOKS,
    TASK_DELIVER_WEBHOOK,
    TASK_RETRAIN,
    TASK_SWEEP_WEBHOOKS,
    broker_options,
)


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    app = Celery("vimod", broker=settings.redis_url,
                 include=["workers.tasks", "workers.training", "workers.webhooks"])
    app.conf.update(broker_options())
    app.conf.update(
        task_queues=[Queue(QUEUE_MODERATION), Queue(QUEUE_MAINTENANCE), Queue(QUEUE_TRAINING),
                     Queue(QUEUE_WEBHOOKS)],
        # Training runs on its own workers (`-Q training`), never in the moderation queue;
        # webhook deliveries (waiting on the sites' servers) have a queue of their own too.
        task_routes={TASK_RETRAIN: {"queue": QUEUE_TRAINING},
                     TASK_DELIVER_WEBHOOK: {"queue": QUEUE_WEBHOOKS},
                     TASK_SWEEP_WEBHOOKS: {"queue": QUEUE_WEBHOOKS}},
        # A task is acknowledged only once it has finished, and a worker killed
        # mid-task gives its message back: with idempotent tasks, a crash loses nothing.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Micro-batches (workers/tasks.py) need enough messages in hand to fill a batch,
        # and the next batches' while the pool works on this one.
        worker_prefetch_multiplier=256,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
    )
    app.conf.vimod_settings = settings
    return app


celery = make_celery()


@worker_init.connect
def _warm_models(sender=None, **_kwargs) -> None:  # noqa: ANN001, ANN003
    # Load the language models in the main worker process, before the pool forks: the
    # children share the arrays' pages instead of each loading its own copy. A worker
    # that only trains or sends webhooks does not need them.
    queues = set(getattr(getattr(sender, "app", None) and sender.app.amqp.queues,
                         "consume_from", None) or ())
    if queues and queues <= {QUEUE_TRAINING, QUEUE_WEBHOOKS}:
        return
    from models.classifier import load_active
    from models.diacritics import get_model

    get_model()
    load_active()


_clock = None


@worker_ready.connect
def _start_sweep_clock(sender=None, **_kwargs) -> None:  # noqa: ANN001, ANN003
    # In the worker's main process (after the pool has forked), so every worker, whatever
    # its queues, can queue the sweeps; a Redis key makes it one worker per interval.
    from workers.sweeps import SweepClock

    global _clock
    settings = celery.conf.vimod_settings
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2,
                                  socket_connect_timeout=2)
    name = f"{getattr(sender, 'hostname', None) or socket.gethostname()}:{os.getpid()}"
    _clock = SweepClock(client, settings.sweep_interval_seconds, name).start()


@worker_shutdown.connect
def _stop_sweep_clock(**_kwargs) -> None:  # noqa: ANN003
    if _clock is not None:
        _clock.stop()
