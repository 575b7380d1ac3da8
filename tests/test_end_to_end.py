"""End to end with real processes: Celery workers started as subprocesses (each keeping the
sweeps' clock), talking to the same Redis and database as the intake."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from service.storage import Comment
from tests.celery_processes import CeleryProcesses
from tests.helpers import VALID, headers, payload

pytestmark = pytest.mark.e2e


@pytest.fixture
def start(settings) -> Iterator[Callable[[str], subprocess.Popen]]:  # noqa: ANN001
    """start("worker"): a real worker process, stopped when the test ends."""
    processes = CeleryProcesses(settings)
    yield processes.start
    processes.stop()


def wait_for_status(sessions, comment_id: int, status: str, timeout: float = 45) -> Comment:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as s:
            comment = s.get(Comment, comment_id)
            if comment.status == status:
                return comment
        time.sleep(0.2)
    raise AssertionError(f"comment {comment_id} still {comment.status!r} after {timeout}s")


def test_worker_moves_comments_to_pending(client, site, sessions, start) -> None:  # noqa: ANN001
    _, key = site
    start("worker")
    bodies = [
        VALID["body"],
        "Bai viet hay qua, cam on tac gia",  # không dấu
        "ko bít j lun, thủ tục này có dc làm online ko ạ?",  # teencode
        "Tho\u0302ng tin ra\u0302\u0301t hu\u031b\u0303u i\u0301ch",  # NFD
    ]
    ids = []
    for body in bodies:
        r = client.post("/api/v1/comments", json=payload(body=body), headers=headers(key))
        assert r.status_code == 202
        ids.append(r.json["id"])
    for cid in ids:
        comment = wait_for_status(sessions, cid, "pending")
        assert comment.analysed_at is not None
    r = client.get(f"/api/v1/comments/{ids[-1]}", headers=headers(key))
    assert r.json["status"] == "pending"
    assert r.json["body_normalized"] == "Thông tin rất hữu ích"
    assert r.json["analysis"]["flags"] == ["changed_by_normalization"]


def test_lost_message_is_recovered_by_the_sweep(
    client, site, sessions, start, redis_client  # noqa: ANN001
) -> None:
    """Redis loses the message (flushed before any worker ran): the sweep re-enqueues the
    comment from the database and a worker finishes it."""
    _, key = site
    r = client.post("/api/v1/comments", json=VALID, headers=headers(key))
    cid = r.json["id"]
    redis_client.flushdb()
    time.sleep(1.2)  # older than VIMOD_SWEEP_AFTER=1
    start("worker")
    comment = wait_for_status(sessions, cid, "pending")
    assert comment.enqueue_count >= 2


def test_killed_worker_loses_nothing(client, site, sessions, start) -> None:  # noqa: ANN001
    """A worker killed with SIGKILL while comments wait: a new worker plus the sweep
    still bring every comment to pending."""
    _, key = site
    ids = [client.post("/api/v1/comments", json=payload(body=f"Ý kiến số {i}"),
                       headers=headers(key)).json["id"] for i in range(20)]
    victim = start("worker")
    time.sleep(1.5)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    start("worker")
    for cid in ids:
        wait_for_status(sessions, cid, "pending")
