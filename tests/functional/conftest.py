"""Fixtures: moto S3/SQS/DynamoDB built from template.yaml by cfn.py, the handlers, a Lambda context, a fake model."""

from __future__ import annotations

import boto3
import pytest
from handler_support import REGION, FakeSageMakerRuntime, LambdaContext, load_handler
from moto import mock_aws

from imagetagger import aws, services
from imagetagger_local.cfn import StackResources, create_stack_resources


def pytest_configure(config):
    # Handlers that record no business metric in a test flush an empty set; Powertools warns about it.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def stack(monkeypatch) -> StackResources:
    """moto S3/SQS/DynamoDB with template.yaml's resources, and the functions' environment applied."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ImageTaggerTest",
        "POWERTOOLS_SERVICE_NAME": "imagetagger",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        resources = create_stack_resources("functest", region=REGION)
        for name, value in resources.environment.items():
            monkeypatch.setenv(name, value)
        boto3.client("sqs", region_name=REGION).purge_queue(QueueUrl=resources.queue_url)  # S3's test event
        services.reset()
        yield resources
        services.reset()


@pytest.fixture
def model(stack, monkeypatch) -> FakeSageMakerRuntime:
    fake = FakeSageMakerRuntime()
    monkeypatch.setattr(aws, "sagemaker_runtime_client", lambda timeout_s: fake)
    return fake


@pytest.fixture
def presign(stack):
    return load_handler("presign")


@pytest.fixture
def api(stack):
    return load_handler("api")


@pytest.fixture
def process(stack):
    return load_handler("process")
