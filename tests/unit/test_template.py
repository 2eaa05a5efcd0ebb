"""template.yaml: linted clean, and the properties issue 2 and 7 ask of it hold."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imagetagger_local.cfn import TEMPLATE_PATH, load_template

ROOT = TEMPLATE_PATH.parent
SAM = ROOT / ".venv-tools" / "bin" / "sam"


@pytest.fixture(scope="module")
def template():
    return load_template(TEMPLATE_PATH)


def test_cfn_lint_is_clean():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE_PATH)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    not SAM.exists() and not shutil.which("sam"), reason="aws-sam-cli not installed (make sam-validate)"
)
def test_sam_validate_lint_is_clean():
    sam = str(SAM) if SAM.exists() else shutil.which("sam")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [sam, "validate", "--lint", "--region", "us-east-1", "-t", str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _statements(template):
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource.get("Properties", {}).get("Policies", []):
            for statement in policy.get("Statement", []):
                yield logical_id, statement


def test_function_policies_name_their_resources(template):
    statements = list(_statements(template))
    assert statements, "functions declare inline policies"
    for logical_id, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all("*" not in action for action in actions), (logical_id, actions)
        assert "*" not in resources, (logical_id, resources)


def test_only_health_is_unauthenticated(template):
    api = template["Resources"]["HttpApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "CognitoJwt"
    open_routes = [
        event["Properties"]["Path"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi" and event["Properties"].get("Auth", {}).get("Authorizer") == "NONE"
    ]
    assert open_routes == ["/health"]


def test_every_api_route_is_deployed_and_nothing_else(template):
    from imagetagger.api.app import openapi_document

    deployed = {
        (event["Properties"]["Method"], event["Properties"]["Path"]): logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }
    documented = {
        (method.upper(), path) for path, operations in openapi_document()["paths"].items() for method in operations
    }
    assert set(deployed) == documented
    assert deployed.pop(("POST", "/uploads")) == "PresignFunction"
    assert set(deployed.values()) == {"ApiFunction"}
    for logical_id in ("PresignFunction", "ApiFunction", "ProcessFunction"):
        code = template["Resources"][logical_id]["Properties"]["CodeUri"]
        assert (ROOT / code / "app.py").exists()


def test_bucket_is_private_encrypted_and_queue_redrives(template):
    bucket = template["Resources"]["UploadBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    redrive = template["Resources"]["UploadQueue"]["Properties"]["RedrivePolicy"]
    # The handler's MAX_RECEIVES and the queue's maxReceiveCount come from the same parameter.
    assert redrive["maxReceiveCount"] == {"Ref": "MaxReceives"}
    assert template["Globals"]["Function"]["Environment"]["Variables"]["MAX_RECEIVES"] == {"Ref": "MaxReceives"}
    (source,) = template["Resources"]["ProcessFunction"]["Properties"]["Events"].values()
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_layer_requirements_match_runtime_pins():
    runtime = _pins(ROOT / "requirements" / "runtime.txt")
    layer = _pins(ROOT / "layers" / "imagetagger" / "requirements.txt")
    assert layer and all(runtime.get(name) == version for name, version in layer.items()), (layer, runtime)


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.split("[")[0].lower()] = version
    return pins


def test_operations_alarms_notify_the_alarm_topic(template):
    alarms = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    watched = {props.get("MetricName") for props in alarms.values()} | {
        metric["MetricStat"]["Metric"]["MetricName"]
        for props in alarms.values()
        for metric in props.get("Metrics", [])
        if "MetricStat" in metric
    }
    assert {
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Throttles",
        "5xx",
        "Invocation5XXErrors",
        "ModelLatency",
    } <= watched
    assert all(props["AlarmActions"] == [{"Ref": "AlarmTopic"}] for props in alarms.values())
    assert template["Globals"]["Function"]["Tracing"] == "Active"
