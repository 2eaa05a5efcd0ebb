"""Settings from environment variables (set by template.yaml Globals in AWS, by cfn.py's environment locally)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# POST /tag carries the image in the request body; API Gateway and Lambda cap payloads: keep the synchronous path small.
TAG_NOW_MAX_BYTES = 5 * 1024 * 1024


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or malformed (a deployment bug, not a user error)."""


@dataclass(frozen=True)
class Settings:
    images_table: str
    tags_table: str
    idempotency_table: str
    upload_bucket: str
    endpoint_name: str
    max_upload_bytes: int = 10 * 1024 * 1024
    upload_url_expires_s: int = 300
    allowed_origins: tuple[str, ...] = ()
    # Receives of one SQS message; on the last one a failing image is marked FAILED so nothing stays PENDING.
    max_receives: int = 3
    # A PENDING record whose upload never arrives is removed by DynamoDB TTL after this long.
    pending_ttl_s: int = 24 * 3600
    endpoint_timeout_s: float = 20.0
    tag_now_max_bytes: int = TAG_NOW_MAX_BYTES
    # The model registry (GET /models, the training workflow); empty where a deployment has none.
    models_table: str = ""
    # The processing queue, for POST /images/{id}/retry; empty where a function does not re-queue.
    upload_queue_url: str = ""
    # Lifetime of the presigned GET URLs of a user's own photos (thumbnails in GET /images): a page load's worth.
    download_url_expires_s: int = 900
    # Users' own labels (imagetagger.custom_labels) and the queue of their debounced training requests.
    labels_table: str = ""
    label_training_queue_url: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [
            name
            for name in ("IMAGES_TABLE", "TAGS_TABLE", "IDEMPOTENCY_TABLE", "UPLOAD_BUCKET", "ENDPOINT_NAME")
            if not env.get(name)
        ]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            images_table=env["IMAGES_TABLE"],
            tags_table=env["TAGS_TABLE"],
            idempotency_table=env["IDEMPOTENCY_TABLE"],
            upload_bucket=env["UPLOAD_BUCKET"],
            endpoint_name=env["ENDPOINT_NAME"],
            max_upload_bytes=_positive_int(env, "MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            upload_url_expires_s=_positive_int(env, "UPLOAD_URL_EXPIRES_S", cls.upload_url_expires_s),
            allowed_origins=parse_origins(env.get("ALLOWED_ORIGINS", "")),
            max_receives=_positive_int(env, "MAX_RECEIVES", cls.max_receives),
            pending_ttl_s=_positive_int(env, "PENDING_TTL_S", cls.pending_ttl_s),
            endpoint_timeout_s=float(_positive_int(env, "ENDPOINT_TIMEOUT_S", int(cls.endpoint_timeout_s))),
            models_table=env.get("MODELS_TABLE", ""),
            upload_queue_url=env.get("UPLOAD_QUEUE_URL", ""),
            labels_table=env.get("LABELS_TABLE", ""),
            label_training_queue_url=env.get("LABEL_TRAINING_QUEUE_URL", ""),
        )


def parse_origins(value: str) -> tuple[str, ...]:
    """ALLOWED_ORIGINS ("a,b") as a tuple; also used on its own because CORS is configured at import time."""
    return tuple(origin.strip() for origin in value.split(",") if origin.strip())


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value
