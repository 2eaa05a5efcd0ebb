"""`imagetagger train` / training/train.py: fine-tune a backbone with a new 80-way head, or (`--recipe head`) train
only the head on cached frozen features, the recipe of the committed default model.

SageMaker script mode: data comes from SM_CHANNEL_TRAIN (annotations.json or labels.jsonl + images/), the artifact goes
to SM_MODEL_DIR, reports to SM_OUTPUT_DATA_DIR, hyperparameters arrive as the flags below. Multi-GPU / multi-node:
launch with torchrun (DDP; gloo on CPU).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import torch

from imagetagger_training.checkpoint import resolved_args
from imagetagger_training.engine import evaluate, train_one_epoch
from imagetagger_training.train_args import get_args_parser

log = logging.getLogger("imagetagger.train")
__all__ = ["evaluate", "get_args_parser", "main", "train_one_epoch"]


def main(args: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not args.annotations:
        raise SystemExit("error: --annotations is required (or set SM_CHANNEL_TRAIN)")
    if threads := int(os.environ.get("IMAGETAGGER_THREADS", "0")):
        torch.set_num_threads(threads)  # on a shared machine fewer threads than cores can be much faster
    if args.pretrained is None:
        args.pretrained = args.backbone == "efficientnet_lite0"
    args.invocation = " ".join(["imagetagger", *sys.argv[1:]] if "imagetagger" in sys.argv[0] else sys.argv)
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    (Path(args.output_dir) / "args.json").write_text(json.dumps(resolved_args(args), indent=1) + "\n")
    if args.recipe == "head":
        from imagetagger_training.head_pipeline import run_head_recipe

        return run_head_recipe(args)
    from imagetagger_training.finetune import fit

    return fit(args)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
