"""The intake's task messages: the same as Celery's own send_task writes, field by field,
for the Celery installed (a real worker consuming them is tested end to end)."""

from __future__ import annotations

import base64
import json

from service.queueing import (
    QUEUE_MODERATION,
    TASK_PROCESS_COMMENT,
    enqueue_comment,
    make_producer,
    task_message,
)

# Differ by design from one message to the next, or name the sending process.
_VARYING = {"id", "root_id", "correlation_id", "delivery_tag", "origin", "reply_to"}


def _shape(value: object) -> object:
    if isinstance(value, dict):
        return {k: ("<varies>" if k in _VARYING else _shape(v)) for k, v in value.items()}
    return value


def _decoded(raw: bytes) -> dict:
    message = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def test_task_message_is_what_celery_sends(redis_client, redis_url) -> None:  # noqa: ANN001
    producer = make_producer(redis_url)
    producer.send_task(TASK_PROCESS_COMMENT, args=[42], queue=QUEUE_MODERATION, retry=False)
    [celery_raw] = redis_client.lrange(QUEUE_MODERATION, 0, -1)
    celery_message = _decoded(celery_raw)
    ours = _decoded(task_message(TASK_PROCESS_COMMENT, [42], QUEUE_MODERATION))
    assert _shape(ours) == _shape(celery_message)
    headers = ours["headers"]
    assert headers["id"] == headers["root_id"] == ours["properties"]["correlation_id"]
    assert ours["properties"]["delivery_tag"] != headers["id"]


def test_enqueue_comment_pushes_one_message_per_comment(redis_client) -> None:  # noqa: ANN001
    assert enqueue_comment(redis_client, 7) and enqueue_comment(redis_client, 8)
    raw = redis_client.lrange(QUEUE_MODERATION, 0, -1)
    # LPUSH + the worker's BRPOP: first in, first out.
    assert [_decoded(m)["body"][0] for m in reversed(raw)] == [[7], [8]]
    ids = {_decoded(m)["headers"]["id"] for m in raw}
    assert len(ids) == 2


def test_enqueue_comment_reports_a_broker_outage() -> None:
    import redis

    from service.embedded_redis import free_port

    down = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    assert enqueue_comment(down, 7) is False
