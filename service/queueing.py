"""Publishing work to the Celery workers, by task name, so the web side never imports workers/."""

from __future__ import annotations

import logging

from celery import Celery

log = logging.getLogger(__name__)

TASK_PROCESS_COMMENT = "vimod.process_comment"
TASK_SWEEP_RECEIVED = "vimod.sweep_received"
TASK_RETRAIN = "vimod.retrain"
QUEUE_MODERATION = "moderation"
QUEUE_MAINTENANCE = "maintenance"
# Retraining has a queue (and workers) of its own: moderation never waits behind it.
QUEUE_TRAINING = "training"
TASK_DELIVER_WEBHOOK = "vimod.deliver_webhook"
TASK_SWEEP_WEBHOOKS = "vimod.sweep_webhooks"
# Webhook deliveries wait on other people's servers: a queue of their own, so a slow
# receiver holds up only other deliveries, never moderation.
QUEUE_WEBHOOKS = "webhooks"


def broker_options() -> dict:
    # Short socket timeouts: intake must answer 202 (the comment is already
    # committed) even when Redis is slow or down; the sweep re-enqueues later.
    return {
        "broker_transport_options": {
            "socket_timeout": 2,
            "socket_connect_timeout": 2,
            "visibility_timeout": 3600,
        },
        "broker_connection_retry_on_startup": True,
        "task_default_queue": QUEUE_MODERATION,
        "task_serializer": "json",
        "accept_content": ["json"],
    }


def make_producer(redis_url: str) -> Celery:
    producer = Celery("vimod-producer", broker=redis_url)
    producer.conf.update(broker_options())
    return producer


def enqueue_comment(producer: Celery, comment_id: int) -> bool:
    """Queue one comment for moderation; False (logged) if the broker is unreachable."""
    try:
        producer.send_task(
            TASK_PROCESS_COMMENT, args=[comment_id], queue=QUEUE_MODERATION, retry=False
        )
    except Exception:  # noqa: BLE001 - any broker failure: the sweep will re-enqueue
        log.warning("could not enqueue comment %s; the sweep will retry", comment_id, exc_info=True)
        return False
    return True


def enqueue_retrain(producer: Celery, run_id: int, task_id: str) -> None:
    """Queue a retraining run; raises if the broker is unreachable (the caller marks the
    run failed: unlike a comment, nothing sweeps a lost run up later)."""
    producer.send_task(TASK_RETRAIN, args=[run_id], queue=QUEUE_TRAINING, task_id=task_id,
                       retry=False)


def enqueue_webhooks(producer: Celery, delivery_ids: list[int],
                     countdown: float | None = None) -> bool:
    """Queue deliveries (after the commit that wrote them); False (logged) if the broker is
    unreachable: the rows are in the database and the webhook sweep sends them later."""
    try:
        for delivery_id in delivery_ids:
            producer.send_task(TASK_DELIVER_WEBHOOK, args=[delivery_id], queue=QUEUE_WEBHOOKS,
                               countdown=countdown, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the sweep will re-enqueue
        log.warning("could not enqueue webhook deliveries %s; the sweep will retry",
                    delivery_ids, exc_info=True)
        return False
    return True
