"""`imagetagger import DIR`: upload a folder through the API (resumable, duplicates skipped), then wait for its tags."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:3000"


def register(subparsers: Any) -> None:
    from imagetagger_local.config import default_state_dir

    parser = subparsers.add_parser(
        "import",
        help="upload every image of a folder (progress bar, resumable, duplicates skipped) and wait for the tags",
        description="Uploads through POST /uploads like the web page. A journal of content hashes makes a second run "
        "upload only new files; the same photo twice is uploaded once.",
    )
    parser.add_argument("folder", type=Path, metavar="DIR")
    parser.add_argument("--api-url", default=os.environ.get("IMAGETAGGER_API_URL", DEFAULT_API_URL))
    parser.add_argument("--token", default=os.environ.get("IMAGETAGGER_TOKEN"), help="JWT (default: a local token)")
    parser.add_argument("--user", default="cli", help="local user to sign a token for when --token is not given")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir(), help="the local stack's state directory")
    parser.add_argument("--journal", type=Path, help="resume journal (default: one per folder, API and user)")
    parser.add_argument("--workers", type=int, default=8, help="uploads in flight at once (bench measures 8)")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the images to be tagged")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the tags")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def _default_journal(args: argparse.Namespace, who: str) -> Path:
    key = f"{args.folder.resolve()}|{args.api_url.rstrip('/')}|{who}"
    return args.state_dir / "imports" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _subject(token: str) -> str:
    """The JWT's `sub` (unverified: it only names the journal; the API verifies the token)."""
    import base64

    try:
        payload = token.split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])
    except (IndexError, ValueError, KeyError):
        return hashlib.sha256(token.encode()).hexdigest()[:16]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from imagetagger_workflow.importer import (
        ImportClient,
        ImportFailedError,
        Journal,
        image_files,
        plan_import,
        upload_all,
        wait_for_tags,
    )

    if not args.folder.is_dir():
        print(f"imagetagger import: {args.folder} is not a folder", file=sys.stderr)
        return 2
    token = args.token
    if not token:
        from imagetagger_local.tokens import issue_token

        token = issue_token(args.state_dir / "jwt", args.user)
    client = ImportClient(args.api_url, token)
    journal = Journal.load(args.journal or _default_journal(args, args.user if not args.token else _subject(token)))

    files = image_files(args.folder)
    plan = plan_import(files, journal)
    with tqdm(total=len(plan.to_upload), unit="image", desc="uploading", file=sys.stderr) as bar:
        result = upload_all(client, plan, journal, workers=args.workers, on_done=lambda: bar.update(1))
    if not args.no_wait:
        waiting = sum(e.get("status") not in ("TAGGED", "FAILED") for e in journal.entries.values())
        with tqdm(total=waiting, unit="image", desc="tagging", file=sys.stderr) as bar:
            try:
                wait_for_tags(client, journal, result, args.timeout, on_finished=bar.update)
            except ImportFailedError as exc:
                result.errors.append(str(exc))
    summary = {"files": len(files), **result.to_dict(), "journal": str(journal.path)}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(
            f"{len(files)} file(s): {result.uploaded} uploaded, {result.already_uploaded} already uploaded, "
            f"{result.duplicates_in_folder} duplicate(s) skipped; "
            f"tagged {result.tagged}, failed {result.failed_tagging}"
        )
        for error in result.errors:
            print(f"  error: {error}")
    return 1 if result.errors else 0
