"""A ban applies to the next comment a real Celery worker processes, and so does lifting it
(#16 defect 7: a comment sent 10 s after a ban still went to pending, the worker's bans
being cached for 30 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from service.storage import Ban
from tests.celery_processes import CeleryProcesses
from tests.helpers import headers, payload
from tests.test_end_to_end import wait_for_status
from tests.test_review import csrf, login, ui  # noqa: F401 - the ui fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def worker(settings) -> Iterator[CeleryProcesses]:  # noqa: ANN001
    processes = CeleryProcesses(settings)
    # One process: the one that read (and cached) the bans before the ban was made.
    processes.worker("moderation,maintenance", "-c", "1")
    yield processes
    processes.stop()


def test_ban_and_lift_apply_to_the_next_comment(ui, sessions, worker) -> None:  # noqa: ANN001, F811
    app, keys = ui
    key = keys["a"][1]
    api = app.test_client()

    def submit(body: str) -> int:
        r = api.post("/api/v1/comments", json=payload(body=body), headers=headers(key))
        assert r.status_code == 202
        return r.json["id"]

    # The worker reads the site's bans (none) for this comment, and keeps them.
    first = submit("Bài viết hay, cảm ơn tác giả")
    wait_for_status(sessions, first, "pending")

    moderator = app.test_client()
    login(moderator, "bientap_a")
    token = csrf(moderator.get(f"/review/{first}").get_data(as_text=True))
    r = moderator.post(f"/review/{first}/ban", data={
        "csrf_token": token, "email": "1", "duration": "7d", "note": "Spam cờ bạc"})
    assert r.status_code == 303

    # At once, no waiting: the worker must see the ban.
    banned = submit("Nhà cái uy tín, nạp 100k tặng 200k")
    comment = wait_for_status(sessions, banned, "auto_rejected")
    assert comment.analysis["decision"]["phase"] == "bans"
    assert comment.analysis["decision"]["reason"] == "author banned by email"

    with sessions() as s:
        ban_id = s.scalars(select(Ban.id)).one()
    page = moderator.get("/review/bans").get_data(as_text=True)
    r = moderator.post(f"/review/bans/{ban_id}/lift", data={"csrf_token": csrf(page)})
    assert r.status_code == 303

    # At once again: the lift applies to the next comment.
    after = submit("Tôi xin lỗi, sẽ bình luận đúng mực")
    wait_for_status(sessions, after, "pending")
