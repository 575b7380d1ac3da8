"""The Celery application: broker and result settings, queues, and the beat schedule."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_init
from kombu import Queue

from service.config import Settings
from service.queueing import (
    QUEUE_MAINTENANCE,
    QUEUE_MODERATION,
    QUEUE_TRAINING,
    QUEUE_WEBHOOKS,
    TASK_DELIVER_WEBHOOK,
    TASK_RETRAIN,
    TASK_SWEEP_RECEIVED,
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
        beat_schedule={
            "sweep-received": {
                "task": TASK_SWEEP_RECEIVED,
                "schedule": float(settings.sweep_interval_seconds),
                "options": {"queue": QUEUE_MAINTENANCE, "expires": settings.sweep_interval_seconds},
            },
            # Deliveries whose message was lost: on the webhooks queue, so whichever worker
            # sends webhooks also sweeps them.
            "sweep-webhooks": {
                "task": TASK_SWEEP_WEBHOOKS,
                "schedule": float(settings.sweep_interval_seconds),
                "options": {"queue": QUEUE_WEBHOOKS, "expires": settings.sweep_interval_seconds},
            },
        },
        beat_schedule_filename=str(settings.instance / "celerybeat-schedule"),
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
