"""`imagetagger token --user NAME`: print a JWT the local API accepts (the local stand-in for a Cognito sign-in)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    from imagetagger_local.config import default_state_dir

    parser = subparsers.add_parser("token", help="print a JWT for the local API (creates the signing key on first use)")
    parser.add_argument("--user", required=True, help="user name; becomes the token's `sub` (the user id)")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir(), help="the stack's state directory")
    parser.add_argument("--hours", type=float, default=12.0, help="token lifetime in hours")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_local.tokens import InvalidUserNameError, issue_token

    try:
        token = issue_token(args.state_dir / "jwt", args.user, lifetime_s=int(args.hours * 3600))
    except InvalidUserNameError as exc:
        print(f"imagetagger token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0
