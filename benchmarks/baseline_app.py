"""The ceiling for this design: a Flask endpoint that only parses the JSON and pushes it to
Redis. benchmarks/intake.py loads it beside the real intake in the same run."""

from __future__ import annotations

import os

import redis
from flask import Flask, request

app = Flask(__name__)
_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


@app.post("/ingest")
def ingest():  # noqa: ANN201
    data = request.get_json()
    _redis.lpush("baseline", request.get_data())
    return {"ok": True, "n": len(data)}, 202
