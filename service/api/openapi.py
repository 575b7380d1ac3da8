"""What /api/v1/openapi.json says that no single view's decorators can: the answers every
operation may give because of app-wide rules, stated once here (APIFlask's spec processor)
so that the document stays exact as operations are added. tests/test_openapi_contract.py
holds the document to the app with schemathesis."""

from __future__ import annotations

from typing import Any

from service import text_rules
from service.api.intake import MAX_IDEMPOTENCY_KEY

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _ERROR}


# A JSON body is read by one rule everywhere (service/request_body.py).
_BODY_ERRORS = {
    "400": _error("invalid_json: the body is not UTF-8 JSON, or nests more than 32 levels; "
                  "or bad_request: a NUL character in the URL"),
    "413": _error("request_too_large: the body is over VIMOD_MAX_REQUEST_BYTES"),
    "415": _error("unsupported_media_type: no body, or not Content-Type: application/json"),
}
_URL_ERROR = {"400": _error("bad_request: a NUL character in the URL path or query")}
_UNAVAILABLE = {
    "description": "unavailable: the database cannot be reached; retry after Retry-After",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": _ERROR,
}
_IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "description": "Makes a retry safe: the same key returns the same comment (never a "
    "second one); the same key with another payload is 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY,
               "pattern": text_rules.json_schema_pattern(one_line=False, visible=True)},
}
_READY = {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["ok", "unavailable"]},
    "checks": {"type": "object", "additionalProperties": {"type": "string"}}}}


def _has_required(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    if ref := schema.get("$ref"):
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return bool(schema.get("required"))


def complete(spec: dict[str, Any]) -> dict[str, Any]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                # A body the schema needs (required fields) must be sent at all.
                operation["requestBody"]["required"] = _has_required(
                    spec, body["application/json"].get("schema", {}))
                for status, response in _BODY_ERRORS.items():
                    responses[status] = response
            if operation.get("parameters") or "{" in path:
                for status, response in _URL_ERROR.items():
                    responses.setdefault(status, response)
            if path.startswith("/api/v1/"):
                responses.setdefault("503", _UNAVAILABLE)
            if method == "post" and path.endswith("/comments"):  # the intake, the reader form
                operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)
    if readyz := spec["paths"].get("/readyz", {}).get("get"):
        ready = {"application/json": {"schema": _READY}}
        readyz["responses"]["200"] = {"description": "Every check is ok", "content": ready}
        readyz["responses"]["503"] = {"description": "A check failed", "content": ready}
    if metrics := spec["paths"].get("/metrics", {}).get("get"):
        metrics["responses"]["200"] = {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}}}
    return spec
