"""Verify AWS Signature Version 4 on S3 requests (presigned URLs and signed headers); moto accepts any signature.

The canonical request is rebuilt with botocore's own signer classes, so the check agrees with how boto3 signed.
A private bucket answers 403 to anything unsigned, badly signed or expired, as S3 does.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode, urlunsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
# S3 refuses header-signed requests whose x-amz-date is further than this from its clock.
MAX_CLOCK_SKEW = timedelta(minutes=15)
_UNSIGNED = {"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}


class SignatureError(Exception):
    """The request is not signed by a known key, or the signature or its validity window does not hold."""


def _parse_authorization(header: str) -> dict[str, str]:
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError("only AWS4-HMAC-SHA256 signatures are accepted")
    fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise SignatureError("malformed Authorization header")
    return fields


def _signed_at(stamp: str) -> datetime:
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SignatureError("malformed X-Amz-Date") from exc


def verify_s3_request(
    method: str,
    host: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    now: datetime,
) -> None:
    """Raise SignatureError unless the request carries a valid SigV4 signature (query or header form)."""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    query = dict(pairs)
    lower_headers = {name.lower(): value for name, value in headers.items()}
    if "X-Amz-Signature" in query:
        presigned = True
        credential, signed_headers, signature = (
            query.get("X-Amz-Credential", ""),
            query.get("X-Amz-SignedHeaders", ""),
            query["X-Amz-Signature"],
        )
        timestamp = query.get("X-Amz-Date", "")
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise SignatureError("only AWS4-HMAC-SHA256 signatures are accepted")
        try:
            expires = int(query.get("X-Amz-Expires", ""))
        except ValueError as exc:
            raise SignatureError("malformed X-Amz-Expires") from exc
        if now > _signed_at(timestamp) + timedelta(seconds=expires):
            raise SignatureError("Request has expired")
    elif "authorization" in lower_headers:
        presigned = False
        fields = _parse_authorization(lower_headers["authorization"])
        credential, signed_headers, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
        timestamp = lower_headers.get("x-amz-date", "")
        if abs(now - _signed_at(timestamp)) > MAX_CLOCK_SKEW:
            raise SignatureError("The difference between the request time and the current time is too large.")
        claimed = lower_headers.get("x-amz-content-sha256", "")
        if claimed not in _UNSIGNED and not hmac.compare_digest(claimed, hashlib.sha256(body).hexdigest()):
            raise SignatureError("The provided 'x-amz-content-sha256' header does not match what was computed.")
    else:
        raise SignatureError("Access Denied")  # anonymous: the bucket is private

    try:
        access_key, date, region, service, _ = credential.split("/")
    except ValueError as exc:
        raise SignatureError("malformed credential scope") from exc
    if access_key not in credentials:
        raise SignatureError("The AWS Access Key Id you provided does not exist in our records.")
    if not timestamp.startswith(date):
        raise SignatureError("the credential scope's date does not match X-Amz-Date")

    unsigned_query = urlencode([(k, v) for k, v in pairs if k != "X-Amz-Signature"], quote_via=quote)
    signed = {name: lower_headers.get(name, "") for name in signed_headers.split(";") if name}
    signed["host"] = host
    request = AWSRequest(method=method, url=urlunsplit(("http", host, raw_path, unsigned_query, "")), headers=signed)
    request.context["timestamp"] = timestamp
    keys = Credentials(access_key, credentials[access_key])
    signer = S3SigV4QueryAuth(keys, service, region) if presigned else S3SigV4Auth(keys, service, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("The request signature we calculated does not match the signature you provided.")
