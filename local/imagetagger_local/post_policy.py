"""Check a browser-based (presigned) POST upload the way S3 does; moto stores whatever it is sent.

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html and
sigv4-authentication-HTTPPOST.html: signature over the base64 policy, expiration, every condition, and no form field
that the policy does not mention.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Form fields S3 never expects a policy condition for.
_UNCONDITIONED_FIELDS = frozenset({"policy", "x-amz-signature", "file", "awsaccesskeyid", "signature"})


@dataclass
class PolicyViolationError(Exception):
    """What S3 would answer instead of storing the object."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def _denied(message: str) -> PolicyViolationError:
    return PolicyViolationError(403, "AccessDenied", message)


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign_policy(policy_b64: str, secret: str, date: str, region: str) -> str:
    return hmac.new(_signing_key(secret, date, region, "s3"), policy_b64.encode(), hashlib.sha256).hexdigest()


def _check_signature(fields: Mapping[str, str], credentials: Mapping[str, str]) -> None:
    """SigV4 (x-amz-credential, x-amz-signature) or, as boto3 still produces for us-east-1, SigV2 (AWSAccessKeyId)."""
    if "awsaccesskeyid" in fields:
        access_key, signature = fields["awsaccesskeyid"], fields.get("signature", "")
        secret = _secret_for(access_key, credentials)
        digest = hmac.new(secret.encode(), fields["policy"].encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
    elif fields.get("x-amz-algorithm") == "AWS4-HMAC-SHA256":
        try:
            access_key, date, region, service, terminal = fields["x-amz-credential"].split("/")
            signature = fields["x-amz-signature"]
        except (KeyError, ValueError) as exc:
            raise PolicyViolationError(
                400, "InvalidArgument", "malformed x-amz-credential or no x-amz-signature"
            ) from exc
        if service != "s3" or terminal != "aws4_request":
            raise PolicyViolationError(400, "InvalidArgument", "x-amz-credential must be for the s3 service")
        expected = sign_policy(fields["policy"], _secret_for(access_key, credentials), date, region)
    else:
        raise PolicyViolationError(400, "InvalidArgument", "the POST form carries no signature")
    if not hmac.compare_digest(expected, signature):
        raise PolicyViolationError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )


def _secret_for(access_key: str, credentials: Mapping[str, str]) -> str:
    if access_key not in credentials:
        raise PolicyViolationError(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist.")
    return credentials[access_key]


def _decode_policy(policy_b64: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise PolicyViolationError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from exc
    if not isinstance(policy, dict) or "expiration" not in policy or not isinstance(policy.get("conditions"), list):
        raise PolicyViolationError(400, "InvalidPolicyDocument", "Invalid Policy: expiration and conditions required.")
    return policy


def _check_expiry(policy: dict[str, Any], now: datetime) -> None:
    try:
        expires = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PolicyViolationError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.") from exc
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if now >= expires:
        raise _denied("Invalid according to Policy: Policy expired.")


def _check_conditions(conditions: list[Any], values: Mapping[str, str], content_length: int) -> set[str]:
    """Raise on the first failed condition; return the (lower-case) field names the policy covers."""
    covered: set[str] = set()
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, expected),) = condition.items()
            operator, field, expected = "eq", f"${name}", expected
        elif isinstance(condition, list) and len(condition) == 3:
            operator, field, expected = str(condition[0]).lower(), condition[1], condition[2]
        else:
            raise PolicyViolationError(400, "InvalidPolicyDocument", f"Invalid Policy: condition {condition!r}")
        if operator == "content-length-range":
            low, high = int(field), int(expected)
            if content_length > high:
                raise PolicyViolationError(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
                )
            if content_length < low:
                raise PolicyViolationError(
                    400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
                )
            continue
        name = str(field).lstrip("$").lower()
        covered.add(name)
        actual = values.get(name)
        ok = actual is not None and (
            actual == str(expected)
            if operator == "eq"
            else operator == "starts-with" and actual.startswith(str(expected))
        )
        if not ok:
            raise _denied(
                f'Invalid according to Policy: Policy Condition failed: ["{operator}", "${name}", "{expected}"]'
            )
    return covered


def check_post_upload(
    fields: Mapping[str, str], bucket: str, content_length: int, credentials: Mapping[str, str], now: datetime
) -> str:
    """Validate a POST upload's form fields (names as sent) against its policy; return the object key to store."""
    values = {name.lower(): value for name, value in fields.items()}
    if "policy" not in values:
        raise _denied("Access Denied")  # the bucket is private: anonymous POST uploads are refused
    if "key" not in values:
        raise PolicyViolationError(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
    _check_signature(values, credentials)
    policy = _decode_policy(values["policy"])
    _check_expiry(policy, now)
    covered = _check_conditions(policy["conditions"], {**values, "bucket": bucket}, content_length)
    extra = sorted(
        n for n in values if n not in covered and n not in _UNCONDITIONED_FIELDS and not n.startswith("x-ignore-")
    )
    if extra:
        raise _denied(f"Invalid according to Policy: Extra input fields: {extra[0]}")
    return values["key"]
