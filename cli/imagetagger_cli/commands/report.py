"""`imagetagger report`: dataset statistics (class frequencies, label cardinality, co-occurrence) as JSON + PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("report", help="dataset report: class frequencies, cardinality, co-occurrence")
    parser.add_argument("--annotations", required=True, type=Path, help="COCO instances JSON or a .jsonl manifest")
    parser.add_argument("--images", type=Path, help="images folder (COCO)")
    parser.add_argument("--out", required=True, type=Path, help="folder for report.json and the PNG plots")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_training.data import label_source
    from imagetagger_training.report import write_dataset_report

    if not args.annotations.is_file():
        print(f"error: no annotations file at {args.annotations}", file=sys.stderr)
        return 2
    try:
        images = label_source(args.annotations, args.images).load()
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stats = write_dataset_report(images, args.out)
    print(
        f"{stats['n_images']} images, {stats['n_classes_present']} classes present, "
        f"{stats['label_cardinality']['mean']:.2f} labels per image; report in {args.out}"
    )
    return 0
