"""`imagetagger aws publish-web --stack NAME`: put the web page (frontend/web) on a deployed stack's CloudFront site.

Writes config.json from the stack's outputs (API URL, Cognito hosted-UI domain and client id, authMode "cognito"),
uploads every file of the page to the private WebBucket (CloudFront reads it through Origin Access Control) and
invalidates the distribution's cache so the new page shows at once.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEB_ROOT = Path(__file__).resolve().parents[2] / "frontend" / "web"
# The page's own settings and the files that decide which code runs are revalidated on every load; the rest may be
# cached briefly (the service worker fetches network-first anyway).
REVALIDATE = frozenset({"config.json", "index.html", "sw.js", "manifest.webmanifest"})
CACHE_CONTROL_REVALIDATE = "no-cache"
CACHE_CONTROL_STATIC = "public, max-age=300"
# Not part of the page: the example config is documentation, and config.json is generated here.
SKIPPED = frozenset({"config.example.json", "config.json"})
REQUIRED_OUTPUTS = ("ApiUrl", "WebBucketName", "WebDistributionId", "WebUrl", "UserPoolDomain", "ClientId")


@dataclass(frozen=True)
class Published:
    url: str
    files: list[str]
    invalidation_id: str


def add_parser(actions: Any) -> None:
    """Registers `publish-web` under `imagetagger aws` (aws.py calls this)."""
    parser = actions.add_parser("publish-web", help="upload frontend/web with its config.json to the stack's site")
    parser.add_argument("--stack", "--stack-name", dest="stack_name", default="imagetagger", help="the deployed stack")
    parser.add_argument("--web-root", type=Path, default=WEB_ROOT, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def web_config(outputs: dict[str, str], max_upload_bytes: int | None = None) -> dict[str, Any]:
    """The page's config.json for a deployed stack (see frontend/web/js/config.js)."""
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise KeyError(f"the stack has no output {', '.join(missing)} (deployed from an older template?)")
    config: dict[str, Any] = {
        "apiBaseUrl": outputs["ApiUrl"].rstrip("/"),
        "authMode": "cognito",
        "cognito": {
            "domain": outputs["UserPoolDomain"],
            "clientId": outputs["ClientId"],
            # Must be one of the app client's CallbackURLs (template.yaml: the site's root).
            "redirectUri": outputs["WebUrl"].rstrip("/") + "/",
            "scopes": ["openid", "email"],
        },
    }
    if max_upload_bytes:
        config["maxUploadBytes"] = max_upload_bytes
    return config


def page_files(web_root: Path) -> list[Path]:
    return sorted(
        path
        for path in web_root.rglob("*")
        if path.is_file() and path.name not in SKIPPED and not path.name.startswith(".")
    )


def _content_type(path: Path) -> str:
    if path.suffix == ".webmanifest":
        return "application/manifest+json"
    if path.suffix == ".js":
        return "text/javascript"  # ES modules must not be served as application/octet-stream
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def publish(cloudformation: Any, s3: Any, cloudfront: Any, stack_name: str, web_root: Path = WEB_ROOT) -> Published:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    max_upload = int(parameters["MaxUploadBytes"]) if parameters.get("MaxUploadBytes", "").isdigit() else None
    config = web_config(outputs, max_upload)
    bucket = outputs["WebBucketName"]
    uploaded = []
    for path in page_files(web_root):
        key = path.relative_to(web_root).as_posix()
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=_content_type(path),
            CacheControl=CACHE_CONTROL_REVALIDATE if key in REVALIDATE else CACHE_CONTROL_STATIC,
        )
        uploaded.append(key)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config, indent=2).encode(),
        ContentType="application/json",
        CacheControl=CACHE_CONTROL_REVALIDATE,
    )
    uploaded.append("config.json")
    invalidation = cloudfront.create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"imagetagger-publish-{time.time_ns()}",  # unique per publication
        },
    )
    return Published(url=outputs["WebUrl"], files=uploaded, invalidation_id=invalidation["Invalidation"]["Id"])


def run(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.Session(region_name=args.region)
    try:
        published = publish(
            session.client("cloudformation"),
            session.client("s3"),
            session.client("cloudfront"),
            args.stack_name,
            args.web_root,
        )
    except (BotoCoreError, ClientError, KeyError) as exc:
        print(f"imagetagger aws publish-web: could not publish to stack {args.stack_name}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"url": published.url, "files": len(published.files), "invalidation": published.invalidation_id}))
    return 0
