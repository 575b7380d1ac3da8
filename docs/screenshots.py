"""Regenerate the README's screenshots: the review queue, a comment card, the bans page, the admin
console (dashboard, a site's settings, training data, a retraining run, a model compared
with the active one) and the embedded comment form on the demo article page, warning about
a comment typed without diacritics:

    .venv/bin/python docs/screenshots.py      (needs chromium: apt-get install chromium)

Uses a throwaway SQLite database, Redis and model registry; comments go through the real
pipeline, moderators decide some of them, and a small retraining run (base data capped at
4,000 rows) trains in this process."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="vimod-shots-"))
# Before the imports: the registry's location is read from the environment.
os.environ["VIMOD_MODEL_REGISTRY"] = str(TMP / "registry")

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from service import moderation, retraining  # noqa: E402
from service.accounts import create_site, create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.storage import Ban, Comment, Site, make_engine, make_session_factory  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from service.storage.tables import utcnow  # noqa: E402
from workers.pipeline.resources import Resources  # noqa: E402
from workers.tasks import process_comment_now  # noqa: E402

COMMENTS = [
    ("Trần Văn Hùng", "Vay tiền nhanh lãi suất thấp, giải ngân trong ngày, ib zalo 0912 345 678"),
    ("Lê Thị Mai", "Bai viet nay rat hay, cam on tac gia da phan tich ky luong"),
    ("Nguyễn Minh", "Đ.m bọn tham nhũng, phải xử thật nặng vào"),
    ("Phạm Thu", "Mong tỉnh sớm sửa con đường này, mùa mưa ngập nặng lắm ạ."),
    ("Hoàng Nam", "ko bít j lun, thủ tục này có dc làm online ko ạ?"),
]
# Published under the demo article before the embedded form's screenshot.
DEMO_COMMENTS = [
    ("Phạm Văn Đức", "Mong nhà thầu làm đúng tiến độ, mùa mưa năm nào đoạn qua Nậm Khê cũng "
                     "sạt lở, xe cứu thương không vào được."),
    ("Lò Thị Hoa", "Đồng ý với anh Đức. Xin hỏi có phân luồng cho xe chở học sinh không ạ?"),
]
# Decided by the moderator before the screenshots (approve, or a reject reason), so the
# dashboard and the training data have something to show.
DECIDED = [
    ("Đỗ Lan", "Cảm ơn phóng viên đã phản ánh kịp thời, mong các cấp vào cuộc", "approve"),
    ("Vũ Bình", "Nhận làm bằng đại học giá rẻ, liên hệ 0987 654 321", "spam"),
    ("Ngô Tú", "Thằng này ngu như bò, nói cũng không biết", "offensive"),
    ("Bùi Hà", "Đường này sửa mãi không xong, dân khổ quá", "approve"),
    ("Lý Quân", "Khuyến mãi lớn, mua 1 tặng 1, truy cập ngay shopgiare.vn", "spam"),
    ("Đinh My", "Ý kiến hay, tôi đồng ý với tác giả", "approve"),
]


def main() -> None:
    tmp = TMP
    redis_server = EmbeddedRedis(tmp / "redis").start()
    url = f"sqlite:///{tmp / 'shots.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with sessions() as s:
        site = create_site(s, "Báo Điện tử Tỉnh")
        moderator, _ = create_user(s, "bientap", "moderator", "mat-khau-demo", [site.site.id])
        create_user(s, "quantri", "admin", "mat-khau-demo")
        s.commit()
        moderator_id = moderator.id
    settings = Settings(instance=tmp / "instance", database_url=url, redis_url=redis_server.url,
                        secret_key="shots", secure_cookies=False, demo_page=True)
    app = create_app(settings)
    import redis

    resources = Resources(sessions, redis.Redis.from_url(redis_server.url))
    client = app.test_client()

    posted: list[int] = []

    def post(name: str, body: str) -> int:
        r = client.post("/api/v1/comments", headers={"X-Api-Key": site.api_key}, json={
            "article": {"id": "tin-1", "title": "Tỉnh đẩy nhanh chuyển đổi số năm 2026"},
            "author": {"name": name, "email": f"{len(posted)}@example.vn"}, "body": body,
            # Each reader from an address of their own (the IP ban below is one author's).
            "client": {"ip": f"113.161.1.{len(posted) + 10}"}})
        posted.append(r.json["id"])
        process_comment_now(resources, r.json["id"])
        return r.json["id"]

    with app.app_context(), sessions() as s:
        for name, body, decision in DECIDED:
            comment = s.get(Comment, post(name, body))
            if decision == "approve":
                moderation.approve(s, comment, moderator_id, "bientap")
            else:
                moderation.reject(s, comment, moderator_id, "bientap", decision)
    ids = [post(name, body) for name, body in COMMENTS]
    demo_bans(sessions, app, moderator_id, posted, ids)
    with sessions() as s:
        run = retraining.start_run(s, options=retraining.RetrainOptions(max_base_rows=4000))
        run_id = run.id
    retraining.execute_run(sessions, run_id, registry_root=tmp / "registry")
    with sessions() as s:
        version = s.get(retraining.TrainingRun, run_id).version
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    demo_comments(sessions, client, resources, site, moderator_id, app, base)
    out = ROOT / "docs"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        # The workspace as a moderator sees it on a newsroom's wide screen: the first
        # comment decided from the keyboard (the undo toast), the next one open beside the list.
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(base + "/login")
        page.fill("#username", "bientap")
        page.fill("#password", "mat-khau-demo")
        page.keyboard.press("Enter")
        page.wait_for_url("**/review")
        page.keyboard.press("j")
        page.wait_for_selector("#pane [data-comment]")
        page.keyboard.press("a")
        page.wait_for_selector("#toast:not([hidden])")
        page.wait_for_selector("#pane [data-comment]")
        page.screenshot(path=str(out / "review-queue.png"))
        page.goto(f"{base}/review/{ids[1]}")
        page.keyboard.press("d")
        page.screenshot(path=str(out / "review-card.png"), full_page=True)
        # An error page: a moderator following a link to the admin console.
        page.goto(f"{base}/admin/users")
        page.screenshot(path=str(out / "review-error.png"))
        page.goto(f"{base}/review/bans")
        page.screenshot(path=str(out / "review-bans.png"), full_page=True)
        shots = {
            "admin-dashboard.png": "/admin/dashboard",
            "admin-site.png": f"/admin/sites/{site.site.id}",
            "admin-training.png": "/admin/training",
            "admin-retrain.png": f"/admin/retrain/runs/{run_id}",
            "admin-model-compare.png": f"/admin/models/{version}",
        }
        admin = browser.new_page(viewport={"width": 1100, "height": 720})
        admin.goto(base + "/login")
        admin.fill("#username", "quantri")
        admin.fill("#password", "mat-khau-demo")
        admin.keyboard.press("Enter")
        admin.wait_for_url("**/review")
        for name, path in shots.items():
            admin.goto(base + path)
            admin.wait_for_load_state("networkidle")
            admin.screenshot(path=str(out / name), full_page=True)
        reader = browser.new_page(viewport={"width": 820, "height": 900})
        reader.goto(f"{base}/demo?site={site.site.public_key}")
        form = reader.locator("vimod-comments")
        form.locator("img.captcha-image").wait_for(state="visible")
        form.locator(".comment-list.threads > li").first.wait_for()
        reader.get_by_label("Họ tên").fill("Lê Thị Mai")
        reader.get_by_label("Email").fill("mai.le@example.vn")
        reader.get_by_label("Nội dung bình luận").press_sequentially(
            "Duong nay sua mai khong xong, mua mua ngap nang lam, de nghi tinh lam nhanh", delay=5)
        form.locator(".diacritics-warning").wait_for(state="visible")
        reader.get_by_label("Mã xác nhận").focus()
        box = form.bounding_box()  # in the viewport; the clip is in the page
        scroll_x, scroll_y = reader.evaluate("() => [window.scrollX, window.scrollY]")
        reader.screenshot(path=str(out / "embed-form.png"), full_page=True, clip={
            "x": box["x"] + scroll_x - 16, "y": box["y"] + scroll_y - 16,
            "width": box["width"] + 32, "height": box["height"] + 32})
        browser.close()
    server.shutdown()
    redis_server.stop()
    print("wrote", ", ".join(["review-queue.png", "review-card.png", "review-error.png",
                              "review-bans.png", *shots,
                              "embed-form.png"]),
          "in", out)


def demo_bans(sessions, app, moderator_id, posted, ids) -> None:  # noqa: ANN001
    """Bans for the bans page: one for a week, one for good, one lifted, one expired."""
    now = utcnow()
    with app.app_context(), sessions() as s:
        for comment_id, by_ip, duration, reason in (
                (ids[0], True, "7d", "Quảng cáo vay tiền, để lại số điện thoại"),
                (posted[4], False, "permanent", "Spam bán hàng lặp lại nhiều lần"),
                (posted[2], False, "1d", "Xúc phạm người khác")):
            moderation.ban_author(s, s.get(Comment, comment_id), moderator_id, "bientap",
                                  by_email=True, by_ip=by_ip, reject_pending=False,
                                  duration=duration, reason=reason)
        lifted = s.scalars(select(Ban).order_by(Ban.id.desc())).first()
        moderation.lift_ban(s, lifted, moderator_id, "bientap")
        s.add(Ban(site_id=lifted.site_id, email="hung.tran@example.vn", created_by=moderator_id,
                  reason="Bình luận trùng lặp hàng loạt", created_at=now - timedelta(days=40),
                  expires_at=now - timedelta(days=10)))
        s.commit()


def demo_comments(sessions, client, resources, site, moderator_id, app, base) -> None:  # noqa: ANN001
    """The demo article's published comments (a thread with a reply) and the page's origin
    among the site's allowed origins."""
    with sessions() as s:
        row = s.get(Site, site.site.id)
        row.allowed_origins = [base]
        s.commit()
    with app.app_context():
        app.extensions["vimod.site_keys"].invalidate()
    parent = None
    for name, body in DEMO_COMMENTS:
        data = {"article": {"id": "demo-1"}, "author": {"name": name, "email": "a@example.vn"},
                "body": body, **({"parent_id": parent} if parent else {})}
        r = client.post("/api/v1/comments", headers={"X-Api-Key": site.api_key}, json=data)
        process_comment_now(resources, r.json["id"])
        with app.app_context(), sessions() as s:
            moderation.approve(s, s.get(Comment, r.json["id"]), moderator_id, "bientap")
        parent = parent or r.json["id"]


if __name__ == "__main__":
    main()
