"""`imagetagger aws train|deploy|start-training|bulk-tag|publish-web`: the AWS side of the training workflow (and the
web page's publication), from a laptop with credentials. train/deploy use the SageMaker SDK, which lives in its own
virtualenv: `make aws-tools`, then `.venv-aws/bin/imagetagger aws ...`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("aws", help="SageMaker training/deployment and the Step Functions workflows in AWS")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    train = actions.add_parser("train", help="start a SageMaker training job (managed spot, S3 checkpoints)")
    train.add_argument("--role", required=True, help="SageMaker execution role ARN (stack: SageMakerExecutionRole)")
    train.add_argument("--bucket", required=True, help="artifact bucket: code, checkpoints and output go here")
    train.add_argument("--train-uri", required=True, help="s3:// prefix with labels.jsonl and its images")
    train.add_argument("--instance-type", default="ml.m5.xlarge")
    train.add_argument("--no-spot", dest="spot", action="store_false", help="on-demand instead of managed spot")
    train.add_argument("--max-run", type=int, default=7200, help="seconds of training at most")
    train.add_argument("--max-wait", type=int, default=14400, help="seconds including spot waits (>= --max-run)")
    train.add_argument("--job-name")
    train.add_argument(
        "--hyperparameter", action="append", default=[], metavar="NAME=VALUE", help="training flag, repeatable"
    )
    train.add_argument("--wait", action="store_true", help="stream the job's logs until it ends")
    train.set_defaults(func=run_train)

    deploy = actions.add_parser("deploy", help="deploy a model.tar.gz to a serverless endpoint (create or update)")
    deploy.add_argument("--role", required=True)
    deploy.add_argument("--model-data", required=True, help="s3://.../model.tar.gz")
    deploy.add_argument("--endpoint-name", default="imagetagger")
    deploy.add_argument("--memory-size", type=int, choices=MEMORY_SIZES, default=3072, help="MB")
    deploy.add_argument("--max-concurrency", type=int, default=10, help="1-200 concurrent invocations")
    deploy.add_argument("--model-name")
    deploy.add_argument("--wait", action="store_true", help="until the endpoint is InService")
    deploy.set_defaults(func=run_deploy)

    start = actions.add_parser("start-training", help="start the training state machine of a deployed stack")
    start.add_argument("--stack-name", default="imagetagger", help="reads the TrainingStateMachineArn output")
    start.set_defaults(func=run_start, output="TrainingStateMachineArn", payload={})

    bulk = actions.add_parser("bulk-tag", help="tag (again) every image under an S3 prefix (Distributed Map)")
    bulk.add_argument("--stack-name", default="imagetagger")
    bulk.add_argument("--prefix", default="uploads/", help="e.g. uploads/<user_id>/")
    bulk.add_argument("--force", action="store_true", help="also images the serving model already tagged")
    bulk.set_defaults(func=run_start, output="BulkTagStateMachineArn")

    from imagetagger_cli import publish_web  # the web page's hosting: its own module (CloudFront + S3)

    publish_web.add_parser(actions)


def _session(args: argparse.Namespace, bucket: str | None = None) -> Any:
    import boto3

    try:
        import sagemaker
    except ImportError:
        print("imagetagger aws: no SageMaker SDK here; run `make aws-tools`, then use .venv-aws/bin/imagetagger")
        raise SystemExit(2) from None
    return sagemaker.Session(boto_session=boto3.Session(region_name=args.region), default_bucket=bucket)


def _hyperparameters(pairs: list[str]) -> dict[str, str]:
    from imagetagger_cli.sagemaker_launch import TrainConfig

    values = dict(TrainConfig(role="", bucket="", train_s3_uri="").hyperparameters)  # the defaults
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"imagetagger aws train: --hyperparameter wants NAME=VALUE, got {pair!r}")
        values[name] = value
    return values


def run_train(args: argparse.Namespace) -> int:
    from imagetagger_cli.sagemaker_launch import TrainConfig, start_training

    if args.spot and args.max_wait < args.max_run:
        print("imagetagger aws train: --max-wait must be at least --max-run with spot training")
        return 2
    config = TrainConfig(
        role=args.role,
        bucket=args.bucket,
        train_s3_uri=args.train_uri,
        instance_type=args.instance_type,
        spot=args.spot,
        max_run_s=args.max_run,
        max_wait_s=args.max_wait,
        job_name=args.job_name,
        hyperparameters=_hyperparameters(args.hyperparameter),
    )
    name = start_training(config, _session(args, args.bucket), wait=args.wait)
    print(json.dumps({"training_job_name": name}))
    return 0


def run_deploy(args: argparse.Namespace) -> int:
    from imagetagger_cli.sagemaker_launch import DeployConfig, deploy

    if not 1 <= args.max_concurrency <= 200:
        print("imagetagger aws deploy: --max-concurrency must be between 1 and 200")
        return 2
    config = DeployConfig(
        role=args.role,
        model_data=args.model_data,
        endpoint_name=args.endpoint_name,
        memory_size_mb=args.memory_size,
        max_concurrency=args.max_concurrency,
        model_name=args.model_name,
    )
    print(json.dumps({"endpoint_name": deploy(config, _session(args), wait=args.wait)}))
    return 0


def run_start(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stack = boto3.client("cloudformation", region_name=args.region).describe_stacks(StackName=args.stack_name)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0].get("Outputs", [])}
        payload = getattr(args, "payload", None)
        if payload is None:
            payload = {"prefix": args.prefix, "force": args.force}
        execution = boto3.client("stepfunctions", region_name=args.region).start_execution(
            stateMachineArn=outputs[args.output], input=json.dumps(payload)
        )
    except (BotoCoreError, ClientError, KeyError) as exc:
        print(f"imagetagger aws: could not start the workflow of stack {args.stack_name}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"executionArn": execution["executionArn"]}))
    return 0
