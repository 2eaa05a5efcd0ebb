"""`imagetagger retry`: re-queue the uploads whose tagging failed for a retriable reason (the endpoint was down).

After MaxReceives failed attempts an upload event goes to the dead-letter queue and its image is FAILED with a
"retry later" reason. This command moves those events back to the upload queue, so the processing function tags the
images once the endpoint is back. Bad files never reach the dead-letter queue (they are FAILED for good at once).
With --failed it also re-queues every image FAILED with "retry later" whose upload still exists, for when the
dead-letter message is gone (its retention passed, or the local stack, whose queues live in memory, restarted).

    imagetagger retry                       # the local stack (moto on 127.0.0.1:5000)
    imagetagger retry --failed              # ... and FAILED "retry later" images without a dead-letter message
    imagetagger retry --stack-name prod     # a deployed stack (names from its CloudFormation outputs)
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
    parser.add_argument(
        "--failed", action="store_true", help='also re-queue images FAILED with "retry later" (scans the images table)'
    )
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


def requeue_failed(images: Any, s3: Any, sqs: Any, bucket: str, queue_url: str, limit: int) -> RedriveResult:
    """Send a fresh S3 notification for each image FAILED with a retriable reason whose upload still exists."""
    from imagetagger.requeue import requeue_upload
    from imagetagger.scans import retriable_failures

    result = RedriveResult()
    for user_id, image_id in retriable_failures(images):
        if result.requeued >= limit:
            break
        # The same re-queueing as POST /images/{image_id}/retry, minus the PENDING mark: the worker sets the
        # outcome, and the user still sees why it failed until then.
        if not requeue_upload(s3, sqs, bucket, queue_url, user_id, image_id):
            continue  # the object is gone (deleted meanwhile): nothing to tag
        result.requeued += 1
        result.image_ids.append(image_id)
    return result


@dataclass
class Targets:
    sqs: Any
    s3: Any
    images: Any  # the ImagesTable (a boto3 DynamoDB Table)
    dead_letter_queue_url: str
    queue_url: str
    bucket: str


def _targets(args: argparse.Namespace) -> Targets:
    import boto3

    if args.stack_name:
        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack_name)["Stacks"][0]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
        return Targets(
            sqs=boto3.client("sqs"),
            s3=boto3.client("s3"),
            images=boto3.resource("dynamodb").Table(outputs["ImagesTableName"]),
            dead_letter_queue_url=outputs["DeadLetterQueueUrl"],
            queue_url=outputs["UploadQueueUrl"],
            bucket=outputs["BucketName"],
        )

    from imagetagger_local.config import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, STACK_NAME, LocalConfig

    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION
    )
    moto_url = args.moto_url or LocalConfig().moto_url
    sqs, s3 = session.client("sqs", endpoint_url=moto_url), session.client("s3", endpoint_url=moto_url)
    # Local physical names are `{stack}-{LogicalId}`, the bucket the template's own `{stack}-uploads-{account}`.
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"{STACK_NAME}-uploads-")]
    return Targets(
        sqs=sqs,
        s3=s3,
        images=session.resource("dynamodb", endpoint_url=moto_url).Table(f"{STACK_NAME}-ImagesTable"),
        dead_letter_queue_url=sqs.get_queue_url(QueueName=f"{STACK_NAME}-UploadDeadLetterQueue")["QueueUrl"],
        queue_url=sqs.get_queue_url(QueueName=f"{STACK_NAME}-UploadQueue")["QueueUrl"],
        bucket=buckets[0] if buckets else "",
    )


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        targets = _targets(args)
        result = redrive(targets.sqs, targets.dead_letter_queue_url, targets.queue_url, args.limit)
        if args.failed:
            failed = requeue_failed(
                targets.images, targets.s3, targets.sqs, targets.bucket, targets.queue_url, args.limit
            )
            result.requeued += failed.requeued
            result.image_ids.extend(i for i in failed.image_ids if i not in result.image_ids)
    except (BotoCoreError, ClientError, KeyError) as exc:
        print(json.dumps({"error": f"cannot reach the stack: {exc}"}))
        return 1
    print(json.dumps({"requeued": result.requeued, "image_ids": result.image_ids}))
    return 0
