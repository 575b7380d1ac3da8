"""How the app reads request bodies: one size limit and one JSON rule for every endpoint."""

from __future__ import annotations

import io
import logging
import typing as t

from apiflask import APIFlask
from apiflask.schema_adapters.marshmallow import parser
from flask import Request as FlaskRequest
from webargs import core
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property

from service import json_body
from service.errors import APIError

log = logging.getLogger(__name__)


class Request(FlaskRequest):
    @cached_property
    def stream(self) -> t.IO[bytes]:  # type: ignore[override]
        """A chunked body (no Content-Length) over max_content_length is a 413. Werkzeug
        hands such a body over cut at the limit and raises only on the next read, so a
        JSON body cut at 64 KiB read as "invalid JSON" instead of "too large"."""
        limit = self.max_content_length
        if (self.content_length is not None or limit is None
                or "wsgi.input_terminated" not in self.environ):
            return super().stream
        data = self.environ["wsgi.input"].read(limit + 1)
        if len(data) > limit:
            raise RequestEntityTooLarge()
        return io.BytesIO(data)

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        if e is None:  # get_json() on a body that is not declared JSON
            raise APIError(415, "Send JSON with Content-Type: application/json.")
        # One line in the log, no traceback: a client's mistake, not the server's.
        log.info("refused %s %s: invalid JSON body: %s", self.method, self.path, e)
        raise APIError(400, f"The request body is not valid JSON: {e}.", code="invalid_json")


def _load_json(request: Request, _schema: t.Any) -> t.Any:
    """The schemas' JSON location (webargs), parsed once per request by the app's rule:
    no body at all is no data (the schema names what is missing, or uses its defaults); a
    body that is not declared JSON is 415, as the intake answers it."""
    if not request.get_data(cache=True):
        return core.missing
    if not core.is_json(request.mimetype):
        raise APIError(415, "Send JSON with Content-Type: application/json.",
                       fields={"Content-Type": f"Got {request.mimetype or 'nothing'}."})
    return request.get_json()


def init_app(app: APIFlask) -> None:
    app.request_class = Request
    app.json = json_body.JSONProvider(app)
    app.json.ensure_ascii = False  # Vietnamese stays readable in responses
    # webargs' own JSON loader decodes the body by a rule of its own (UTF-8, no depth
    # limit): registered here, the schemas read the body Flask parsed.
    parser.location_loader("json")(_load_json)
