"""GET /models through the api function against moto: versions with metrics, which one serves, newest first."""

import boto3
import pytest
from handler_support import REGION, body_of, load_event

from imagetagger.model_registry import ModelRegistry, ModelStatus, ModelVersion


@pytest.fixture
def registry(stack):
    return ModelRegistry(boto3.resource("dynamodb", region_name=REGION).Table(stack.physical_ids["ModelsTable"]))


def _list_models(api, lambda_context):
    response = api.lambda_handler(load_event("api/list_models.json"), lambda_context)
    return response["statusCode"], body_of(response)


def test_empty_registry_lists_nothing(api, lambda_context):
    assert _list_models(api, lambda_context) == (200, {"models": [], "serving": None})


def test_lists_versions_with_metrics_and_the_serving_one(api, registry, lambda_context):
    # GIVEN v1 served, then v2 was promoted over it, then v3 was refused
    registry.promote(
        ModelVersion("v1", ModelStatus.SERVING, {"test": {"mAP": 50.5}}, created_at="2026-11-01T00:00:00Z")
    )
    registry.promote(
        ModelVersion("v2", ModelStatus.SERVING, {"test": {"mAP": 55.25}}, created_at="2026-11-02T00:00:00Z")
    )
    registry.record(
        ModelVersion(
            "v3", ModelStatus.REFUSED, {"test": {"mAP": 12.0}}, reason="worse", created_at="2026-11-03T00:00:00Z"
        )
    )
    status, body = _list_models(api, lambda_context)
    assert status == 200
    assert body["serving"] == "v2"
    assert [(m["model_version"], m["status"], m["serving"]) for m in body["models"]] == [
        ("v3", "REFUSED", False),
        ("v2", "SERVING", True),
        ("v1", "RETIRED", False),
    ]
    assert body["models"][1]["metrics"] == {"test": {"mAP": 55.25}}
    assert body["models"][0]["reason"] == "worse"


def test_a_late_refusal_cannot_demote_the_serving_version(registry):
    registry.promote(ModelVersion("v1", ModelStatus.SERVING, {"test": {"mAP": 50.0}}))
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        registry.record(ModelVersion("v1", ModelStatus.REFUSED, reason="stale"))
    assert registry.serving().model_version == "v1"


def test_models_needs_a_user(api, lambda_context):
    event = load_event("api/list_models.json")
    del event["requestContext"]["authorizer"]
    response = api.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 401
