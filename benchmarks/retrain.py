"""Retraining on 50,000 examples while the intake and the review queue keep answering.

    make bench-retrain   # = .venv/bin/python benchmarks/retrain.py [--data ../shared/data/comments]

Runs what `vimod dev` runs, on this machine: its own Redis, a fresh database (SQLite, or
--database-url for PostgreSQL: its tables are recreated), the web app under gunicorn (2
workers), a moderation worker (-Q moderation,maintenance, 2 processes) and a training
worker (-Q training, 1 process; the task lowers its own CPU priority and uses one BLAS
thread). The base data are the recipe's files in --data (44,492 rows after the recipe's
deduplication and evaluation hold-out); N moderators' decisions are stored beside them,
sampled from the recipe's dev files (their texts, labels as the recipe maps them, decided
over the last 90 days), so that base rows + trained decisions ≈ 50,000. (Those texts are
also in the base evaluation files: the run's base-eval figures are optimistic here, and
it says so; this benchmark measures time.)

An open-loop load generator posts comments to POST /api/v1/comments and loads the review
queue (/review, signed in) at fixed rates — latency counted from each request's scheduled
time, so a stalled server cannot hide behind fewer requests — for --before seconds, then
starts a run the way the admin console's button does (start_run + the training queue) and
keeps the load on until the run ends. Reports the run's wall time (target ≤ 120 s), its
stages, and p50/p99 of both endpoints and of the moderation pipeline (received → analysed)
before vs during training.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from benchmarks.intake import gunicorn, wait_http  # noqa: E402
from models.classifier.datasets import load_many, text_key  # noqa: E402
from models.classifier.recipe import load_recipe  # noqa: E402
from service import retraining  # noqa: E402
from service.accounts import create_site, create_user  # noqa: E402
from service.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from service.queueing import enqueue_retrain, make_producer  # noqa: E402
from service.storage import (  # noqa: E402
    Article,
    Comment,
    ModerationAction,
    TrainingRun,
    make_engine,
    make_session_factory,
)
from service.storage.migrate import recreate, upgrade  # noqa: E402
from service.storage.tables import utcnow  # noqa: E402

PASSWORD = "benchmark-password-1"
BODIES = [
    "Bài viết rất hữu ích, cảm ơn tác giả. Mong tỉnh sớm hoàn thành chuyển đổi số!",
    "Bai viet hay qua, cam on tac gia nhe. Mong chinh quyen som giai quyet",
    "Đề nghị cơ quan chức năng kiểm tra lại việc cấp phép xây dựng ở phường này.",
    "Vay tiền nhanh lãi suất thấp, giải ngân trong ngày, ib zalo 0912 345 678",
    "Giá xăng tăng liên tục thế này thì dân sống sao nổi, mong nhà nước có biện pháp",
]


# --- data -------------------------------------------------------------------------------------

def store_decisions(sessions, site_id: int, user_id: int, data_dir: Path, n: int,  # noqa: ANN001
                    seed: int = 7) -> int:
    """N decided comments whose texts and labels come from the recipe's dev files."""
    recipe = load_recipe(data_dir=data_dir)
    pool: dict[str, tuple[str, str]] = {}
    for spec in recipe.eval:
        ds = load_many([spec], dedupe=False)
        for t, y in zip(ds.texts, ds.labels, strict=True):
            pool.setdefault(text_key(t), (t, y))
    rows = list(pool.values())
    random.Random(seed).shuffle(rows)
    rows = rows[:n]
    now = utcnow()
    with sessions() as s:
        article = Article(site_id=site_id, external_id="bench", title="Benchmark")
        s.add(article)
        s.commit()
        comments = []
        for i, (text, label) in enumerate(rows):
            comments.append({
                "site_id": site_id, "article_id": article.id, "author_name": "Độc giả",
                "author_email": f"reader{i}@example.vn", "body_original": text,
                "status": "approved" if label == "clean" else "rejected",
                "received_at": now, "enqueued_at": now})
        ids = list(s.scalars(insert(Comment).returning(Comment.id, sort_by_parameter_order=True),
                               comments))
        actions = []
        for cid, (_, label) in zip(ids, rows, strict=True):
            decided = now - timedelta(days=random.random() * 90)
            actions.append({
                "comment_id": cid, "user_id": user_id, "actor": "bientap",
                "created_at": decided, "from_status": "pending",
                "to_status": "approved" if label == "clean" else "rejected",
                "reason": None if label == "clean" else label})
        s.execute(insert(ModerationAction), actions)
        s.commit()
    return len(rows)


# --- load -------------------------------------------------------------------------------------

class Load:
    """Requests at a fixed rate from a thread pool; latency from the scheduled time."""

    def __init__(self, name: str, rate: float, request) -> None:  # noqa: ANN001
        self.name, self.rate, self.request = name, rate, request
        self.results: list[tuple[float, float, bool]] = []   # (scheduled, latency s, ok)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=24)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _one(self, scheduled: float) -> None:
        ok = False
        try:
            ok = self.request()
        except Exception:  # noqa: BLE001 - counted as a failure
            ok = False
        latency = time.monotonic() - scheduled
        with self.lock:
            self.results.append((scheduled, latency, ok))

    def _run(self) -> None:
        start = time.monotonic()
        i = 0
        while not self.stop.is_set():
            at = start + i / self.rate
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.pool.submit(self._one, at)
            i += 1

    def start(self) -> Load:
        self.thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()
        self.pool.shutdown(wait=True)

    def window(self, lo: float, hi: float) -> list[tuple[float, float, bool]]:
        with self.lock:
            return [r for r in self.results if lo <= r[0] < hi]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(rows: list[tuple[float, float, bool]]) -> dict:
    lat = [r[1] * 1000 for r in rows]
    return {"requests": len(rows), "failed": sum(not r[2] for r in rows),
            "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
            "max_ms": round(max(lat), 1) if lat else None}


class Client:
    """The intake (API key) and the review queue (a signed-in session), over HTTP/1.1."""

    def __init__(self, port: int, api_key: str) -> None:
        self.port, self.api_key = port, api_key
        self.cookie = ""
        self.ids: list[tuple[int, float]] = []         # (comment id, sent at monotonic)
        self.lock = threading.Lock()
        self.n = 0

    def _conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def login(self) -> None:
        c = self._conn()
        c.request("GET", "/login")
        r = c.getresponse()
        html = r.read().decode()
        cookie = r.getheader("Set-Cookie").split(";", 1)[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        body = urllib.parse.urlencode({"username": "quantri", "password": PASSWORD,
                                       "csrf_token": token})
        c.request("POST", "/login", body, {"Cookie": cookie,
                                           "Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        if r.status != 302:
            raise SystemExit(f"sign-in failed: {r.status}")
        self.cookie = r.getheader("Set-Cookie").split(";", 1)[0]

    def post_comment(self) -> bool:
        with self.lock:
            self.n += 1
            n = self.n
        body = json.dumps({"article": {"id": f"tin-{n % 50}"},
                           "author": {"name": "Độc giả", "email": f"doc{n}@example.vn"},
                           "body": f"{BODIES[n % len(BODIES)]} (ý kiến {n})",
                           "client": {"ip": f"10.0.{n // 250 % 250}.{n % 250}"}})
        c = self._conn()
        sent = time.monotonic()
        c.request("POST", "/api/v1/comments", body.encode(),
                  {"X-Api-Key": self.api_key, "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status == 202:
            with self.lock:
                self.ids.append((json.loads(data)["id"], sent))
        return r.status == 202

    def review(self) -> bool:
        c = self._conn()
        c.request("GET", "/review", headers={"Cookie": self.cookie})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status == 200


# --- processes --------------------------------------------------------------------------------

def celery_worker(queues: str, extra: list[str], env: dict, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", queues,
           "-l", "INFO", "--hostname", f"{queues.split(',')[0]}@%h", *extra]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while " ready." not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise SystemExit(f"worker not ready:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)


def stage_times(log: Path, run_id: int) -> dict[str, float]:
    """Seconds spent in each stage, from the trainer's log lines."""
    marks = []
    for line in log.read_text(errors="replace").splitlines():
        m = re.match(rf"\[(\S+ \S+): INFO/\S+\] run {run_id}: (\w+) \(\d+ %\)$", line)
        if m:
            t = time.mktime(time.strptime(m.group(1).split(",")[0], "%Y-%m-%d %H:%M:%S"))
            marks.append((t + int(m.group(1).split(",")[1]) / 1000, m.group(2)))
        m = re.match(rf"\[(\S+ \S+): INFO/\S+\] run {run_id}: registered", line)
        if m:
            t = time.mktime(time.strptime(m.group(1).split(",")[0], "%Y-%m-%d %H:%M:%S"))
            marks.append((t + int(m.group(1).split(",")[1]) / 1000, "end"))
    return {stage: round(marks[i + 1][0] - t, 1) for i, (t, stage) in enumerate(marks[:-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "comments",
                        help="the base data folder (VIMOD_BASE_DATA)")
    parser.add_argument("--decisions", type=int, default=6900,
                        help="decided comments stored (80 %% trained, 20 %% held out)")
    parser.add_argument("--intake-rate", type=float, default=20.0, help="comments/s posted")
    parser.add_argument("--review-rate", type=float, default=4.0, help="queue pages/s")
    parser.add_argument("--before", type=float, default=60.0,
                        help="seconds of load measured before the run starts")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    recipe = load_recipe(data_dir=args.data)
    if recipe.missing:
        raise SystemExit(f"base data missing in {args.data}: "
                         + ", ".join(Path(p).name for p in recipe.missing))

    tmp = Path(tempfile.mkdtemp(prefix="vimod-bench-retrain-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    database_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    if args.database_url:
        recreate(database_url)
    else:
        upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as s:
        site = create_site(s, "Benchmark")
        admin, _ = create_user(s, "quantri", "admin", PASSWORD)
        s.commit()
        site_id, key, admin_id = site.site.id, site.api_key, admin.id
    t0 = time.monotonic()
    stored = store_decisions(sessions, site_id, admin_id, args.data, args.decisions)
    print(f"stored {stored} decided comments in {time.monotonic() - t0:.1f} s", flush=True)

    env = dict(os.environ, REDIS_URL=redis_server.url, DATABASE_URL=database_url,
               VIMOD_INSTANCE=str(tmp / "instance"), SECRET_KEY="bench",
               VIMOD_SECURE_COOKIES="0", VIMOD_RATELIMIT_IP="1000000 per minute",
               VIMOD_RATELIMIT_SITE="10000000 per minute",
               PROMETHEUS_MULTIPROC_DIR=str(tmp / "prom"), VIMOD_BASE_DATA=str(args.data),
               VIMOD_MODEL_REGISTRY=str(tmp / "registry"), PYTHONPATH=str(ROOT))
    os.environ.update(VIMOD_MODEL_REGISTRY=env["VIMOD_MODEL_REGISTRY"],
                      VIMOD_BASE_DATA=env["VIMOD_BASE_DATA"])
    (tmp / "prom").mkdir()
    port = free_port()
    logs = {"web": tmp / "web.log", "moderation": tmp / "moderation.log",
            "trainer": tmp / "trainer.log"}
    procs = [
        gunicorn("service.wsgi:app", port, env, 2, logs["web"]),
        celery_worker("moderation,maintenance", ["-c", "2"], env, logs["moderation"]),
        celery_worker("training", ["-c", "1", "--prefetch-multiplier", "1",
                                   "--max-tasks-per-child", "1"], env, logs["trainer"]),
    ]
    loads: list[Load] = []
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        wait_ready(logs["moderation"])
        wait_ready(logs["trainer"])
        client = Client(port, key)
        client.login()
        loads = [Load("intake", args.intake_rate, client.post_comment).start(),
                 Load("review", args.review_rate, client.review).start()]
        print("warming up (10 s), then measuring", flush=True)
        time.sleep(10)
        before_start = time.monotonic()
        time.sleep(args.before)
        # The admin console's button: a run row, then the training queue.
        train_start = time.monotonic()
        with sessions() as s:
            task_id = uuid.uuid4().hex
            run = retraining.start_run(s, created_by=admin_id, task_id=task_id)
        enqueue_retrain(make_producer(redis_server.url), run.id, task_id)
        print(f"run {run.id} queued; load continues until it ends", flush=True)
        row = retraining.wait_for_run(sessions, run.id, lambda _i: None, timeout=1800,
                                      poll=0.5)
        train_end = time.monotonic()
    finally:
        for load in loads:
            load.finish()
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        redis_server.stop()

    with sessions() as s:
        row = s.get(TrainingRun, run.id)
        # The pipeline: received → analysed, for the comments posted in each window.
        by_id = dict(client.ids)
        analysed = s.execute(select(Comment.id, Comment.received_at, Comment.analysed_at)
                             .where(Comment.id.in_(list(by_id)))).all()
    engine.dispose()
    pipe = {"before": [], "during": []}
    for cid, received, done in analysed:
        sent = by_id[cid]
        window = ("before" if before_start <= sent < train_start
                  else "during" if train_start <= sent < train_end else None)
        if window:
            pipe[window].append((done - received).total_seconds() * 1000 if done else 1e9)
    if row.status != "succeeded":
        print(f"run {row.id} {row.status}: {row.message}")
        return 1
    data = row.metrics["data"]
    wall = (row.finished_at - row.started_at).total_seconds()
    result = {
        "database": database_url.split(":", 1)[0],
        "examples": data["total"], "base_rows": data["base"]["rows"],
        "decisions_trained": data["decisions"]["trained"],
        "decisions_held_out": data["decisions"]["held_out"],
        "run_seconds": round(wall, 1),
        "queued_to_done_seconds": round(train_end - train_start, 1),
        "stages": stage_times(logs["trainer"], row.id),
        "version": row.version,
        "headline": retraining.headline(row.metrics),
        "intake_rate": args.intake_rate, "review_rate": args.review_rate,
        "before": {load.name: summary(load.window(before_start, train_start)) for load in loads},
        "during": {load.name: summary(load.window(train_start, train_end)) for load in loads},
    }
    for window in ("before", "during"):
        lat = pipe[window]
        result[window]["pipeline"] = {"comments": len(lat),
                                      "not_analysed": sum(v >= 1e9 for v in lat),
                                      "p50_ms": round(pct(lat, 50), 1),
                                      "p99_ms": round(pct(lat, 99), 1)}
    print()
    print(f"retraining on {result['examples']:,} examples ({result['base_rows']:,} base rows, "
          f"{result['decisions_trained']:,} decisions; {result['decisions_held_out']:,} held "
          f"out): {wall:.1f} s (target ≤ 120 s: {'met' if wall <= 120 else 'NOT met'}); "
          f"queued → succeeded {result['queued_to_done_seconds']:.1f} s")
    print("stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in result["stages"].items()))
    print(f"{'':22s}{'before training':>24s}{'during training':>24s}")
    for name in ("intake", "review", "pipeline"):
        cells = []
        for window in ("before", "during"):
            r = result[window][name]
            n = r.get("requests", r.get("comments"))
            cells.append(f"{r['p50_ms']:7.1f} / {r['p99_ms']:7.1f} (n {n})")
        label = {"intake": "POST /api/v1/comments", "review": "GET /review",
                 "pipeline": "received → analysed"}[name]
        print(f"{label:22s}{cells[0]:>24s}{cells[1]:>24s}")
    print("(p50 / p99 ms; failures before/during: "
          + ", ".join(f"{n} {result['before'][n]['failed']}/{result['during'][n]['failed']}"
                      for n in ("intake", "review")) + ")")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if wall <= 120 else 1


if __name__ == "__main__":
    sys.exit(main())
