"""Publishing work to the Celery workers, by task name, so the web side never imports workers/."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import time
import uuid

from celery import Celery
from redis import Redis
from redis.commands.core import Script

from service import outages

log = logging.getLogger(__name__)

TASK_PROCESS_COMMENT = "vimod.process_comment"
TASK_PROCESS_RECEIVED = "vimod.process_received"
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


_HOST = socket.gethostname()


def _origin() -> str:
    return f"gen{os.getpid()}@{_HOST}"


_NO_CALLBACKS = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def task_message(task: str, args: list, queue: str, *, task_id: str | None = None,
                 delivery_tag: str | None = None, origin: str | None = None,
                 expires: str | None = None) -> bytes:
    """A task message exactly as `Celery.send_task` puts it on a Redis list: Celery's
    message protocol 2 (docs.celeryq.dev, "Message Protocol") in kombu's Redis envelope.
    Built here because send_task costs ~0.8 ms per comment (kombu makes a new Redis client
    per publish) against ~0.15 ms for this and one LPUSH; tests/test_queueing.py compares
    the two field by field against the installed Celery, and a real worker consumes it.
    `expires`: an ISO 8601 time after which a worker discards the message unrun."""
    task_id = task_id or str(uuid.uuid4())
    body = json.dumps([args, {}, _NO_CALLBACKS]).encode()
    return json.dumps({
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None,
            "expires": expires, "group": None, "group_index": None, "retries": 0,
            "timelimit": [None, None], "root_id": task_id, "parent_id": None,
            "argsrepr": repr(args or ()), "kwargsrepr": "{}", "origin": origin or _origin(),
            "ignore_result": False, "replaced_task_nesting": 0, "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": None,  # no results are sent back
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": delivery_tag or str(uuid.uuid4()),
        },
    }).encode()


# New comments' ids wait in this Redis list; a `process_received` task takes up to
# RECEIVED_BATCH of them at a time. One task message per comment would cap the pipeline at
# the rate Celery's consumer takes messages (≈ 340/s measured here, one Redis round trip or
# more each); with the ids in a list, a busy minute costs one message per batch.
RECEIVED_KEY = "vimod:received"
RECEIVED_BATCH = 128

# Append the id; ring the doorbell (queue a `process_received` task) when the list was
# empty, and again every RECEIVED_BATCH ids, so a burst is shared by all the worker
# processes. A task that leaves ids behind rings again (workers/tasks.py), so an id in the
# list always has a task coming for it; were both lost (a worker killed mid-batch), the
# comment is still `received` in the database and the sweep queues it.
# The doorbell message is written into the script with placeholders for what varies from
# one message to the next (its ids) or between processes (origin), which come as short
# arguments: sending the whole message (≈ 1 kB) with every comment, to be used once per
# batch, cost ≈ 30 µs of the intake's time per comment.
_PLACEHOLDERS = {"task_id": "@ID@", "delivery_tag": "@TAG@", "origin": "@ORIGIN@"}
_DOORBELL_TEMPLATE = task_message(TASK_PROCESS_RECEIVED, [], QUEUE_MODERATION,
                                  **_PLACEHOLDERS).decode()
assert "]==]" not in _DOORBELL_TEMPLATE  # it is quoted as a Lua long string below
_ENQUEUE = """
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
if n == 1 or n % tonumber(ARGV[2]) == 0 then
  local message = [==[@TEMPLATE@]==]
  -- plain replacement: a '%' in an argument must not be read as a capture
  local function put(text, name, value)
    local i, j = string.find(text, name, 1, true)
    return string.sub(text, 1, i - 1) .. value .. string.sub(text, j + 1)
  end
  for _, pair in ipairs({{'@ID@', ARGV[3]}, {'@ID@', ARGV[3]}, {'@ID@', ARGV[3]},
                         {'@TAG@', ARGV[4]}, {'@ORIGIN@', ARGV[5]}}) do
    message = put(message, pair[1], pair[2])
  end
  redis.call('LPUSH', KEYS[2], message)
end
return n
""".replace("@TEMPLATE@", _DOORBELL_TEMPLATE)
_scripts: dict[str, Script] = {}  # registered once per process


def _doorbell() -> bytes:
    return task_message(TASK_PROCESS_RECEIVED, [], QUEUE_MODERATION)


def enqueue_comment(redis: Redis, comment_id: int) -> bool:
    """Queue one comment for moderation (one round trip); False (logged) if the broker is
    unreachable: the comment is committed, and the sweep queues it later."""
    try:
        script = _scripts.get("enqueue") or _scripts.setdefault(
            "enqueue", redis.register_script(_ENQUEUE))
        script(keys=[RECEIVED_KEY, QUEUE_MODERATION],
               args=[comment_id, RECEIVED_BATCH, str(uuid.uuid4()), str(uuid.uuid4()),
                     _origin()], client=redis)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep will re-enqueue
        # Once per outage, then a count a minute (service/outages.py): under load a line
        # per comment buried the log.
        outages.REDIS.failed(exc)
        return False
    outages.REDIS.ok()
    return True


def ring_doorbell(redis: Redis) -> None:
    """Queue one more `process_received` task (ids are waiting with none coming)."""
    redis.lpush(QUEUE_MODERATION, _doorbell())


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
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep will re-enqueue
        outages.REDIS.failed(exc, count=False)
        return False
    return True


# The sweeps (workers/sweeps.py schedules them; workers/tasks.py and workers/webhooks.py run
# them): each records when it last finished here (Unix time), for /readyz and /metrics.
SWEEPS = {"received": (TASK_SWEEP_RECEIVED, QUEUE_MAINTENANCE),
          "webhooks": (TASK_SWEEP_WEBHOOKS, QUEUE_WEBHOOKS)}
SWEEP_LAST_KEY = "vimod:sweep:last:{}"


def record_sweep(redis: Redis, name: str) -> None:
    """The sweep `name` has just run (Redis trouble: not recorded, so it shows as late)."""
    try:
        redis.set(SWEEP_LAST_KEY.format(name), f"{time.time():.3f}")
    except Exception as exc:  # noqa: BLE001
        outages.REDIS.failed(exc, count=False)


def sweep_ages(redis: Redis) -> dict[str, float | None]:
    """Seconds since each sweep last ran (None: never, as far as Redis knows); raises the
    client's error if Redis does not answer."""
    values = redis.mget([SWEEP_LAST_KEY.format(name) for name in SWEEPS])
    now = time.time()
    return {name: None if raw is None else max(0.0, now - float(raw))
            for name, raw in zip(SWEEPS, values, strict=True)}
