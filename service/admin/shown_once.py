"""Secrets shown once (a new API key, webhook secret or password).

The view that makes one puts it in Redis for a few minutes under a random token bound to the
admin who asked, then redirects; the next page takes it (read and deleted in one
transaction). Reloading that page, the browser's history or a shared URL shows nothing, and
the secret never travels in a cookie or sits in the database."""

from __future__ import annotations

import json
import secrets

from flask import current_app
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError

from service.errors import APIError

SHOWN_ONCE_SECONDS = 10 * 60


def _key(token: str) -> str:
    return f"vimod:shown-once:{current_user.id}:{token}"


def stash(target: str, kind: str, secret: str) -> str:
    """Keep `secret` (a `kind` such as "api_key") for the page about `target` (e.g. "site:3");
    returns the token for the redirect. Call before committing: without Redis the change
    must not happen, or the secret would be lost."""
    token = secrets.token_urlsafe(18)
    try:
        current_app.extensions["vimod.redis"].set(
            _key(token), json.dumps({"target": target, "kind": kind, "secret": secret}),
            ex=SHOWN_ONCE_SECONDS)
    except RedisError as exc:
        raise APIError(503, _("The new secret could not be prepared for display; nothing was "
                              "changed. Please try again shortly.")) from exc
    return token


def take(token: str | None, target: str) -> tuple[str, str] | None:
    """(kind, secret) stashed under `token` for `target`, once; None if shown already,
    expired, someone else's or about another page."""
    if not token or len(token) > 64:
        return None
    try:
        pipe = current_app.extensions["vimod.redis"].pipeline(transaction=True)
        pipe.get(_key(token))
        pipe.delete(_key(token))
        raw, _deleted = pipe.execute()
    except RedisError:
        return None
    if raw is None:
        return None
    data = json.loads(raw)
    return (data["kind"], data["secret"]) if data.get("target") == target else None
