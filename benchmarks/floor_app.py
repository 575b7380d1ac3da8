"""A lower bound for any intake of this design (benchmarks/intake.py --floor): only what
the design requires of each comment, with none of the product's checks. It parses the JSON,
counts the two rate limits and reads the sites generation with vimod's own Lua script (one
Redis round trip), INSERTs the comment on a raw `sqlite3` connection and commits, RPUSHes
its id (a second round trip), and answers 202. No validation, no site or article look-up
(the ids come from the benchmark), no metrics, no doorbell. Not a product: a measurement
of how much of the ceiling's rate a durable, rate-limited intake in Python can keep here."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime

import redis

from service.api.admission import IntakeGate, site_scope

_redis = redis.Redis.from_url(os.environ["REDIS_URL"])
_gate = IntakeGate(_redis)
_SITE = int(os.environ["FLOOR_SITE_ID"])
_ARTICLE = int(os.environ["FLOOR_ARTICLE_ID"])
_SQL = ("INSERT INTO comments (site_id, article_id, author_name, author_email, client_ip,"
        " user_agent, body_original, status, received_at, enqueued_at, priority,"
        " enqueue_count) VALUES (?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, 0, 1) RETURNING id")
_db: sqlite3.Connection | None = None  # opened in the worker process, after gunicorn forks


def app(environ: dict, start_response):  # noqa: ANN201
    global _db
    if _db is None:
        _db = sqlite3.connect(os.environ["DATABASE_URL"].split("///", 1)[1],
                              isolation_level=None, timeout=15)
        _db.execute("PRAGMA journal_mode=WAL")
        _db.execute("PRAGMA synchronous=NORMAL")
    data = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
    ip = data["client"]["ip"]
    _gate.check([("ip:" + ip, "1000000 per minute"),
                 (site_scope(environ["HTTP_X_API_KEY"]), "10000000 per minute")])
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    _db.execute("BEGIN")
    comment_id = _db.execute(_SQL, (_SITE, _ARTICLE, data["author"]["name"],
                                    data["author"]["email"], ip, "wrk", data["body"],
                                    now, now)).fetchone()[0]
    _db.execute("COMMIT")
    _redis.rpush("floor:received", comment_id)
    out = json.dumps({"id": comment_id, "status": "received"}).encode()
    start_response("202 ACCEPTED", [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(out)))])
    return [out]
