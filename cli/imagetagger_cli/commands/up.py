"""`imagetagger up`: run the whole system on this machine, in the foreground, until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import warnings
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run the local stack (moto, S3 gateway, model endpoint, API, worker, web page) until Ctrl-C",
        description="Start everything on 127.0.0.1 (ports of docs/architecture.md); data persists in --state-dir.",
    )
    from imagetagger_local.config import Ports, default_state_dir  # light: no boto3, no moto

    defaults = Ports()
    for name in ("api", "web", "s3", "endpoint", "moto"):
        parser.add_argument(f"--{name}-port", type=int, default=getattr(defaults, name), help=f"{name} port")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir(), help="where data and keys live")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=os.environ.get("IMAGETAGGER_MODEL_DIR"),
        help="model to serve (default: $IMAGETAGGER_MODEL_DIR or models/default)",
    )
    parser.add_argument("--snapshot-interval", type=float, default=10.0, help="seconds between state snapshots")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_local.config import LocalConfig, Ports
    from imagetagger_local.stack import LocalStack, StackStartError

    _log_to_stderr(logging.DEBUG if args.verbose else logging.INFO)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Powertools warns on every invocation that records no metric (e.g. a health check); in AWS that goes unseen.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    ports = Ports(
        moto=args.moto_port, s3=args.s3_port, endpoint=args.endpoint_port, api=args.api_port, web=args.web_port
    )
    overrides = {"model_dir": args.model_dir.resolve()} if args.model_dir else {}
    if not overrides:  # a model promoted by `imagetagger pipeline run` keeps serving after a restart
        from imagetagger_local.pipeline.target import promoted_model_dir

        promoted = promoted_model_dir(args.state_dir.resolve())
        overrides = {"model_dir": promoted} if promoted else {}
    config = LocalConfig(
        ports=ports, state_dir=args.state_dir.resolve(), snapshot_interval_s=args.snapshot_interval, **overrides
    )
    stack = LocalStack(config)
    stopped = threading.Event()
    # SIGTERM (from a test harness or a service manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print("Starting imagetagger locally (first start loads the model; a few seconds)...", flush=True)
    try:
        stack.start()
    except StackStartError as exc:
        print(f"imagetagger up: {exc}", flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    for name, url in stack.urls().items():
        print(f"  {name:<28} {url}", flush=True)
    print(
        f"Ready. Get a token with `imagetagger token --user alice`, open {config.web_url}, Ctrl-C to stop.", flush=True
    )
    # Ctrl-C stops cleanly even when started from a non-interactive shell's background, which passes SIGINT ignored.
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    # Wake up every second rather than block for ever: CPython runs signal handlers only in the main thread, between
    # bytecodes, and a signal the kernel hands to another thread does not interrupt a lock wait with no timeout.
    while not stopped.wait(timeout=1.0):
        pass
    print("Stopping (saving state)...", flush=True)
    # A second Ctrl-C must not interrupt the final snapshot half-way; stopping takes a few seconds at most.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stack.stop()
    print(f"Stopped. Data kept in {config.state_dir}.", flush=True)
    return 0


# The stack's own loggers. They get their handler directly rather than through the root logger: Powertools' Logger
# (service "imagetagger", in the Lambda handlers loaded into this process) filters out every record whose logger name
# contains its service name from the root logger's handlers, which would silence all of these.
STACK_LOGGERS = ("imagetagger_local", "imagetagger_workflow")


def _log_to_stderr(level: int) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    for name in STACK_LOGGERS:
        stack_logger = logging.getLogger(name)
        stack_logger.addHandler(handler)
        stack_logger.setLevel(level)
        stack_logger.propagate = False
