"""`imagetagger pipeline run|retag`: the training workflow and the re-tag job against the local stack (`make up`)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]


def register(subparsers: Any) -> None:
    from imagetagger_local.config import Ports, default_state_dir  # light: no boto3

    parser = subparsers.add_parser(
        "pipeline",
        help="training workflow on the local stack: prepare -> train -> evaluate -> promote or refuse; re-tag",
        description="The Step Functions workflow's steps, run against the local stack started by `make up`.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    defaults = Ports()

    def stack_options(action: argparse.ArgumentParser) -> None:
        action.add_argument("--state-dir", type=Path, default=default_state_dir(), help="the stack's state folder")
        action.add_argument("--moto-port", type=int, default=defaults.moto)
        action.add_argument("--endpoint-port", type=int, default=defaults.endpoint)
        action.add_argument("--json", action="store_true", help="print the outcome as JSON")

    run = actions.add_parser("run", help="train a candidate on COCO + corrections; promote it only if not worse")
    stack_options(run)
    run.add_argument("--coco-dir", type=Path, default=REPO_ROOT / "data" / "coco-sample")
    run.add_argument(
        "--serving-model-dir",
        type=Path,
        default=Path(os.environ.get("IMAGETAGGER_MODEL_DIR", REPO_ROOT / "models" / "default")),
        help="the model the stack was started with (used until the registry knows the serving one)",
    )
    run.add_argument("--test-fraction", type=float, default=0.2, help="share of corrected images held out for test")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--max-train-images", type=int, help="train on the first N examples only (cheap or weak runs)")
    run.add_argument(
        "--train-arg",
        action="append",
        default=[],
        metavar="FLAG",
        help="extra `imagetagger train` flag, repeatable, e.g. --train-arg=--epochs --train-arg=10",
    )
    run.add_argument("--min-gain", type=float, default=0.0, help="test mAP points the candidate must gain")
    run.set_defaults(func=run_pipeline_command)

    retag = actions.add_parser("retag", help="re-tag images tagged by another model version than the serving one")
    stack_options(retag)
    retag.add_argument("--user", help="only this user's images")
    retag.set_defaults(func=retag_command)


def _target(args: argparse.Namespace) -> Any:
    """The running local stack, or None after saying why it cannot be reached."""
    from imagetagger_local.pipeline.target import LocalTarget, StackNotRunningError

    try:
        return LocalTarget.connect(
            f"http://127.0.0.1:{args.moto_port}", f"http://127.0.0.1:{args.endpoint_port}", args.state_dir.resolve()
        )
    except StackNotRunningError as exc:
        print(f"imagetagger pipeline: {exc}")
        return None


def run_pipeline_command(args: argparse.Namespace) -> int:
    from imagetagger_local.pipeline.run import PipelineOptions, run_pipeline

    target = _target(args)
    if target is None:
        return 2
    options = PipelineOptions(
        coco_dir=args.coco_dir,
        runs_dir=args.state_dir.resolve() / "runs",
        serving_model_dir=args.serving_model_dir.resolve(),
        test_fraction=args.test_fraction,
        seed=args.seed,
        max_train_images=args.max_train_images,
        train_args=args.train_arg,
        min_gain=args.min_gain,
    )
    outcome = run_pipeline(target, options, say=(lambda _: None) if args.json else print)
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=1))
    return 1 if outcome.status == "FAILED" else 0


def retag_command(args: argparse.Namespace) -> int:
    from imagetagger_local.pipeline.retag import retag_stale_images

    target = _target(args)
    if target is None:
        return 2
    summary = retag_stale_images(target, user_id=args.user)
    print(json.dumps(summary, indent=1) if args.json else f"re-tagged {summary['retagged']} image(s): {summary}")
    return 1 if summary["failed"] else 0
