"""Build the stateful resources of template.yaml (bucket, queues, tables) against any boto3 endpoint.

The local stack and the functional tests call this instead of keeping a second, hand-written copy of the resources:
properties are read from template.yaml and translated to the matching API calls. Creation is idempotent, so a restart
of the local stack finds the resources it made before. Physical names are deterministic (`{stack}-{LogicalId}`, or the
template's own name when it sets one) so that persisted local state keeps matching.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

from imagetagger_local.cfn_intrinsics import IntrinsicResolver, UnresolvableError

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's account


# --------------------------------------------------------------------------------------------- template loading
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _short_tag)


def load_template(path: str | Path = TEMPLATE_PATH) -> dict[str, Any]:
    """template.yaml as plain data, short tags expanded to their long form ({"Fn::Sub": ...})."""
    # _CfnLoader is a SafeLoader subclass: it builds only plain data, whatever the tags.
    return yaml.load(Path(path).read_text(), Loader=_CfnLoader)  # noqa: S506  # nosec B506


# --------------------------------------------------------------------------------------------- result
@dataclass
class StackResources:
    """What was created: physical ids by logical id, and the functions' resolved environment."""

    stack_name: str
    region: str
    account_id: str
    physical_ids: dict[str, str] = field(default_factory=dict)  # bucket/table name, queue URL
    arns: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def bucket(self) -> str:
        return self.physical_ids["UploadBucket"]

    @property
    def queue_url(self) -> str:
        return self.physical_ids["UploadQueue"]

    @property
    def dead_letter_queue_url(self) -> str:
        return self.physical_ids["UploadDeadLetterQueue"]


# --------------------------------------------------------------------------------------------- creation
def create_stack_resources(
    stack_name: str,
    *,
    template_path: str | Path = TEMPLATE_PATH,
    parameters: Mapping[str, str] | None = None,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> StackResources:
    """Create (or find) every S3 bucket, SQS queue and DynamoDB table of the template for `stack_name`.

    `endpoint_url` overrides boto3's endpoint for all three services (else boto3's own AWS_ENDPOINT_URL* variables
    apply). Returns the physical names and the environment the template's Globals give the functions.
    """
    template = load_template(template_path)
    session = session or boto3.Session(region_name=region)
    region = region or session.region_name or "us-east-1"
    result = StackResources(stack_name=stack_name, region=region, account_id=account_id)
    resolver = IntrinsicResolver(template, stack_name, region, account_id, parameters or {}, result)
    clients = {
        name: session.client(name, region_name=region, endpoint_url=endpoint_url) for name in ("s3", "sqs", "dynamodb")
    }

    resources: dict[str, dict[str, Any]] = template.get("Resources", {})
    by_type = {kind: [lid for lid, r in resources.items() if r["Type"] == kind] for kind in _CREATORS}
    for kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"):
        pending = list(by_type[kind])
        while pending:  # queues reference each other (redrive): create the referenced ones first
            progressed = False
            for logical_id in list(pending):
                try:
                    properties = resolver.resolve(resources[logical_id].get("Properties", {}))
                except UnresolvableError:
                    continue
                _CREATORS[kind](clients, logical_id, properties, result)
                pending.remove(logical_id)
                progressed = True
            if not progressed:
                raise UnresolvableError(f"cannot resolve the properties of {pending}")
    result.environment = function_environment(template, resolver)
    return result


def function_environment(
    template: dict[str, Any], resolver: IntrinsicResolver, function_id: str | None = None
) -> dict[str, str]:
    """Globals' environment variables (merged with one function's own, when given), resolved to strings."""
    variables = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    if function_id:
        own = template["Resources"][function_id].get("Properties", {}).get("Environment", {}).get("Variables", {})
        variables.update(own)
    return {name: str(resolver.resolve(value)) for name, value in variables.items()}


def _physical_name(result: StackResources, logical_id: str) -> str:
    return f"{result.stack_name}-{logical_id}"


def _create_table(clients: dict[str, Any], logical_id: str, props: dict[str, Any], result: StackResources) -> None:
    dynamodb = clients["dynamodb"]
    name = props.get("TableName") or _physical_name(result, logical_id)
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in props:
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    try:
        description = dynamodb.create_table(**request)["TableDescription"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        description = dynamodb.describe_table(TableName=name)["Table"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
    result.physical_ids[logical_id] = name
    result.arns[logical_id] = description["TableArn"]


# CloudFormation queue properties that are SQS attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _create_queue(clients: dict[str, Any], logical_id: str, props: dict[str, Any], result: StackResources) -> None:
    sqs = clients["sqs"]
    name = props.get("QueueName") or _physical_name(result, logical_id)
    attributes = {key: _attribute_string(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    if "RedrivePolicy" in props:
        redrive = props["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": int(redrive["maxReceiveCount"])}
        )
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    result.physical_ids[logical_id] = url
    result.arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def _attribute_string(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _create_bucket(clients: dict[str, Any], logical_id: str, props: dict[str, Any], result: StackResources) -> None:
    s3 = clients["s3"]
    name = props.get("BucketName") or _physical_name(result, logical_id).lower()
    request: dict[str, Any] = {"Bucket": name}
    if result.region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": result.region}
    try:
        s3.create_bucket(**request)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "BucketEncryption" in props:
        # CloudFormation and the S3 API spell the default-encryption rule differently.
        rules = [
            {
                ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                for k, v in r.items()
            }
            for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "CorsConfiguration" in props:
        s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={"CORSRules": [_cors_rule(r) for r in props["CorsConfiguration"]["CorsRules"]]},
        )
    queue_configs = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
    if queue_configs:
        s3.put_bucket_notification_configuration(
            Bucket=name,
            NotificationConfiguration={"QueueConfigurations": [_queue_notification(c) for c in queue_configs]},
        )
    result.physical_ids[logical_id] = name
    result.arns[logical_id] = f"arn:aws:s3:::{name}"


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    renamed = {"MaxAge": "MaxAgeSeconds", "Id": "ID"}
    return {renamed.get(key, key): value for key, value in rule.items()}


def _queue_notification(config: dict[str, Any]) -> dict[str, Any]:
    notification: dict[str, Any] = {"QueueArn": config["Queue"], "Events": [config["Event"]]}
    rules = config.get("Filter", {}).get("S3Key", {}).get("Rules")
    if rules:
        notification["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
    return notification


_CREATORS = {
    "AWS::DynamoDB::Table": _create_table,
    "AWS::SQS::Queue": _create_queue,
    "AWS::S3::Bucket": _create_bucket,
}
