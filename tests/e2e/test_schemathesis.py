"""Property-based requests generated from the OpenAPI document (imagetagger/api/openapi.json) against the local API
(schemathesis, bounded).

Every generated request, valid or not, must get an answer that is not a 5xx and, when 2xx, matches the documented
response schema. The budget is small for `make test`; a longer run:

    IMAGETAGGER_SCHEMATHESIS_EXAMPLES=500 .venv/bin/python -m pytest tests/e2e/test_schemathesis.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.e2e

OPENAPI = Path(__file__).resolve().parents[2] / "layers" / "imagetagger" / "imagetagger" / "api" / "openapi.json"
schema = schemathesis.openapi.from_path(OPENAPI)
EXAMPLES = int(os.environ.get("IMAGETAGGER_SCHEMATHESIS_EXAMPLES", "15"))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 15,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_never_get_a_server_error(case, local_stack):
    response = case.call(base_url=local_stack.api_url, headers=local_stack.auth("schemathesis"), timeout=60)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    # Documented responses (2xx bodies, 4xx ErrorMessage) must match their schema.
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
