"""`imagetagger evaluate-labels`: how well a custom label learns a COCO class from 5 photos (data/coco-clean)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate-labels",
        help="few-shot custom labels on data/coco-clean: AP, precision and recall from 5 examples per class",
        description="For every COCO class with 10+ photos in data/coco-clean (not person) and 5 seeded draws, trains "
        "a custom label from 5 random photos of it on the default model's embeddings alone (as the label function "
        "does) and scores it on the other photos against COCO's ground truth. Embeddings are cached per model.",
    )
    parser.add_argument("--model", type=Path, help="model artifact folder (default: models/default)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws")
    parser.add_argument("--json", action="store_true", help="print the whole JSON report (every run)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_bench.labels import few_shot_evaluation
    from imagetagger_bench.run import DEFAULT_MODEL_DIR, cpu_summary

    report = {"cpu": cpu_summary(), **few_shot_evaluation(args.model or DEFAULT_MODEL_DIR, args.seed)}
    if not args.json:
        report.pop("runs")
        for setting in ("library", "held_out"):
            report[setting].pop("per_class")
    print(json.dumps(report, indent=None if args.json else 1))  # noqa: T201 - the command's output
    return 0
