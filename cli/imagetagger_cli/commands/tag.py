"""`imagetagger tag FILE...`: tag photos synchronously through the API (POST /tag); nothing is stored."""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:3000"


def register(subparsers: Any) -> None:
    from imagetagger_local.config import default_state_dir

    parser = subparsers.add_parser("tag", help="tag image files through the API and print their tags")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="JPEG, PNG, WebP, GIF, BMP or TIFF")
    parser.add_argument("--api-url", default=os.environ.get("IMAGETAGGER_API_URL", DEFAULT_API_URL))
    parser.add_argument(
        "--token", default=os.environ.get("IMAGETAGGER_TOKEN"), help="JWT (default: a local token for --user)"
    )
    parser.add_argument("--user", default="cli", help="local user to sign a token for when --token is not given")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir(), help="the local stack's state directory")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per file (the API's answer, boxes included)"
    )
    parser.add_argument(
        "--boxes",
        action="store_true",
        help="also print where each tag's objects are: one line per box, as fractions of the photo and in pixels",
    )
    parser.set_defaults(func=run)


def _content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _describe(tags: list[dict[str, Any]]) -> str:
    if not tags:
        return "(no tags above their thresholds)"
    return ", ".join(f"{t['name']} {t['confidence']:.2f} ({'/'.join(t.get('parents') or []) or '-'})" for t in tags)


def _describe_boxes(tags: list[dict[str, Any]], size: tuple[int, int] | None) -> list[str]:
    """One line per tag and one per box under it; pixels of the upright photo when its size is known."""
    lines = []
    for tag in tags:
        instances = tag.get("instances") or []
        count = f"{len(instances)} box{'es' if len(instances) != 1 else ''}" if instances else "no box"
        lines.append(f"  {tag['name']} {tag['confidence']:.2f}: {count}")
        for instance in instances:
            x, y, w, h = instance["box"]
            line = f"    {instance['confidence']:.2f}  x={x:.3f} y={y:.3f} w={w:.3f} h={h:.3f}"
            if size is not None:
                width, height = size
                line += f"  ({round(x * width)}, {round(y * height)}) {round(w * width)}x{round(h * height)} px"
            lines.append(line)
    return lines


def tag_file(session: Any, api_url: str, path: Path) -> dict[str, Any]:
    """POST one file; return the API's JSON, or {"error": message} for anything the user should read."""
    import requests

    from imagetagger.quicktag import shrink_for_quick_tag

    try:
        data = path.read_bytes()
    except OSError as exc:
        return {"error": f"cannot read: {exc.strerror}"}
    # A phone photo would exceed the API's payload limit in AWS; the model only needs a small copy.
    data, content_type = shrink_for_quick_tag(data, _content_type(path))
    try:
        response = session.post(f"{api_url}/tag", data=data, headers={"Content-Type": content_type}, timeout=60)
    except requests.RequestException as exc:
        return {"error": f"the API at {api_url} did not answer ({exc.__class__.__name__}); is `make up` running?"}
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    if not response.ok:
        return {"error": f"HTTP {response.status_code}: {body.get('message', body)}"}
    return body


def _upright_size(path: Path) -> tuple[int, int] | None:
    from imagetagger.quicktag import upright_size

    try:
        return upright_size(path.read_bytes())
    except OSError:
        return None


def run(args: argparse.Namespace) -> int:
    import requests
    from tqdm import tqdm

    token = args.token
    if not token:
        from imagetagger_local.tokens import issue_token

        token = issue_token(args.state_dir / "jwt", args.user)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    failures = 0
    progress = tqdm(args.files, unit="image", disable=len(args.files) < 2, file=sys.stderr)
    for path in progress:
        progress.set_postfix_str(path.name)
        result = tag_file(session, args.api_url.rstrip("/"), path)
        failures += "error" in result
        if args.json:
            line = json.dumps({"file": str(path), **result})
        elif "error" in result:
            line = f"{path}: error: {result['error']}"
        else:
            line = f"{path}: {_describe(result.get('tags', []))}"
            if args.boxes:
                line = "\n".join([line, *_describe_boxes(result.get("tags", []), _upright_size(path))])
        progress.write(line, file=sys.stdout)
    return 1 if failures else 0
