"""cfn.py builds the template's own bucket, queues and tables; these tests check what it built against template.yaml."""

import json
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from imagetagger_local.cfn import TEMPLATE_PATH, create_stack_resources, load_template
from imagetagger_local.cfn_intrinsics import IntrinsicResolver, UnresolvableError


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def test_short_tags_are_expanded_to_long_form():
    template = load_template(TEMPLATE_PATH)
    bucket = template["Resources"]["UploadBucket"]["Properties"]
    assert bucket["BucketName"] == {"Fn::Sub": "${AWS::StackName}-uploads-${AWS::AccountId}"}
    queue = template["Resources"]["UploadQueue"]["Properties"]["RedrivePolicy"]
    assert queue["deadLetterTargetArn"] == {"Fn::GetAtt": ["UploadDeadLetterQueue", "Arn"]}
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "ImageTaggerLayer"}]


class _Nothing:
    physical_ids: dict = {}
    arns: dict = {}


def test_resolver_handles_sub_join_select_and_parameters():
    template = {"Parameters": {"Origins": {"Type": "CommaDelimitedList", "Default": "a,b"}, "N": {"Type": "Number"}}}
    resolver = IntrinsicResolver(template, "stack", "eu-west-1", "111", {"N": "7"}, _Nothing())
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${AWS::Region}-${N}"}) == "stack-eu-west-1-7"
    assert resolver.resolve({"Fn::Sub": ["${X}/${!Literal}", {"X": {"Ref": "AWS::AccountId"}}]}) == "111/${Literal}"
    assert resolver.resolve({"Fn::Join": [";", {"Ref": "Origins"}]}) == "a;b"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": ["-", "x-y-z"]}]}) == "y"


def test_resolver_rejects_unknown_parameters_and_defers_uncreated_resources():
    template = {"Parameters": {}, "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    with pytest.raises(ValueError, match="unknown template parameters"):
        IntrinsicResolver(template, "s", "r", "a", {"Nope": "1"}, _Nothing())
    resolver = IntrinsicResolver(template, "s", "r", "a", {}, _Nothing())
    with pytest.raises(UnresolvableError):
        resolver.resolve({"Fn::GetAtt": ["Q", "Arn"]})


def test_creates_tables_with_the_template_keys_index_and_ttl(aws):
    stack = create_stack_resources("itest", region="us-east-1")
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")

    tags = dynamodb.describe_table(TableName=stack.physical_ids["TagsTable"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in tags["KeySchema"]} == {"user_id": "HASH", "tag_image": "RANGE"}
    (by_tag,) = tags["GlobalSecondaryIndexes"]
    assert by_tag["IndexName"] == "ByTag"
    index_keys = {k["AttributeName"]: k["KeyType"] for k in by_tag["KeySchema"]}
    assert index_keys == {"user_tag": "HASH", "confidence": "RANGE"}
    assert tags["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    ttl = dynamodb.describe_time_to_live(TableName=stack.physical_ids["ImagesTable"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    ttl = dynamodb.describe_time_to_live(TableName=stack.physical_ids["IdempotencyTable"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiration"


def test_queue_redrives_to_the_dead_letter_queue(aws):
    stack = create_stack_resources("itest", region="us-east-1", parameters={"MaxReceives": "5"})
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": stack.arns["UploadDeadLetterQueue"], "maxReceiveCount": 5}
    assert attributes["VisibilityTimeout"] == "540"


def test_bucket_gets_cors_public_access_block_and_queue_notification(aws):
    stack = create_stack_resources("itest", region="us-east-1", parameters={"AllowedOrigins": "https://app.example"})
    s3 = boto3.client("s3", region_name="us-east-1")
    assert stack.bucket == "itest-uploads-123456789012"
    rules = s3.get_bucket_cors(Bucket=stack.bucket)["CORSRules"]
    # Uploads (presigned POST) and thumbnails (presigned GET), both from the allowed origins only.
    assert [(rule["AllowedOrigins"], rule["AllowedMethods"]) for rule in rules] == [
        (["https://app.example"], ["POST"]),
        (["https://app.example"], ["GET"]),
    ]
    block = s3.get_public_access_block(Bucket=stack.bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    (notification,) = s3.get_bucket_notification_configuration(Bucket=stack.bucket)["QueueConfigurations"]
    assert notification["QueueArn"] == stack.arns["UploadQueue"]
    assert notification["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "uploads/"}]


def test_upload_notifications_reach_the_queue(aws):
    stack = create_stack_resources("itest", region="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.purge_queue(QueueUrl=stack.queue_url)  # S3 sends a test event when notifications are configured
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=stack.bucket, Key="uploads/u/abc", Body=b"x")
    messages = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10)["Messages"]
    (record,) = json.loads(messages[0]["Body"])["Records"]
    assert unquote_plus(record["s3"]["object"]["key"]) == "uploads/u/abc"  # S3 URL-encodes keys in events


def test_second_run_finds_the_same_resources_and_environment(aws):
    first = create_stack_resources("itest", region="us-east-1")
    second = create_stack_resources("itest", region="us-east-1")
    assert second.physical_ids == first.physical_ids
    assert second.environment == first.environment


def test_environment_matches_template_globals(aws):
    stack = create_stack_resources("itest", region="us-east-1", parameters={"EndpointName": "my-endpoint"})
    env = stack.environment
    assert env["IMAGES_TABLE"] == stack.physical_ids["ImagesTable"]
    assert env["TAGS_TABLE"] == stack.physical_ids["TagsTable"]
    assert env["IDEMPOTENCY_TABLE"] == stack.physical_ids["IdempotencyTable"]
    assert env["UPLOAD_BUCKET"] == stack.bucket
    assert env["ENDPOINT_NAME"] == "my-endpoint"
    assert env["ALLOWED_ORIGINS"] == "http://localhost:8000,http://127.0.0.1:8000"
    assert int(env["MAX_UPLOAD_BYTES"]) > 0
    declared = load_template(TEMPLATE_PATH)["Globals"]["Function"]["Environment"]["Variables"]
    assert set(env) == set(declared)
