"""Regenerate the README's screenshots of the review queue and a comment card:

    .venv/bin/python docs/screenshots.py      (needs chromium: apt-get install chromium)

Uses a throwaway SQLite database and Redis; comments go through the real pipeline."""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from service.accounts import create_site, create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.storage import make_engine, make_session_factory  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from workers.pipeline.resources import Resources  # noqa: E402
from workers.tasks import process_comment_now  # noqa: E402

COMMENTS = [
    ("Trần Văn Hùng", "Vay tiền nhanh lãi suất thấp, giải ngân trong ngày, ib zalo 0912 345 678"),
    ("Lê Thị Mai", "Bai viet nay rat hay, cam on tac gia da phan tich ky luong"),
    ("Nguyễn Minh", "Đ.m bọn tham nhũng, phải xử thật nặng vào"),
    ("Phạm Thu", "Mong tỉnh sớm sửa con đường này, mùa mưa ngập nặng lắm ạ."),
    ("Hoàng Nam", "ko bít j lun, thủ tục này có dc làm online ko ạ?"),
]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="vimod-shots-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    url = f"sqlite:///{tmp / 'shots.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with sessions() as s:
        site = create_site(s, "Báo Điện tử Tỉnh")
        create_user(s, "bientap", "moderator", "mat-khau-demo", [site.site.id])
        s.commit()
    settings = Settings(instance=tmp / "instance", database_url=url, redis_url=redis_server.url,
                        secret_key="shots", secure_cookies=False)
    app = create_app(settings)
    import redis

    resources = Resources(sessions, redis.Redis.from_url(redis_server.url))
    client = app.test_client()
    ids = []
    for name, body in COMMENTS:
        r = client.post("/api/v1/comments", headers={"X-Api-Key": site.api_key}, json={
            "article": {"id": "tin-1", "title": "Tỉnh đẩy nhanh chuyển đổi số năm 2026"},
            "author": {"name": name, "email": f"{len(ids)}@example.vn"}, "body": body})
        ids.append(r.json["id"])
        process_comment_now(resources, ids[-1])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    out = ROOT / "docs"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1100, "height": 720})
        page.goto(base + "/login")
        page.fill("#username", "bientap")
        page.fill("#password", "mat-khau-demo")
        page.keyboard.press("Enter")
        page.wait_for_url("**/review")
        page.screenshot(path=str(out / "review-queue.png"), full_page=True)
        page.goto(f"{base}/review/{ids[1]}")
        page.keyboard.press("d")
        page.screenshot(path=str(out / "review-card.png"), full_page=True)
        browser.close()
    server.shutdown()
    redis_server.stop()
    print(f"wrote {out / 'review-queue.png'} and {out / 'review-card.png'}")


if __name__ == "__main__":
    main()
