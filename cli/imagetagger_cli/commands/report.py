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
    parser.add_argument(
        "--split",
        type=Path,
        metavar="JSON",
        help="also make the 80/10/10 stratified split (duplicates never cross parts) and save it here",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split")
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
    if args.split:
        from imagetagger_training.split import make_split

        split = make_split(images, seed=args.seed)
        split.save(args.split)
        print(f"split saved to {args.split}: {len(split.train)} train, {len(split.val)} val, {len(split.test)} test")
    print(
        f"{stats['n_images']} images, {stats['n_classes_present']} classes present, "
        f"{stats['label_cardinality']['mean']:.2f} labels per image; report in {args.out}"
    )
    return 0
