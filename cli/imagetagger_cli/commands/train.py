"""`imagetagger train`: the training script's flags (see training/train.py, also the SageMaker entry point)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    # The flags live with the training code (get_args_parser); importing it is cheap (torch is imported by `run`).
    from imagetagger_training.train_args import get_args_parser

    parser = subparsers.add_parser(
        "train",
        parents=[get_args_parser(add_help=False)],
        help="train a model (fine-tune, or the default model's frozen-feature head recipe) and export the artifact",
        description="Train and export a tagging model. Example: imagetagger train --annotations A.json --images DIR",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_training.train import main

    main(args)
    return 0
