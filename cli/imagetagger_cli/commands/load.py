"""`imagetagger load`: upload N photos concurrently to the local stack; report throughput and time to TAGGED as JSON.

    imagetagger load --images 1000 --concurrency 16                     # against a running `make up`
    imagetagger load --images 1000 --concurrency 16 --own-stack         # a private stack on free ports
    imagetagger load --images 1000 --concurrency 16 --restart-after 300 # private stack, stopped and restarted mid-run

Exit status 0 only when every uploaded image reached TAGGED or FAILED before --timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:3000"


def register(subparsers: Any) -> None:
    from imagetagger_local.config import REPO_ROOT, default_state_dir

    parser = subparsers.add_parser(
        "load", help="load-test the local stack: concurrent uploads, throughput and p50/p99 time to TAGGED (JSON)"
    )
    parser.add_argument("--images", type=int, default=100, help="how many photos to upload")
    parser.add_argument("--concurrency", type=int, default=8, help="uploads in flight at once")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds until images still pending count as lost")
    parser.add_argument("--photos", type=Path, default=REPO_ROOT / "data" / "coco-sample" / "val", help="JPEG folder")
    parser.add_argument("--api-url", default=os.environ.get("IMAGETAGGER_API_URL", DEFAULT_API_URL))
    parser.add_argument("--state-dir", type=Path, default=default_state_dir(), help="the running stack's state dir")
    parser.add_argument(
        "--own-stack", action="store_true", help="start a private stack on free ports for the run (ignores --api-url)"
    )
    parser.add_argument(
        "--restart-after", type=int, help="with a private stack: stop and restart it after this many uploads"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_local.load import LoadRefusedError, LoadRun
    from imagetagger_local.stack_process import StackProcess
    from imagetagger_local.tokens import issue_token

    photos = sorted(args.photos.glob("*.jpg"))
    user = f"load-{uuid.uuid4().hex[:8]}"  # a fresh user: the poller sees only this run's images
    stack: StackProcess | None = None
    with tempfile.TemporaryDirectory(prefix="imagetagger-load-") as scratch:
        try:
            if args.own_stack or args.restart_after is not None:
                stack = StackProcess(Path(scratch))
                stack.start()
                api_url, jwt_dir = stack.api_url, Path(scratch) / "jwt"
            else:
                api_url, jwt_dir = args.api_url, args.state_dir / "jwt"
            load = LoadRun(api_url, issue_token(jwt_dir, user), photos, args.images, args.concurrency, args.timeout)
            report = load.run(args.restart_after, stack.restart if stack else None)
        except (LoadRefusedError, RuntimeError, TimeoutError) as exc:
            print(json.dumps({"error": str(exc)}))
            return 2
        finally:
            if stack is not None:
                try:
                    stack.stop()
                except TimeoutError as exc:  # killed; the run's figures still stand
                    print(f"imagetagger load: {exc}", file=sys.stderr)
    print(json.dumps(report.to_json(), indent=2))
    return 0 if report.every_image_terminal else 1
