"""A moderator clears a mixed queue from the keyboard alone, in Chromium:

    .venv/bin/python benchmarks/keyboard_loop.py [--comments 50] [--database-url …]

Stores --comments real readers' comments (ViHSD and ViSpamReviews dev splits from
../shared/data/comments, plus unaccented ones), analyses them with the moderation pipeline,
serves the app on a local port and drives the review workspace in the system Chromium:
each card is decided from what it shows — the classifier's top category (clean: `a`; spam:
`r 2`; offensive: `r 3`; hate: `r 4`), with `d` first when the comment is unaccented and
clean (the suggested diacritics, then approve). Prints the keys per decision, the server's
time per decision (the POST that decides and renders the next card, timed in the WSGI
layer) and, measured in the same run for comparison, the server time of the full page a
decision cost before the workspace (the queue page with the card, as a reload draws it).
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

from benchmarks.timing import fresh_database  # noqa: E402
from service.accounts import create_site, create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.storage import make_engine, make_session_factory  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "comments"
PASSWORD = "mat-khau-do-thu-123"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
KEYS = {"clean": ["a"], "spam": ["r", "2"], "offensive": ["r", "3"], "hate": ["r", "4"]}
DECISION = re.compile(r"^/review/\d+/(approve|reject)$")


def comments(n: int) -> list[str]:
    """Real comments: ViHSD (clean, offensive, hate) and ViSpamReviews spam, and some
    typed without diacritics."""
    rng = random.Random(16)
    vihsd = [r["free_text"] for r in csv.DictReader((DATA / "vihsd_dev.csv").open())
             if 15 < len(r["free_text"]) < 400]
    spam = [r["Comment"] for r in csv.DictReader((DATA / "vispam_dev.csv").open())
            if r.get("Label") == "1" and 15 < len(r.get("Comment", "")) < 400]
    unmarked = ["Bai viet rat hay, cam on tac gia nhieu", "Mong tinh som sua con duong nay a",
                "Gia xang cu tang mai, dan kho qua", "Toi dong y voi y kien cua ban doc tren"]
    picked = rng.sample(vihsd, int(n * 0.7)) + rng.sample(spam, int(n * 0.2))
    picked += [rng.choice(unmarked) + f" ({i})" for i in range(n - len(picked))]
    rng.shuffle(picked)
    return picked


class Timed:
    """WSGI layer that records how long the app takes for each deciding POST, and for each
    whole queue page with a card."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app, self.times, self.pages = app, [], []

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        started = time.perf_counter()
        body = list(self.app(environ, start_response))
        took = (time.perf_counter() - started) * 1000
        if environ["REQUEST_METHOD"] == "POST" and DECISION.match(environ["PATH_INFO"]):
            self.times.append(took)
        elif environ["PATH_INFO"] == "/review" and "c=" in environ.get("QUERY_STRING", ""):
            self.pages.append(took)
        return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--comments", type=int, default=50)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    url, tmp = fresh_database(args.database_url, "keyboard")
    redis_server = EmbeddedRedis(tmp / "redis").start()
    settings = Settings(instance=tmp / "instance", database_url=url, redis_url=redis_server.url,
                        secret_key="bench", secure_cookies=False,
                        ratelimit_ip="100000 per minute", ratelimit_site="100000 per minute")
    app = create_app(settings)
    sessions = make_session_factory(make_engine(url))
    with sessions() as s:
        site = create_site(s, "Báo Thử")
        create_user(s, "bientap", "moderator", PASSWORD, [site.site.id])
        s.commit()
        key = site.api_key
    client = app.test_client()
    ids = []
    for i, text in enumerate(comments(args.comments)):
        r = client.post("/api/v1/comments", headers={"X-Api-Key": key}, json={
            "article": {"id": f"tin-{i % 5}", "title": f"Tin thời sự số {i % 5}"},
            "author": {"name": f"Bạn đọc {i}", "email": f"doc{i}@example.vn"}, "body": text,
            "client": {"ip": f"113.161.{i // 250}.{i % 250 + 1}"}})
        assert r.status_code == 202, r.get_json()
        ids.append(r.get_json()["id"])
    import redis as redis_lib

    from workers.pipeline.resources import Resources
    from workers.tasks import process_comment_now

    resources = Resources(sessions, redis_lib.Redis.from_url(redis_server.url))
    for cid in ids:
        process_comment_now(resources, cid)

    timed = Timed(app.wsgi_app)
    app.wsgi_app = timed
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    from playwright.sync_api import sync_playwright

    keys = decisions = 0
    wall: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=base, viewport={"width": 1440, "height": 900})
        page.goto("/login")
        page.fill("#username", "bientap")
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/review")
        page.keyboard.press("j")
        keys += 1
        while True:
            page.wait_for_selector("#pane [data-comment], #pane [data-queue-done]")
            card = page.query_selector("#pane [data-comment]")
            if card is None:
                break
            current = card.get_attribute("data-comment")
            category = page.get_attribute("#pane .risk", "data-category") or "clean"
            unmarked = page.query_selector("#pane [data-apply-suggestion]") is not None
            presses = (["d"] if unmarked and category == "clean" else []) + KEYS[category]
            started = time.perf_counter()
            for key_name in presses:
                page.keyboard.press(key_name)
            page.wait_for_function(
                "prev => { const c = document.querySelector('#pane [data-comment]');"
                " return !c || c.dataset.comment !== prev; }", arg=current)
            wall.append((time.perf_counter() - started) * 1000)
            keys += len(presses)
            decisions += 1
        # The same cards drawn as whole pages, as every decision was before the workspace.
        reload_times = []
        for cid in ids[:20]:
            started = time.perf_counter()
            page.goto(f"/review?tab=approved&c={cid}")
            reload_times.append((time.perf_counter() - started) * 1000)
        browser.close()
    server.shutdown()
    redis_server.stop()

    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[max(0, int(len(ordered) * q) - 1)]

    def line(label: str, values: list[float], note: str) -> None:
        print(f"{label:34s} p50 {statistics.median(values):6.1f}  p95 {p(values, .95):6.1f}"
              f"  {note}")

    print(f"decisions: {decisions} of {len(ids)} comments; keys per decision "
          f"{keys / max(1, decisions):.2f} ({keys} keys, the first j included)")
    line("server ms per decision", timed.times, "decide + the next card, in place")
    line("browser ms per decision", wall, "keys pressed → the next card shown")
    line("baseline: server ms, a full page", timed.pages, "queue + card, as a reload draws it")
    line("baseline: browser ms, a full page", reload_times, "the same, loaded in Chromium")
    return 0 if decisions == len(ids) else 1


if __name__ == "__main__":
    sys.exit(main())
