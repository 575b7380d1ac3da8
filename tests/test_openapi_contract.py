"""The OpenAPI document (/api/v1/openapi.json) is exact: schemathesis generates requests for
every documented operation from the document itself — valid ones and invalid ones — sends
them to the app (real Redis, SQLite and PostgreSQL), and checks each answer against it:
status codes, content types, headers and bodies as documented, no 5xx, and data the
document calls valid is not refused. Bounded: a few examples an operation and mode, derived
deterministically, so a run takes seconds and a failure repeats."""

from __future__ import annotations

import os
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from service.api.fast_load import _PLAIN_EMAIL
from service.api.schemas import MAX_BODY_CEILING
from service.storage import Site
from tests.helpers import set_settings

EXAMPLES = 15
# The formats the document names beyond JSON Schema's regular expressions, generated as
# the server defines them: addresses email-validator accepts, ids that survive a URL path.
schemathesis.openapi.format("email", st.from_regex(_PLAIN_EMAIL, fullmatch=True))
schemathesis.openapi.format("article-id", st.from_regex(r"[a-z0-9][a-z0-9._/-]{0,30}[a-z0-9]",
                                                        fullmatch=True).filter(
    lambda s: "//" not in s and "/." not in s))
# Valid data refused for reasons no document can state: a reader form's CAPTCHA and form
# token must come from the server, a reply's parent must exist.
STATEFUL = {"POST /api/v1/public/sites/{public_key}/articles/{article_id}/comments"}


def _check(strategy: st.SearchStrategy, excluded: list) -> None:
    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case) -> None:  # noqa: ANN001
        if isinstance(case.body, dict):
            case.body.pop("parent_id", None)  # a reply needs a parent that exists
        case.call_and_validate(excluded_checks=excluded)

    check()


def test_every_operation_answers_as_documented(app, site, sessions) -> None:  # noqa: ANN001
    site_id, api_key = site
    # The body's documented ceiling is the site's own limit here (default 2000: a 422).
    set_settings(sessions, site_id, max_length=MAX_BODY_CEILING)
    with sessions() as s:
        public_key = s.get(Site, site_id).public_key
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
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
                _check(strategy, excluded)
            except Unsatisfiable:
                pass  # nothing of the operation can be made invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all are tried
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:2000]
    report = "\n\n".join(f"{k}: {v}" for k, v in failures.items())
    if os.environ.get("VIMOD_CONTRACT_REPORT"):
        Path(os.environ["VIMOD_CONTRACT_REPORT"]).write_text(report)
    assert failures == {}, report
