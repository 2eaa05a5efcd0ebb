"""events/ holds one real-shaped event per function and route (usable with `sam local invoke -e`)."""

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, SQSEvent

from imagetagger.processing import objects_from_message
from imagetagger_local.cfn import TEMPLATE_PATH, load_template

EVENTS = TEMPLATE_PATH.parent / "events"
FUNCTION_DIRS = {"PresignFunction": "presign", "ApiFunction": "api", "ProcessFunction": "process"}


def _http_routes():
    template = load_template(TEMPLATE_PATH)
    return {
        f"{event['Properties']['Method']} {event['Properties']['Path']}": logical_id
        for logical_id, resource in template["Resources"].items()
        if logical_id in FUNCTION_DIRS
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }


def _events(function_dir: str) -> list[Path]:
    return sorted((EVENTS / function_dir).glob("*.json"))


def test_every_route_has_an_event_in_its_functions_folder():
    for route_key, logical_id in _http_routes().items():
        keys = {json.loads(path.read_text())["routeKey"] for path in _events(FUNCTION_DIRS[logical_id])}
        assert route_key in keys, f"no event for {route_key} in events/{FUNCTION_DIRS[logical_id]}/"


@pytest.mark.parametrize("path", _events("api") + _events("presign"), ids=lambda p: p.name)
def test_http_events_are_api_gateway_v2_shaped(path):
    raw = json.loads(path.read_text())
    event = APIGatewayProxyEventV2(raw)
    assert event.version == "2.0" and event.route_key == raw["requestContext"]["routeKey"]
    method, route = event.route_key.split(" ", 1)
    assert event.request_context.http.method == method
    if "{" not in route:
        assert event.raw_path == route
    if route != "/health":
        assert event.request_context.authorizer.jwt_claim["sub"]


@pytest.mark.parametrize("path", _events("process"), ids=lambda p: p.name)
def test_sqs_events_carry_s3_notifications(path):
    event = SQSEvent(json.loads(path.read_text()))
    for record in event.records:
        assert record.attributes.approximate_receive_count
        (obj,) = objects_from_message(record.body)
        assert obj.key.startswith("uploads/")
