"""What pages give away (issue 15, defect 7): staff pages and answers with personal data are
never cached; /metrics is for a token holder or on a port of its own, never the world by
default; the API docs load nothing from another origin and run under a strict CSP. (The docs
in a real browser: tests/browser/test_api_docs_browser.py.)"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from service.app import create_app
from service.embedded_redis import free_port
from service.storage.migrate import upgrade
from tests.helpers import VALID, headers
from tests.test_review import login, post_comment, ui  # noqa: F401 - the ui fixture

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", ["/review", "/review/{cid}", "/admin/users", "/admin/sites",
                                  "/sessions", "/login", "/review/arrivals?since=2026-01-01",
                                  "/review/999999", "/admin/nowhere"])
def test_staff_pages_are_not_stored(ui, resources, path) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Bài viết hay, cảm ơn tác giả")
    c = app.test_client()
    login(c, "quantri")
    r = c.get(path.format(cid=cid))
    assert r.headers["Cache-Control"] == "no-store", (path, r.status_code)


def test_api_answers_with_personal_data_are_not_stored(ui) -> None:  # noqa: ANN001, F811
    app, keys = ui
    c = app.test_client()
    key = keys["a"][1]
    created = c.post("/api/v1/comments", json=VALID, headers=headers(key))
    r = c.get(f"/api/v1/comments/{created.json['id']}", headers=headers(key))
    assert r.json["author"]["email"] and r.headers["Cache-Control"] == "no-store"
    # What news sites load from their pages stays cacheable.
    assert "public" in c.get("/embed.js").headers["Cache-Control"]


def _app(settings, **metrics):  # noqa: ANN001, ANN003, ANN202
    for name, value in metrics.items():
        setattr(settings, name, value)
    return create_app(settings, TESTING=True)


def test_metrics_are_off_unless_configured(settings, engine, redis_client) -> None:  # noqa: ANN001
    r = _app(settings, metrics_public=False).test_client().get("/metrics")
    assert r.status_code == 403 and "VIMOD_METRICS_TOKEN" in r.json["error"]["message"]
    assert "vimod_" not in r.get_data(as_text=True)


def test_metrics_token(settings, engine, redis_client) -> None:  # noqa: ANN001
    c = _app(settings, metrics_public=True, metrics_token="bi-mat-do-dem").test_client()
    for given in (None, "Bearer sai", "Basic bi-mat-do-dem", "Bearer bi-mat-do-dem\x00"):
        r = c.get("/metrics", headers={"Authorization": given} if given else {})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = c.get("/metrics", headers={"Authorization": "Bearer bi-mat-do-dem"})
    assert r.status_code == 200 and "vimod_comments_unprocessed" in r.get_data(as_text=True)


def test_metrics_on_their_own_port_are_not_on_the_app(settings, engine, redis_client) -> None:  # noqa: ANN001
    r = _app(settings, metrics_public=True, metrics_port=9100).test_client().get("/metrics")
    assert r.status_code == 404 and "9100" in r.json["error"]["message"]


def _get(url: str, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers={
        "Content-Type": "application/json", "X-Api-Key": "vmk_sai"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_gunicorn_serves_the_metrics_of_every_worker_on_the_metrics_port(
        tmp_path: Path, redis_url: str) -> None:
    """VIMOD_METRICS_PORT: the gunicorn master serves what its two workers counted (the
    multi-process folder made for it), the live gauges too; the app's /metrics is gone."""
    database_url = f"sqlite:///{tmp_path / 'vimod.db'}"
    upgrade(database_url)
    port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, VIMOD_PORT=str(port),
               VIMOD_METRICS_PORT=str(metrics_port), VIMOD_INSTANCE=str(tmp_path / "instance"),
               WEB_CONCURRENCY="2", PYTHONPATH=str(ROOT))
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf",
             "service.wsgi:app"], env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("gunicorn did not start:\n" + log.read_text(errors="replace"))
        for _ in range(4):  # the refusals land on either worker
            assert _get(f"http://127.0.0.1:{port}/api/v1/comments",
                        json.dumps(VALID).encode())[0] == 401
        assert _get(f"http://127.0.0.1:{port}/metrics")[0] == 404
        status, body = _get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200
        refused = re.search(r'^vimod_comments_refused_total\{reason="unauthorized"\} (\S+)$',
                            body, re.M)
        assert refused and float(refused.group(1)) == 4.0, body
        assert re.search(r"^vimod_comments_unprocessed 0\.0$", body, re.M), body
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_api_docs_load_nothing_from_elsewhere(client) -> None:  # noqa: ANN001
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert not re.search(r"(src|href)=\"(https?:)?//", page), page
    assert "<script>" not in page and "<style" not in page  # nothing inline
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "unsafe" not in csp
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset
