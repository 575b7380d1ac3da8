"""A site's webhook deliveries in the admin console (/admin/sites/<id>/webhooks): every event
sent to the site with each attempt (answer or error, time, duration), filtered by status; an
admin can send an event again or send a test event. Both are audited on the site.

Endpoints are named sites_webhooks* so the navigation bar keeps "Sites" marked."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from service import db, webhooks
from service.admin import audit, bp
from service.admin.sites import _site_or_404
from service.params import parse_page
from service.queueing import enqueue_webhooks
from service.storage import Site, WebhookAttempt, WebhookDelivery
from service.webhooks import DeliveryStatus

PAGE_SIZE = 50
STATUS_LABELS = {
    DeliveryStatus.pending: _l("Waiting to be sent"),
    DeliveryStatus.delivered: _l("Delivered"),
    DeliveryStatus.failed: _l("Failed"),
}


def _send(delivery_ids: list[int]) -> None:
    """After the commit; if the broker is down the rows wait for the webhook sweep."""
    enqueue_webhooks(current_app.extensions["vimod.producer"], delivery_ids)


def _back(site: Site, status: str | None = None):  # noqa: ANN202
    return redirect(url_for("admin.sites_webhooks", site_id=site.id, status=status), 303)


@bp.get("/sites/<int:site_id>/webhooks")
def sites_webhooks(site_id: int):  # noqa: ANN201
    site = _site_or_404(site_id)
    status = request.args.get("status") or None
    if status is not None and status not in STATUS_LABELS:
        abort(404)
    return _page(site, status, parse_page(request.args.get("page")))


def _page(site: Site, status: str | None = None, page: int = 1, code: int = 200):  # noqa: ANN202
    session = db.session()
    query = select(WebhookDelivery).where(WebhookDelivery.site_id == site.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    deliveries = list(session.scalars(query.order_by(WebhookDelivery.id.desc())
                                      .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    has_next = len(deliveries) > PAGE_SIZE
    deliveries = deliveries[:PAGE_SIZE]
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    if deliveries:
        for attempt in session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(attempts))
                .order_by(WebhookAttempt.id)):
            attempts[attempt.delivery_id].append(attempt)
    counts = dict(session.execute(
        select(WebhookDelivery.status, func.count()).where(WebhookDelivery.site_id == site.id)
        .group_by(WebhookDelivery.status)).tuples().all())
    settings = site.settings or {}
    return render_template(
        "admin/sites/webhooks.html", site=site, deliveries=deliveries, attempts=attempts,
        status=status, statuses=STATUS_LABELS, counts=counts, page=page, has_next=has_next,
        webhook_url=settings.get("webhook_url"), has_secret=bool(settings.get("webhook_secret")),
    ), code


@bp.post("/sites/<int:site_id>/webhooks/<int:delivery_id>/redeliver")
def sites_webhooks_redeliver(site_id: int, delivery_id: int):  # noqa: ANN201
    site = _site_or_404(site_id)
    session = db.session()
    original = session.get(WebhookDelivery, delivery_id)
    if original is None or original.site_id != site.id:
        abort(404)
    if not webhooks.webhook_url(site):
        flash(_("Set a webhook URL in the site's settings first."), "error")
        return _page(site, code=400)
    # A new delivery (new id, the event's original time): a delivered row is never re-sent,
    # and the receiver can tell a repeat by `redelivery_of`.
    copy = webhooks.add_redelivery(session, original)
    audit("site.webhook_redeliver", "site", site.id,
          {"delivery": original.id, "redelivery": copy.id, "event": original.event})
    session.commit()
    _send([copy.id])
    flash(_("Event #%(old)d is being sent again as #%(new)d.", old=original.id, new=copy.id),
          "ok")
    status = request.form.get("status")
    return _back(site, status if status in STATUS_LABELS else None)


@bp.post("/sites/<int:site_id>/webhooks/test")
def sites_webhooks_test(site_id: int):  # noqa: ANN201
    site = _site_or_404(site_id)
    if not webhooks.webhook_url(site):
        flash(_("Set a webhook URL in the site's settings first."), "error")
        return _page(site, code=400)
    session = db.session()
    ping = webhooks.add_ping(session, site)
    audit("site.webhook_test", "site", site.id, {"delivery": ping.id})
    session.commit()
    _send([ping.id])
    flash(_("A test event (#%(id)d) is on its way; reload to see the answer.", id=ping.id),
          "ok")
    return _back(site)
