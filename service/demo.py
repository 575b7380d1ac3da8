"""The demo article page (`GET /demo`): a plain Vietnamese news article with the embedded
comment form, so a new user sees the whole loop in a browser — write a comment, approve it
in the review queue, reload. Registered only when the app's DEMO_PAGE is on (`vimod dev`
sets VIMOD_DEMO=1).

`?site=<public key>` picks the site (default: the oldest one), `?lang=en` the form's
English texts. Like every page it is served under the app's CSP: no inline script or style;
the form comes from /embed.js exactly as a news site would load it."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from service import db
from service.storage import Site

bp = Blueprint("demo", __name__)

ARTICLE_ID = "demo-1"
ARTICLE_TITLE = "Sơn Thủy khởi công nâng cấp tỉnh lộ 712 qua ba xã vùng cao"


@bp.get("/demo")
def article() -> tuple[str, int] | str:
    session = db.session()
    public_key = request.args.get("site", "").strip()
    if public_key:
        site = session.scalar(select(Site).where(Site.public_key == public_key))
    else:
        site = session.scalar(select(Site).order_by(Site.created_at, Site.id).limit(1))
    origin = request.host_url.rstrip("/")
    html = render_template(
        "demo/article.html",
        site=site,
        asked_for=public_key,
        origin=origin,
        origin_allowed=bool(site) and origin.lower() in (site.allowed_origins or []),
        lang="en" if request.args.get("lang") == "en" else "vi",
        article_id=ARTICLE_ID,
        article_title=ARTICLE_TITLE,
        article_url=request.base_url,
    )
    return (html, 404) if site is None else html
