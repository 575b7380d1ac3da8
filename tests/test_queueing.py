"""The intake's queueing: task messages the same as Celery's own send_task writes, field by
field, for the Celery installed (a real worker consuming them is tested end to end), and the
list of waiting ids with its doorbell tasks."""

from __future__ import annotations

import base64
import json
import os
import socket

from service.queueing import (
    QUEUE_MODERATION,
    RECEIVED_BATCH,
    RECEIVED_KEY,
    TASK_PROCESS_COMMENT,
    TASK_PROCESS_RECEIVED,
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


def _tasks(redis_client) -> list[str]:  # noqa: ANN001
    return [_decoded(m)["headers"]["task"] for m in redis_client.lrange(QUEUE_MODERATION, 0, -1)]


def test_ids_wait_in_a_list_with_one_task_per_batch(redis_client) -> None:  # noqa: ANN001
    """The first id into an empty list rings the doorbell; later ones ride on that task,
    except that every RECEIVED_BATCH-th rings again, for the other worker processes."""
    assert enqueue_comment(redis_client, 7) and enqueue_comment(redis_client, 8)
    assert [int(x) for x in redis_client.lrange(RECEIVED_KEY, 0, -1)] == [7, 8]
    assert _tasks(redis_client) == [TASK_PROCESS_RECEIVED]
    for comment_id in range(9, 9 + 2 * RECEIVED_BATCH):
        enqueue_comment(redis_client, comment_id)
    assert redis_client.llen(RECEIVED_KEY) == 2 + 2 * RECEIVED_BATCH
    # Rung at 1 id, at one batch and at two batches waiting.
    assert _tasks(redis_client) == [TASK_PROCESS_RECEIVED] * 3
    # After the list has been emptied, the next id rings again.
    redis_client.delete(RECEIVED_KEY, QUEUE_MODERATION)
    enqueue_comment(redis_client, 500)
    assert _tasks(redis_client) == [TASK_PROCESS_RECEIVED]
    message = _decoded(redis_client.lrange(QUEUE_MODERATION, 0, -1)[0])
    assert message["body"][0] == [] and message["properties"]["delivery_info"] == {
        "exchange": "", "routing_key": QUEUE_MODERATION}


def test_the_doorbell_written_by_the_script_is_what_celery_sends(  # noqa: ANN001
        redis_client, redis_url) -> None:
    """The script fills the doorbell's ids and origin into a template: same fields as
    Celery's own message, fresh ids each time, this process as origin."""
    make_producer(redis_url).send_task(TASK_PROCESS_RECEIVED, args=[], queue=QUEUE_MODERATION,
                                       retry=False)
    [celery_raw] = redis_client.lrange(QUEUE_MODERATION, 0, -1)
    redis_client.delete(QUEUE_MODERATION)
    enqueue_comment(redis_client, 1)
    redis_client.delete(RECEIVED_KEY)
    enqueue_comment(redis_client, 2)
    first, second = (_decoded(m) for m in redis_client.lrange(QUEUE_MODERATION, 0, -1))
    celery_message = _decoded(celery_raw)
    for ours in (first, second):
        assert _shape(ours) == _shape(celery_message)
        headers = ours["headers"]
        assert headers["id"] == headers["root_id"] == ours["properties"]["correlation_id"]
        assert headers["origin"] == f"gen{os.getpid()}@{socket.gethostname()}"
        assert "@" not in ours["properties"]["delivery_tag"] + headers["id"]
    assert first["headers"]["id"] != second["headers"]["id"]
    assert first["properties"]["delivery_tag"] != second["properties"]["delivery_tag"]


def test_enqueue_comment_reports_a_broker_outage() -> None:
    import redis

    from service.embedded_redis import free_port

    down = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    assert enqueue_comment(down, 7) is False
