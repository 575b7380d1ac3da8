"""/api/v1/docs: Swagger UI for the OpenAPI document. APIFlask's own page loads Swagger UI
from a CDN and initialises it with an inline script; this one serves the files vendored
from the npm registry (static/vendor/swagger_ui, see its README.txt) and starts them from
static/api_docs.js, under a Content-Security-Policy that allows nothing but this origin."""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template, url_for

bp = Blueprint("api_docs", __name__)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'none'; "
       "base-uri 'none'")


@bp.get("/api/v1/docs")
def docs() -> Response:
    response = make_response(render_template("api_docs.html",
                                             spec_url=url_for("openapi.spec")))
    response.headers["Content-Security-Policy"] = CSP
    return response
