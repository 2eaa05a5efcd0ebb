"""An S3 endpoint in front of moto that enforces what moto skips: presigned POST policies, signatures, privacy.

Browsers upload straight to S3 with the presigned POST the API hands out, so the policy is the only thing between a
user and the bucket. moto stores whatever it is sent; this gateway checks the policy like S3 (signature, expiry,
conditions, size) on the form as post_form parses it and forwards that form re-encoded, requires a valid SigV4
signature on every other request (presigned GET URLs included), answers CORS from the bucket's own rules, and proxies
those to moto unchanged. moto itself delivers the bucket's ObjectCreated notifications to SQS (template.yaml's
NotificationConfiguration, applied by cfn.py).
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
import urllib3
from botocore.exceptions import ClientError
from werkzeug.wrappers import Request, Response

from imagetagger_local.post_form import encode_post_form, parse_post_form
from imagetagger_local.post_policy import PolicyViolationError, check_post_upload
from imagetagger_local.s3_cors import cors_headers, matching_rule
from imagetagger_local.sigv4 import SignatureError, verify_s3_request

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
            response = self._handle(request, bucket)
            rule = matching_rule(self._cors_rules(bucket), origin, request.method) if origin and bucket else None
            if rule is not None:
                for name, value in cors_headers(rule, origin or ""):
                    response.headers[name] = value
        return response(environ, start_response)

    def _handle(self, request: Request, bucket: str) -> Response:
        is_form_upload = (
            request.method == "POST"
            and bucket
            and "/" not in request.path.strip("/")
            and request.mimetype == "multipart/form-data"
        )
        if is_form_upload:
            return self._form_upload(request, bucket)
        body = request.get_data(cache=False)
        raw_uri = request.environ.get("RAW_URI") or request.full_path
        try:
            verify_s3_request(
                request.method,
                request.host,
                raw_uri.split("?", 1)[0],
                request.environ.get("QUERY_STRING", ""),
                dict(request.headers.items()),
                body,
                self._credentials,
                datetime.now(UTC),
            )
        except SignatureError as refusal:
            logger.info("refused %s %s: %s", request.method, request.path, refusal)
            return error_xml(403, "AccessDenied", str(refusal))  # the bucket is private
        return self._proxy(request, body)

    def _form_upload(self, request: Request, bucket: str) -> Response:
        if (request.content_length or 0) > MAX_POST_BODY_BYTES:
            return error_xml(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        try:
            form = parse_post_form(request.get_data(cache=False), request.headers.get("Content-Type", ""))
            check_post_upload(form.fields, bucket, len(form.file), self._credentials, datetime.now(UTC))
        except PolicyViolationError as refusal:
            logger.info("refused POST upload to %s: %s", bucket, refusal)
            return error_xml(refusal.status, refusal.code, refusal.message)
        # moto gets the form re-encoded from what was checked, never the bytes as sent (see post_form).
        body, content_type = encode_post_form(
            form, drop=frozenset(name for name in form.fields if name.startswith("x-ignore-"))
        )
        logger.info("accepted POST upload s3://%s/%s (%d bytes)", bucket, form.stored_key, len(form.file))
        return self._proxy(request, body, content_type)

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

    def _proxy(self, request: Request, body: bytes, content_type: str | None = None) -> Response:
        # The raw URI keeps percent-encoding intact (keys may contain "/", spaces, unicode).
        url = self._moto_url + (request.environ.get("RAW_URI") or request.full_path.rstrip("?"))
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _HOP_BY_HOP}
        if content_type is not None:
            headers = {name: value for name, value in headers.items() if name.lower() != "content-type"}
            headers["Content-Type"] = content_type
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
        # Only moto's headers: werkzeug's default text/plain would make a second Content-Type (browsers join them).
        del response.headers["Content-Type"]
        for name, value in upstream.headers.items():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "server":
                response.headers.add(name, value)
        return response
