"""`imagetagger retry`: re-queue the uploads whose tagging failed for a retriable reason (the endpoint was down).

After MaxReceives failed attempts an upload event goes to the dead-letter queue and its image is FAILED with a
"retry later" reason. This command moves those events back to the upload queue, so the processing function tags the
images once the endpoint is back. Bad files never reach the dead-letter queue (they are FAILED for good at once).

    imagetagger retry                       # the local stack (moto on 127.0.0.1:5000)
    imagetagger retry --stack-name prod     # a deployed stack (queue URLs from its CloudFormation outputs)
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

RECEIVE_BATCH = 10
# Long enough to copy one batch; a message whose copy failed reappears in the dead-letter queue by itself.
MOVE_VISIBILITY_S = 60


@dataclass
class RedriveResult:
    requeued: int = 0
    image_ids: list[str] = field(default_factory=list)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "retry",
        help="re-queue uploads that failed because the model endpoint was unavailable (dead-letter queue redrive)",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument("--stack-name", help="a deployed stack; default: the local stack")
    parser.add_argument("--moto-url", help="the local stack's moto server (default: http://127.0.0.1:5000)")
    parser.add_argument("--limit", type=int, default=10_000, help="move at most this many messages")
    parser.set_defaults(func=run)


def image_ids_in(body: str) -> list[str]:
    """The image ids an S3 notification names (for the report; unparseable bodies are moved all the same)."""
    try:
        records = json.loads(body).get("Records", [])
        keys = [unquote_plus(record["s3"]["object"]["key"]) for record in records]
    except (ValueError, AttributeError, KeyError, TypeError):
        return []
    return [key.rsplit("/", 1)[-1] for key in keys]


def redrive(sqs: Any, dead_letter_queue_url: str, queue_url: str, limit: int) -> RedriveResult:
    """Move messages from the dead-letter queue to the upload queue: copy first, then delete, so none is lost."""
    result = RedriveResult()
    while result.requeued < limit:
        messages = sqs.receive_message(
            QueueUrl=dead_letter_queue_url,
            MaxNumberOfMessages=min(RECEIVE_BATCH, limit - result.requeued),
            VisibilityTimeout=MOVE_VISIBILITY_S,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])
            result.requeued += 1
            result.image_ids.extend(image_ids_in(message["Body"]))
    return result


def _queue_urls(args: argparse.Namespace) -> tuple[Any, str, str]:
    import boto3

    if args.stack_name:
        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack_name)["Stacks"][0]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
        return boto3.client("sqs"), outputs["DeadLetterQueueUrl"], outputs["UploadQueueUrl"]

    from imagetagger_local.config import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, STACK_NAME, LocalConfig

    sqs = boto3.client(
        "sqs",
        endpoint_url=args.moto_url or LocalConfig().moto_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    # Local physical names are `{stack}-{LogicalId}` (imagetagger_local.cfn).
    dead = sqs.get_queue_url(QueueName=f"{STACK_NAME}-UploadDeadLetterQueue")["QueueUrl"]
    return sqs, dead, sqs.get_queue_url(QueueName=f"{STACK_NAME}-UploadQueue")["QueueUrl"]


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sqs, dead_letter_queue_url, queue_url = _queue_urls(args)
        result = redrive(sqs, dead_letter_queue_url, queue_url, args.limit)
    except (BotoCoreError, ClientError, KeyError) as exc:
        print(json.dumps({"error": f"cannot reach the queues: {exc}"}))
        return 1
    print(json.dumps({"requeued": result.requeued, "image_ids": result.image_ids}))
    return 0
