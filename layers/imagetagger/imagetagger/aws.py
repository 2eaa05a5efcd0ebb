"""boto3 clients, created once per process (Lambda reuses them across invocations).

Endpoints come from boto3's own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables, so the same code talks to AWS
or to the local stack.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config

from imagetagger.model_client import CONNECT_TIMEOUT_S, MAX_ATTEMPTS


@functools.cache
def s3_client() -> Any:
    # Presigned URLs for a local endpoint (http://127.0.0.1:9000) must be path-style: the bucket cannot be a subdomain.
    local = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
    config = Config(signature_version="s3v4", s3={"addressing_style": "path" if local else "auto"})
    return boto3.client("s3", config=config)


@functools.cache
def dynamodb_resource() -> Any:
    return boto3.resource("dynamodb")


@functools.cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb")


@functools.cache
def sqs_client() -> Any:
    return boto3.client("sqs")


@functools.cache
def sagemaker_runtime_client(timeout_s: float) -> Any:
    # Serverless endpoints cold-start slowly; botocore's standard retry mode backs off on throttling and 5xx.
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=timeout_s,
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},  # first call included
    )
    return boto3.client("sagemaker-runtime", config=config)


_FACTORIES = (s3_client, dynamodb_resource, dynamodb_client, sqs_client, sagemaker_runtime_client)


def reset_clients() -> None:
    """Forget cached clients (tests switch between moto mocks and environments)."""
    for factory in _FACTORIES:
        factory.cache_clear()
