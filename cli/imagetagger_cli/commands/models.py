"""`imagetagger models`: the model versions the training workflow produced (GET /models), and which one serves."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:3000"


def register(subparsers: Any) -> None:
    from imagetagger_local.config import default_state_dir

    parser = subparsers.add_parser("models", help="list model versions with their test metrics and which one serves")
    parser.add_argument("--api-url", default=os.environ.get("IMAGETAGGER_API_URL", DEFAULT_API_URL))
    parser.add_argument("--token", default=os.environ.get("IMAGETAGGER_TOKEN"), help="JWT (default: a local token)")
    parser.add_argument("--user", default="cli", help="local user to sign a token for when --token is not given")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir(), help="the local stack's state directory")
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    parser.set_defaults(func=run)


def _describe(model: dict[str, Any]) -> str:
    test = (model.get("metrics") or {}).get("test") or {}
    figures = ", ".join(f"{k} {test[k]}" for k in ("mAP", "CF1", "OF1") if k in test) or "no test figures"
    marker = "*" if model["serving"] else " "
    reason = f" - {model['reason']}" if model.get("reason") and not model["serving"] else ""
    return f"{marker} {model['model_version']:<45} {model['status']:<8} {figures}{reason}"


def run(args: argparse.Namespace) -> int:
    import requests

    token = args.token
    if not token:
        from imagetagger_local.tokens import issue_token

        token = issue_token(args.state_dir / "jwt", args.user)
    try:
        response = requests.get(
            f"{args.api_url.rstrip('/')}/models", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    except requests.RequestException as exc:
        print(f"imagetagger models: the API at {args.api_url} did not answer ({type(exc).__name__}); is it running?")
        return 1
    if not response.ok:
        print(f"imagetagger models: HTTP {response.status_code}: {response.text[:300]}")
        return 1
    body = response.json()
    if args.json:
        print(json.dumps(body, indent=1))
    elif not body["models"]:
        print("no model versions yet: run `imagetagger pipeline run` (locally) or the training workflow (AWS)")
    else:
        print("\n".join(_describe(model) for model in body["models"]))
    return 0
