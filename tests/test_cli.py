"""The `vimod` command line, run as a real process against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from service.security import hash_api_key, verify_password
from service.storage import Site, User

ROOT = Path(__file__).resolve().parent.parent


def vimod(settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:  # noqa: ANN001
    env = dict(os.environ, DATABASE_URL=settings.database_url,
               VIMOD_INSTANCE=str(settings.instance), SECRET_KEY="x", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "service", *args], input=stdin, capture_output=True, text=True,
        env=env, cwd=ROOT, timeout=60,
    )


def test_db_upgrade_is_idempotent(settings, engine) -> None:  # noqa: ANN001
    result = vimod(settings, "db", "upgrade")
    assert result.returncode == 0, result.stderr


def test_site_create_json(settings, sessions) -> None:  # noqa: ANN001
    result = vimod(settings, "site", "create", "Báo Quảng Ninh", "--domain", "baoquangninh.vn",
                   "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"id", "api_key", "public_key"}
    with sessions() as s:
        site = s.get(Site, out["id"])
        assert site.name == "Báo Quảng Ninh"
        assert site.api_key_hash == hash_api_key(out["api_key"])
        assert out["api_key"] not in json.dumps(site.settings)  # only the hash is kept
        assert site.public_key == out["public_key"]
        assert site.allowed_origins == ["https://baoquangninh.vn"]
        assert site.setting("max_length") == 2000
        assert site.setting("premoderation") is True


def test_user_create_with_password_on_stdin(settings, sessions, site) -> None:  # noqa: ANN001
    site_id, _ = site
    result = vimod(settings, "user", "create", "bientapvien", "--role", "moderator",
                   "--site", str(site_id), "--json", stdin="mật-khẩu-dài-123\n")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert "password" not in out
    with sessions() as s:
        user = s.scalar(select(User).where(User.username == "bientapvien"))
        assert user.role == "moderator"
        assert [x.id for x in user.sites] == [site_id]
        assert verify_password(user.password_hash, "mật-khẩu-dài-123")
        assert not verify_password(user.password_hash, "wrong")


def test_user_create_generates_password(settings, sessions) -> None:  # noqa: ANN001
    result = vimod(settings, "user", "create", "quantri", "--role", "admin", "--json", stdin="")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    with sessions() as s:
        user = s.scalar(select(User).where(User.username == "quantri"))
        assert verify_password(user.password_hash, out["password"])


def test_user_create_errors(settings, sessions) -> None:  # noqa: ANN001
    assert vimod(settings, "user", "create", "a", "--role", "admin", stdin="").returncode == 0
    dup = vimod(settings, "user", "create", "a", "--role", "admin", stdin="")
    assert dup.returncode != 0 and "already exists" in dup.stderr
    bad_site = vimod(settings, "user", "create", "b", "--role", "moderator", "--site", "999",
                     stdin="")
    assert bad_site.returncode != 0 and "no site" in bad_site.stderr
    short = vimod(settings, "user", "create", "c", "--role", "moderator", stdin="ngan\n")
    assert short.returncode != 0 and "at least 8" in short.stderr
