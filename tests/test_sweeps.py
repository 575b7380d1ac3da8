"""The sweeps survive the loss of any one process (issue 15, defect 10: with the one beat
process down, comments whose message was lost waited in `received` until it came back), and
/readyz and /metrics say when no sweep has run for a while."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from service.queueing import QUEUE_MAINTENANCE, QUEUE_WEBHOOKS, RECEIVED_KEY, SWEEP_LAST_KEY
from tests.celery_processes import CeleryProcesses
from tests.helpers import headers, payload
from tests.test_end_to_end import wait_for_status
from workers.sweeps import TICK_KEY, SweepClock


def test_one_clock_per_interval_whatever_the_number_of_workers(redis_client) -> None:  # noqa: ANN001
    clocks = [SweepClock(redis_client, 30, f"worker-{i}") for i in range(3)]
    assert [clock.tick() for clock in clocks] == [True, False, False]
    assert redis_client.llen(QUEUE_MAINTENANCE) == 1 and redis_client.llen(QUEUE_WEBHOOKS) == 1
    assert [clock.tick() for clock in clocks] == [False, False, False]
    redis_client.delete(TICK_KEY)  # the interval is over
    assert clocks[2].tick() is True
    assert redis_client.llen(QUEUE_MAINTENANCE) == 2


def test_a_clock_survives_redis_being_unreachable(redis_url: str) -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)  # nothing listens on port 1
    clock = SweepClock(dead, 1, "worker")
    assert clock.tick() is False  # logged, not raised: the next tick tries again
    assert clock.tick() is False


@pytest.fixture
def workers(settings) -> Iterator[CeleryProcesses]:  # noqa: ANN001
    processes = CeleryProcesses(settings)  # VIMOD_SWEEP_INTERVAL=1, VIMOD_SWEEP_AFTER=1
    yield processes
    processes.stop()


def _lose_message(client, key: str, redis_client, body: str) -> int:  # noqa: ANN001
    """A stored comment whose id never reaches a worker (Redis lost it)."""
    cid = client.post("/api/v1/comments", json=payload(body=body), headers=headers(key)).json["id"]
    redis_client.lrem(RECEIVED_KEY, 0, cid)
    return cid


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.2)


def _clock_holder(redis_client) -> int:  # noqa: ANN001
    """The pid of the worker that queued this interval's sweeps."""
    holder: list[int] = []

    def read() -> bool:
        value = redis_client.get(TICK_KEY)  # lives one interval: may be between two
        if value is not None:
            holder.append(int(value.decode().rsplit(":", 1)[1]))
        return bool(holder)

    _wait(read, 10, "no worker queued the sweeps")
    return holder[0]


@pytest.mark.e2e
def test_sweeps_go_on_when_the_process_that_ran_them_is_killed(
        client, site, sessions, redis_client, workers) -> None:  # noqa: ANN001
    """Two workers, nothing else: each keeps the sweeps' clock. Kill the one that queued the
    last sweep (SIGKILL): the other queues the next ones, and a comment whose message was
    lost still gets analysed."""
    _, key = site
    procs = {}
    for _ in range(2):
        proc = workers.worker("moderation,maintenance,webhooks")
        procs[proc.pid] = proc
    first = _lose_message(client, key, redis_client, "Ý kiến thứ nhất, tin nhắn bị mất")
    wait_for_status(sessions, first, "pending", timeout=60)

    victim = procs.pop(_clock_holder(redis_client))
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    survivor = next(iter(procs.values()))
    second = _lose_message(client, key, redis_client, "Ý kiến thứ hai, tin nhắn cũng bị mất")
    wait_for_status(sessions, second, "pending", timeout=60)
    assert survivor.poll() is None
    assert _clock_holder(redis_client) == survivor.pid

    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json["sweeps"]["received"]["status"] == "ok"
    assert r.json["sweeps"]["webhooks"]["status"] == "ok"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'vimod_sweep_age_seconds{sweep="received"}' in metrics


def test_readyz_and_metrics_say_when_no_sweep_has_run(client, redis_client) -> None:  # noqa: ANN001
    """No sweep for 3 intervals: /readyz reports it late (and stays 200: the web can still
    take comments), /metrics exports the age to alert on."""
    assert client.get("/readyz").json["sweeps"]["received"] == {
        "status": "unknown", "seconds_ago": None}
    interval = client.application.config["SWEEP_INTERVAL"]
    redis_client.set(SWEEP_LAST_KEY.format("received"), time.time() - 3 * interval - 5)
    redis_client.set(SWEEP_LAST_KEY.format("webhooks"), time.time() - 2)
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json["sweeps"]["received"]["status"] == "late"
    assert r.json["sweeps"]["received"]["seconds_ago"] >= 3 * interval + 5
    assert r.json["sweeps"]["webhooks"]["status"] == "ok"
    metrics = client.get("/metrics").get_data(as_text=True)
    age = next(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith('vimod_sweep_age_seconds{sweep="received"}'))
    assert age >= 3 * interval + 5

