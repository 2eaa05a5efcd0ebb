"""The API layer without AWS: who the caller is, and how each domain error becomes one HTTP status."""

import json

import pytest
from aws_lambda_powertools.event_handler.router import Router

from imagetagger import errors
from imagetagger.api.app import build_resolver
from imagetagger.api.auth import user_id_from_event


def _event(path="/boom", claims=None, origin="http://localhost:8000"):
    event = {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"origin": origin},
        "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def test_user_is_the_jwt_sub_claim():
    assert user_id_from_event(_event(claims={"sub": "user-1", "email": "a@b"})) == "user-1"


@pytest.mark.parametrize(
    "claims", [None, {}, {"sub": ""}, {"sub": "a/b"}, {"sub": "a#b"}, {"sub": "x" * 200}, {"sub": 7}]
)
def test_missing_or_unusable_sub_is_unauthorized(claims):
    with pytest.raises(errors.UnauthorizedError):
        user_id_from_event(_event(claims=claims))


@pytest.mark.parametrize(
    "error,status",
    [
        (errors.InvalidImageError("the file is empty"), 400),
        (errors.InvalidRequestError("next_token is malformed"), 400),
        (errors.UnauthorizedError("authentication required"), 401),
        (errors.NotFoundError("image x not found"), 404),
        (errors.PayloadTooLargeError("too big"), 413),
        (errors.UnsupportedMediaTypeError("not an image"), 415),
        (errors.ModelEndpointError("the model endpoint is unreachable"), 503),
    ],
)
def test_each_domain_error_has_one_status_and_its_message(error, status):
    router = Router()

    @router.get("/boom")
    def boom():
        raise error

    response = build_resolver(router).resolve(_event(), {})
    assert response["statusCode"] == status
    assert json.loads(response["body"]) == {"message": str(error)}


def test_cors_answers_only_configured_origins():
    router = Router()

    @router.get("/ok")
    def ok():
        return {"ok": True}

    resolver = build_resolver(router, allowed_origins=("http://localhost:8000", "https://app.example"))
    allowed = resolver.resolve(_event("/ok", origin="https://app.example"), {})
    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://app.example"
    refused = resolver.resolve(_event("/ok", origin="https://evil.example"), {})
    assert "Access-Control-Allow-Origin" not in refused["headers"]
