"""Who may read /metrics (README, "Operations"). In order:

- VIMOD_METRICS_PORT set: the gunicorn master serves the metrics on that port
  (service/metrics_server.py), for a firewall or a private network to keep; the app's
  /metrics answers 404.
- VIMOD_METRICS_TOKEN set: /metrics needs `Authorization: Bearer <token>` (401 without).
- VIMOD_METRICS_PUBLIC=1 (`vimod dev` sets it, on localhost): anyone.
- none of them: refused (403), so a production server never shows its figures to the world
  by default."""

from __future__ import annotations

import hmac

from flask import current_app, request

from service.errors import APIError


def check_scrape_allowed() -> None:
    """Raise the APIError that refuses this scrape, if it is refused."""
    config = current_app.config
    if config.get("METRICS_PORT"):
        raise APIError(404, f"Metrics are served on port {config['METRICS_PORT']} "
                            "(VIMOD_METRICS_PORT).")
    token = config.get("METRICS_TOKEN")
    if token:
        scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode("utf-8", "surrogatepass"), token.encode()):
            raise APIError(401, "Send the metrics token: Authorization: Bearer <token>.",
                           headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        return
    if not config.get("METRICS_PUBLIC"):
        raise APIError(403, "Metrics are off: set VIMOD_METRICS_TOKEN (and scrape with it) or "
                            "VIMOD_METRICS_PORT; see README, Operations.")
