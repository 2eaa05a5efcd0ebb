"""An S3 endpoint in front of moto that enforces what moto skips: presigned POST policies and bucket privacy.

Browsers upload straight to S3 with the presigned POST the API hands out, so the policy is the only thing between a
user and the bucket. moto stores whatever it is sent; this gateway checks the policy like S3 (signature, expiry,
conditions, size), answers CORS from the bucket's own rules, and proxies everything else to moto unchanged. moto itself
delivers the bucket's ObjectCreated notifications to SQS (template.yaml's NotificationConfiguration, applied by cfn.py).
"""

from __future__ import annotations

import html
import io
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import boto3
import urllib3
from botocore.exceptions import ClientError
from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Request, Response

from imagetagger_local.post_policy import PolicyViolationError, check_post_upload
from imagetagger_local.s3_cors import cors_headers, matching_rule

logger = logging.getLogger(__name__)

# Far above the template's largest MaxUploadBytes (50 MB): bigger bodies are refused before being read.
MAX_POST_BODY_BYTES = 64 * 1024 * 1024
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"})


def error_xml(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{html.escape(code)}</Code><Message>{html.escape(message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return Response(body, status=status, content_type="application/xml")


class S3Gateway:
    def __init__(self, moto_url: str, credentials: Mapping[str, str], region: str) -> None:
        self._moto_url = moto_url.rstrip("/")
        self._credentials = dict(credentials)
        self._http = urllib3.PoolManager(maxsize=16, retries=False)
        access_key, secret = next(iter(self._credentials.items()))
        self._s3 = boto3.client(
            "s3", endpoint_url=moto_url, region_name=region, aws_access_key_id=access_key, aws_secret_access_key=secret
        )
        self._cors_cache: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        bucket = request.path.lstrip("/").split("/", 1)[0]
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and origin:
            response = self._preflight(request, bucket, origin)
        else:
            response = self._handle(request, environ, bucket)
            rule = matching_rule(self._cors_rules(bucket), origin, request.method) if origin and bucket else None
            if rule is not None:
                for name, value in cors_headers(rule, origin or ""):
                    response.headers[name] = value
        return response(environ, start_response)

    def _handle(self, request: Request, environ: dict[str, Any], bucket: str) -> Response:
        is_form_upload = (
            request.method == "POST"
            and bucket
            and "/" not in request.path.strip("/")
            and request.mimetype == "multipart/form-data"
        )
        if is_form_upload:
            return self._form_upload(request, environ, bucket)
        if not _has_credentials(request, self._credentials):
            return error_xml(403, "AccessDenied", "Access Denied")  # the bucket is private
        if _presigned_url_expired(request):
            return error_xml(403, "AccessDenied", "Request has expired")
        return self._proxy(request, request.get_data(cache=False))

    def _form_upload(self, request: Request, environ: dict[str, Any], bucket: str) -> Response:
        if (request.content_length or 0) > MAX_POST_BODY_BYTES:
            return error_xml(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        body = request.get_data(cache=False)
        form_environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        _, form, files = parse_form_data(form_environ)
        upload = files.get("file")
        if upload is None:
            return error_xml(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        size = len(upload.read())
        try:
            key = check_post_upload(form.to_dict(), bucket, size, self._credentials, datetime.now(UTC))
        except PolicyViolationError as refusal:
            logger.info("refused POST upload to %s: %s", bucket, refusal)
            return error_xml(refusal.status, refusal.code, refusal.message)
        logger.info("accepted POST upload s3://%s/%s (%d bytes)", bucket, key, size)
        return self._proxy(request, body)

    def _preflight(self, request: Request, bucket: str, origin: str) -> Response:
        method = request.headers.get("Access-Control-Request-Method", "")
        requested = [
            h.strip() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()
        ]
        rule = matching_rule(self._cors_rules(bucket), origin, method, requested) if bucket else None
        if rule is None:
            return error_xml(403, "AccessForbidden", "CORSResponse: This CORS request is not allowed.")
        response = Response(status=200)
        for name, value in cors_headers(rule, origin, requested, preflight=True):
            response.headers[name] = value
        return response

    def _cors_rules(self, bucket: str) -> list[dict[str, Any]]:
        if bucket not in self._cors_cache:
            try:
                self._cors_cache[bucket] = self._s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
            except ClientError:
                return []  # no such bucket or no CORS configuration: no CORS
        return self._cors_cache[bucket]

    def _proxy(self, request: Request, body: bytes) -> Response:
        # The raw URI keeps percent-encoding intact (keys may contain "/", spaces, unicode).
        url = self._moto_url + (request.environ.get("RAW_URI") or request.full_path.rstrip("?"))
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _HOP_BY_HOP}
        upstream = self._http.request(
            request.method,
            url,
            body=body or None,
            headers=headers,
            preload_content=True,
            decode_content=False,
            redirect=False,
        )
        response = Response(upstream.data, status=upstream.status)
        for name, value in upstream.headers.items():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "server":
                response.headers.add(name, value)
        return response


def _has_credentials(request: Request, credentials: Mapping[str, str]) -> bool:
    """Signed with a known access key, in the header or as a presigned URL (moto does not verify signatures)."""
    authorization = request.headers.get("Authorization", "")
    credential = request.args.get("X-Amz-Credential", "")
    return any(f"Credential={key}/" in authorization or credential.startswith(f"{key}/") for key in credentials)


def _presigned_url_expired(request: Request) -> bool:
    query = parse_qs(request.query_string.decode("latin-1"))
    if "X-Amz-Date" not in query or "X-Amz-Expires" not in query:
        return False
    try:
        signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires_s = int(query["X-Amz-Expires"][0])
    except ValueError:
        return True
    return time.time() > signed_at.timestamp() + expires_s
