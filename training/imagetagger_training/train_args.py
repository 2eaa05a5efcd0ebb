"""The training flags, kept free of PyTorch imports so `imagetagger --help` stays fast and works without torch."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

BACKBONES = ("efficientnet_lite0", "resnet50")


def _channel_file(*names: str) -> str | None:
    channel = os.environ.get("SM_CHANNEL_TRAIN")
    for name in names if channel else ():
        if (Path(channel) / name).exists():
            return str(Path(channel) / name)
    return None


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Train the imagetagger model", add_help=add_help)
    p.add_argument(
        "--recipe",
        choices=("finetune", "head"),
        default="finetune",
        help="finetune: train backbone stages + head on images; head: frozen features, head only",
    )
    p.add_argument(
        "--annotations",
        default=_channel_file("annotations.json", "labels.jsonl"),
        help="COCO instances JSON or a .jsonl corrections manifest (default: from SM_CHANNEL_TRAIN)",
    )
    p.add_argument("--images", default=_channel_file("images"), help="folder of the COCO images")
    p.add_argument("--val-annotations", help="explicit validation set (default: the stratified split's val part)")
    p.add_argument("--val-images")
    p.add_argument("--split-file", help="saved split to reuse (default: OUTPUT_DIR/split.json, created if missing)")
    p.add_argument(
        "--output-dir",
        default=os.environ.get("SM_MODEL_DIR", "runs/latest"),
        help="checkpoint, resolved args and the exported artifact",
    )
    p.add_argument(
        "--report-dir",
        default=os.environ.get("SM_OUTPUT_DATA_DIR"),
        help="training curve and evaluation plots (default: OUTPUT_DIR/report)",
    )
    p.add_argument("--backbone", choices=BACKBONES, default="efficientnet_lite0")
    p.add_argument(
        "--pretrained",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ImageNet weights (default: yes for efficientnet_lite0, shipped offline; no for resnet50, "
        "whose weights need a download)",
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the head (backbone: x0.1)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--loss", choices=("focal", "asymmetric", "bce"), default="focal")
    p.add_argument(
        "--weighted-sampling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="draw images with rare labels more often",
    )
    p.add_argument(
        "--unfreeze-every",
        type=int,
        default=2,
        help="staged unfreezing: open one more backbone stage every N epochs (0: head only, -1: all)",
    )
    p.add_argument("--patience", type=int, default=4, help="early stopping: epochs without a better val mAP")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast")
    p.add_argument("--workers", type=int, default=0, help="data loader processes")
    p.add_argument("--resume", help="checkpoint to resume from (model, optimizer, scheduler, epoch)")
    p.add_argument("--min-positives", type=int, default=3, help="classes with fewer val positives share a threshold")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write model.onnx, model.json and the model card next to the checkpoint",
    )
    head = p.add_argument_group("head recipe")
    head.add_argument("--views", type=int, default=8, help="augmented views per image to cache features of")
    head.add_argument("--folds", type=int, default=5, help="k-fold for out-of-fold thresholds and calibration")
    head.add_argument(
        "--scales",
        type=float,
        nargs="+",
        default=[1.0],
        help="input scales the backbone looks at (the model upsamples its 224-pixel input inside)",
    )
    head.add_argument("--head-steps", type=int, default=300, help="full-batch optimisation steps of the head")
    head.add_argument("--head-lr", type=float, default=1e-2)
    head.add_argument("--head-l2", type=float, default=1e-2, help="L2 penalty on the head's linear weights")
    head.add_argument(
        "--threshold-policy",
        choices=("global", "per-class"),
        default="global",
        help="one shared max-micro-F1 threshold (robust with few positives per class) or per-class max-F1",
    )
    head.add_argument("--eval-annotations", help="held-out set evaluated with the exported ONNX (never trained on)")
    head.add_argument("--eval-images")
    return p  # fmt: skip
