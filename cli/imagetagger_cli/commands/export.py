"""`imagetagger export CHECKPOINT OUT_DIR`: the serving artifact (ONNX, model.json, checkpoint, model card)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("export", help="export a training checkpoint to a model artifact folder")
    parser.add_argument("checkpoint", type=Path, help="checkpoint.pt written by `imagetagger train`")
    parser.add_argument("out_dir", type=Path, help="artifact folder (model.onnx, model.json, model_card.md)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_training.export import export_model

    if not args.checkpoint.is_file():
        print(f"error: no checkpoint at {args.checkpoint}", file=sys.stderr)
        return 2
    spec = export_model(args.checkpoint, args.out_dir)
    print(f"exported {spec['model_version']} to {args.out_dir}")
    return 0
