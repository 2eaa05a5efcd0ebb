"""Fixtures shared by the unit tests."""

import boto3
import pytest
from moto import mock_aws

from imagetagger.storage import ImageRepository
from imagetagger_local.cfn import create_stack_resources


@pytest.fixture
def repo(monkeypatch):
    """An ImageRepository over moto tables built from template.yaml."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        stack = create_stack_resources("storage-test", region="us-east-1")
        yield ImageRepository.from_names(
            boto3.resource("dynamodb", region_name="us-east-1"),
            stack.physical_ids["ImagesTable"],
            stack.physical_ids["TagsTable"],
        )
