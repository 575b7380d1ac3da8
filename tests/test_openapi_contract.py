"""The OpenAPI document (/api/v1/openapi.json) is exact: schemathesis generates requests for
every documented operation from the document itself — valid ones and invalid ones — sends
them to the app (real Redis, SQLite and PostgreSQL), and checks each answer against it:
status codes, content types, headers and bodies as documented, no 5xx, and data the
document calls valid is not refused. Bounded: a few examples an operation and mode, derived
deterministically, so a run takes seconds and a failure repeats."""

from __future__ import annotations

import os
from pathlib import Path

import jsonschema_rs
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)

from service.api.fast_load import _PLAIN_EMAIL, _plain_email
from service.api.schemas import MAX_BODY_CEILING
from service.storage import Site
from tests.helpers import set_settings

# A few examples an operation in the suite; a longer campaign by hand:
# VIMOD_CONTRACT_EXAMPLES=300 VIMOD_CONTRACT_RANDOM=1 pytest tests/test_openapi_contract.py
EXAMPLES = int(os.environ.get("VIMOD_CONTRACT_EXAMPLES", "15"))
DERANDOMIZE = not os.environ.get("VIMOD_CONTRACT_RANDOM")
# The formats the document names beyond JSON Schema's regular expressions, generated as
# the server defines them: addresses email-validator accepts, ids that survive a URL path.
schemathesis.openapi.format("email", st.from_regex(_PLAIN_EMAIL, fullmatch=True).filter(
    _plain_email))
schemathesis.openapi.format("article-id", st.from_regex(r"[a-z0-9][a-z0-9._/-]{0,30}[a-z0-9]",
                                                        fullmatch=True).filter(
    lambda s: "//" not in s and "/." not in s))
# Valid data refused for reasons no document can state: a reader form's CAPTCHA and form
# token must come from the server, a reply's parent must exist.
STATEFUL = {"POST /api/v1/public/sites/{public_key}/articles/{article_id}/comments"}


def _check(strategy: st.SearchStrategy, excluded: list, spec: dict, operation) -> None:  # noqa: ANN001
    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case) -> None:  # noqa: ANN001
        if isinstance(case.body, dict):
            case.body.pop("parent_id", None)  # a reply needs a parent that exists
        response = case.call_and_validate(excluded_checks=[*excluded, negative_data_rejection])
        if case.meta.generation.mode.is_negative and response.status_code < 300:
            # schemathesis's own check trusts its mutation to break the document; it
            # sometimes does not (a "*" appended where the pattern allows one). What was
            # accepted is compared with the document itself.
            broken = _violations(spec, operation, case)
            assert not broken, f"accepted although {broken}: {case.as_curl_command()}"

    check()


def _as_sent(value: object, schema: dict) -> object:
    """A URL or header parameter as the server reads it: text (false → "false"), a list
    where the document asks for an array."""
    def text(item: object) -> str:
        return str(item).lower() if isinstance(item, bool) else str(item)

    def typed(raw: str, kind: object) -> object:  # "1" is an integer in a URL
        for python, name in ((int, "integer"), (float, "number")):
            if kind == name:
                try:
                    return python(raw)
                except ValueError:
                    return raw
        return raw

    if schema.get("type") == "array":
        kind = (schema.get("items") or {}).get("type")
        return [typed(text(v), kind) for v in (value if isinstance(value, list) else [value])]
    if isinstance(value, list):
        return typed(text(value[0]), schema.get("type")) if len(value) == 1 else value
    return typed(text(value), schema.get("type"))


def _violations(spec: dict, operation, case) -> list[str]:  # noqa: ANN001
    """The parts of the request that the document calls invalid."""
    definition = spec["paths"][operation.path][operation.method.lower()]
    found = []

    def validate(schema: dict, value: object, what: str) -> None:
        validator = jsonschema_rs.validator_for({**schema, "components": spec["components"]})
        if not validator.is_valid(value):
            found.append(what)

    if case.body is not NOT_SET and "requestBody" in definition:
        schema = definition["requestBody"]["content"]["application/json"]["schema"]
        validate(schema, case.body, "the body")
    sent = {"header": {k.lower(): v for k, v in (case.headers or {}).items()},
            "query": case.query or {}, "path": case.path_parameters or {}}
    for parameter in definition.get("parameters", []):
        values = sent[parameter["in"]]
        name = parameter["name"].lower() if parameter["in"] == "header" else parameter["name"]
        if name in values:
            validate(parameter["schema"], _as_sent(values[name], parameter["schema"]),
                     f"{parameter['in']} {parameter['name']}")
        elif parameter.get("required"):
            found.append(f"{parameter['in']} {parameter['name']} missing")
    return found


def test_every_operation_answers_as_documented(app, site, sessions) -> None:  # noqa: ANN001
    site_id, api_key = site
    # The body's documented ceiling is the site's own limit here (default 2000: a 422).
    set_settings(sessions, site_id, max_length=MAX_BODY_CEILING)
    with sessions() as s:
        public_key = s.get(Site, site_id).public_key
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    failures: dict[str, str] = {}
    for operation in operations:
        params = {"public_key": public_key} if "{public_key}" in operation.path else None
        # The key is a fixed header: schemathesis would take it for one it made up.
        excluded = [ignored_auth]
        if operation.label in STATEFUL:
            excluded.append(positive_data_acceptance)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(
                mode, path_parameters=params,
                headers={"X-Api-Key": api_key, "Origin": "https://baothu.vn"})

            try:
                _check(strategy, excluded, spec, operation)
            except Unsatisfiable:
                pass  # nothing of the operation can be made invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all are tried
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:2000]
    report = "\n\n".join(f"{k}: {v}" for k, v in failures.items())
    if os.environ.get("VIMOD_CONTRACT_REPORT"):
        Path(os.environ["VIMOD_CONTRACT_REPORT"]).write_text(report)
    assert failures == {}, report
