"""Creating sites and users, and replacing their secrets: shared by the CLI, `vimod dev` and
the admin console."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.security import (
    hash_api_key,
    hash_password,
    new_api_key,
    new_password,
    new_public_key,
)
from service.storage import Role, Site, User
from service.storage.tables import DEFAULT_SITE_SETTINGS
from service.user_sessions import revoke_all


@dataclass
class NewSite:
    site: Site
    api_key: str  # the secret: shown once, never stored


def create_site(
    session: Session,
    name: str,
    domain: str | None = None,
    allowed_origins: list[str] | None = None,
) -> NewSite:
    site = Site(
        name=name,
        domain=domain,
        public_key=new_public_key(),
        allowed_origins=list(allowed_origins or ([f"https://{domain}"] if domain else [])),
        settings=dict(DEFAULT_SITE_SETTINGS),
    )
    api_key = rotate_api_key(site)
    session.add(site)
    session.flush()
    return NewSite(site=site, api_key=api_key)


def rotate_api_key(site: Site) -> str:
    """Give the site a new secret key and return it (to show once): only its hash and a short
    prefix (to tell keys apart) are kept, so the old key stops matching at once."""
    api_key = new_api_key()
    site.api_key_hash = hash_api_key(api_key)
    site.api_key_prefix = api_key[:12]
    return api_key


WEBHOOK_SECRET_PREFIX = "vmw_"


def rotate_webhook_secret(site: Site) -> str:
    """A new secret for signing the site's webhooks (returned, to show once). Unlike the API
    key it is kept as is in the settings: signing needs the secret itself."""
    secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    site.settings = {**(site.settings or {}), "webhook_secret": secret}
    return secret


class AccountError(ValueError):
    pass


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str | None = None,
    site_ids: list[int] | None = None,
) -> tuple[User, str | None]:
    """Create a user; returns the user and the generated password (None if one was given)."""
    if role not in {r.value for r in Role}:
        raise AccountError(f"role must be one of {', '.join(r.value for r in Role)}")
    username = username.strip()
    if not username or len(username) > 100:
        raise AccountError("username must be 1-100 characters")
    if session.scalar(select(User).where(User.username == username)):
        raise AccountError(f"user {username!r} already exists")
    generated = None
    if password is None:
        password = generated = new_password()
    if len(password) < 8:
        raise AccountError("password must be at least 8 characters")
    sites = []
    for site_id in site_ids or []:
        site = session.get(Site, site_id)
        if site is None:
            raise AccountError(f"no site with id {site_id}")
        sites.append(site)
    user = User(username=username, password_hash=hash_password(password), role=role, sites=sites)
    session.add(user)
    session.flush()
    return user, generated


def reset_password(session: Session, user: User) -> str:
    """Give the user a generated password and return it (to show once); every session signed
    in with the old one ends (committed with the caller's transaction)."""
    password = new_password()
    user.password_hash = hash_password(password)
    revoke_all(session, user.id)
    return password
