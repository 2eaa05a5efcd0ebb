"""The API Gateway emulator: JWT authorizer, routing, CORS and Lambda proxy integration, with an echo function."""

import json
import textwrap

import pytest
from werkzeug.test import Client

from imagetagger_local.api_gateway import ApiGatewayEmulator
from imagetagger_local.lambda_runtime import LocalFunction
from imagetagger_local.template import FunctionSpec, HttpRoute
from imagetagger_local.tokens import TokenVerifier, issue_token

WEB_ORIGIN = "http://127.0.0.1:8000"
ECHO_HANDLER = """
import json
import os

def lambda_handler(event, context):
    if event["rawPath"] == "/boom":
        raise RuntimeError("a bug in the handler")
    body = {"event": event, "remaining_ms": context.get_remaining_time_in_millis(), "table": os.environ["TABLE"]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
"""


@pytest.fixture
def api(tmp_path, monkeypatch):
    monkeypatch.setenv("TABLE", "restored-after-the-test")  # LocalFunction sets the process environment
    code_dir = tmp_path / "echo"
    code_dir.mkdir()
    (code_dir / "app.py").write_text(textwrap.dedent(ECHO_HANDLER))
    function = LocalFunction(FunctionSpec("Echo", code_dir, "app.lambda_handler", 29, 512), {"TABLE": "images"})
    routes = [
        HttpRoute("GET", "/health", "Echo", authorized=False),
        HttpRoute("GET", "/items/{item_id}", "Echo", authorized=True),
        HttpRoute("POST", "/boom", "Echo", authorized=True),
    ]
    jwt_dir = tmp_path / "jwt"
    emulator = ApiGatewayEmulator(
        routes, {"Echo": function}, TokenVerifier(jwt_dir), [WEB_ORIGIN], lambda user: issue_token(jwt_dir, user)
    )
    client = Client(emulator)
    client.token = issue_token(jwt_dir, "alice")
    return client


def test_authorized_routes_refuse_requests_without_a_valid_token(api):
    response = api.get("/items/1")
    assert response.status_code == 401 and response.json == {"message": "Unauthorized"}
    assert api.get("/items/1", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_the_handler_gets_the_user_path_parameters_and_its_environment(api):
    response = api.get("/items/42?x=1", headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 200
    body = response.json
    assert body["event"]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "alice"
    assert body["event"]["pathParameters"] == {"item_id": "42"} and body["event"]["queryStringParameters"] == {"x": "1"}
    assert body["table"] == "images" and 0 < body["remaining_ms"] <= 29_000


def test_open_routes_need_no_token_and_unknown_routes_are_404(api):
    assert api.get("/health").status_code == 200
    assert api.get("/nothing-here").status_code == 404


def test_a_crashing_handler_becomes_a_generic_500(api):
    response = api.post("/boom", headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 500 and response.json == {"message": "Internal Server Error"}
    assert "a bug" not in response.get_data(as_text=True)  # no internals leak to the client


def test_cors_preflight_and_responses_allow_only_the_web_origin(api):
    preflight = api.options(
        "/items/1",
        headers={
            "Origin": WEB_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == WEB_ORIGIN
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
    foreign = api.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_local_sign_in_issues_a_token_the_api_accepts(api):
    response = api.get("/local/token?user=bob", headers={"Origin": WEB_ORIGIN})
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == WEB_ORIGIN
    token = response.json["token"]
    claims = api.get("/items/1", headers={"Authorization": f"Bearer {token}"}).json["event"]["requestContext"]
    assert claims["authorizer"]["jwt"]["claims"]["sub"] == "bob"
    assert api.get("/local/token?user=../x").status_code == 400


def test_oversized_bodies_are_refused_before_the_handler(api):
    response = api.post("/boom", data=b"x" * (10 * 1024 * 1024 + 1), headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 413
    assert json.loads(response.data)["message"]
