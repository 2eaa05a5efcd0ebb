"""The fine-tuning loop behind `imagetagger train --recipe finetune`: staged unfreezing, best-epoch checkpoint by
validation mAP, resume, early stopping, thresholds and calibration on the validation split, export."""

from __future__ import annotations

import json
import logging
import os
from argparse import Namespace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from scipy.special import expit
from torch.nn.parallel import DistributedDataParallel

from imagetagger_training.checkpoint import make_checkpoint
from imagetagger_training.engine import evaluate, train_one_epoch
from imagetagger_training.export import export_model
from imagetagger_training.features import cache_features
from imagetagger_training.losses import build_loss
from imagetagger_training.metrics import compute_metrics, rounded
from imagetagger_training.model import Tagger, build_tagger
from imagetagger_training.plots import write_training_curves
from imagetagger_training.thresholds import fit_temperature, tune_thresholds
from imagetagger_training.training_setup import (
    eval_loader,
    init_distributed,
    set_trainable,
    train_loader,
    train_val_images,
)

log = logging.getLogger("imagetagger.train")


def _optimizer(model: Tagger, args: Namespace) -> torch.optim.Optimizer:
    # Pretrained stages move 10x slower than the new head. Frozen parameters get no gradient, so Adam skips them.
    backbone = [p for n, p in model.backbone.named_parameters() if not n.startswith(("net._fc", "net.fc"))]
    return torch.optim.Adam(
        [{"params": list(model.head.parameters()), "lr": args.lr}, {"params": backbone, "lr": args.lr * 0.1}],
        lr=args.lr,
        weight_decay=args.weight_decay,
    )


def fit(args: Namespace) -> dict[str, Any]:
    rank, world = init_distributed()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    out_dir = Path(args.output_dir)
    report_dir = Path(args.report_dir) if args.report_dir else out_dir / "report"
    if rank == 0:
        train_images, val_images = train_val_images(args)  # rank 0 writes the split; the others then read it
    if world > 1:
        dist.barrier()
    if rank != 0:
        train_images, val_images = train_val_images(args)

    model = build_tagger(args.backbone, train_images.names, pretrained=args.pretrained, scales=tuple(args.scales))
    # Standardise head inputs with the pretrained descriptions of the training images (serving preprocessing).
    model.head.set_standardisation(cache_features(model, train_images, augmented_views=0, seed=args.seed)[0][0])
    model.to(device)
    optimizer = _optimizer(model, args)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(args.epochs, 1))
    loss_fn = build_loss(args.loss)
    start_epoch, best_map, history = 0, -1.0, []
    if args.resume:
        state = torch.load(args.resume, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, history = state["epoch"] + 1, state.get("history", [])
        best_map = max((h["val_mAP"] for h in history), default=-1.0)
        if rank == 0 and not (out_dir / "checkpoint.pt").is_file():
            torch.save(state, out_dir / "checkpoint.pt")  # the best so far, until an epoch beats it

    loader, val_loader = train_loader(train_images, args, rank, world), eval_loader(val_images, args)
    wrapped, open_stages, stale = model, -1, 0
    for epoch in range(start_epoch, args.epochs):
        if (n_open := set_trainable(model, epoch, args.unfreeze_every)) != open_stages:
            open_stages = n_open  # DDP must be rebuilt when the set of trainable parameters changes
            wrapped = DistributedDataParallel(model) if world > 1 else model
        loss = train_one_epoch(wrapped, loader, loss_fn, optimizer, device, args.amp, epoch, show_progress=rank == 0)
        scheduler.step()
        logits, targets = evaluate(model, val_loader, device)
        val_map = compute_metrics(expit(logits), targets, 0.5)["mAP"]
        history.append({"epoch": epoch, "train_loss": loss, "val_mAP": val_map, "open_stages": n_open})
        log.info("epoch %d: loss %.4f, val mAP %.2f, %d backbone stages training", epoch, loss, val_map, n_open)
        if val_map > best_map:
            best_map, stale = val_map, 0
            if rank == 0:
                ckpt = make_checkpoint(
                    model,
                    args,
                    train_images.classes,
                    names=train_images.names,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    epoch=epoch,
                    history=history,
                    metrics={"val_mAP": round(val_map, 2)},
                )
                torch.save(ckpt, out_dir / "checkpoint.pt")
        else:
            stale += 1
            if stale >= args.patience:
                log.info("early stopping: no better val mAP for %d epochs", stale)
                break
    if world > 1:
        dist.barrier()
    result = _finish(model, val_loader, device, args, out_dir, report_dir, history) if rank == 0 else {}
    if world > 1:
        dist.destroy_process_group()
    return result


def _finish(model, val_loader, device, args, out_dir: Path, report_dir: Path, history) -> dict[str, Any]:
    """Best epoch back in, calibration and per-class thresholds on validation, then the artifact."""
    checkpoint = torch.load(out_dir / "checkpoint.pt", map_location="cpu", weights_only=False)
    model.load_state_dict(checkpoint["model"])
    logits, targets = evaluate(model, val_loader, device)
    temperature = fit_temperature(logits, targets)
    probs = expit(logits / temperature)
    thresholds = tune_thresholds(probs, targets, min_positives=args.min_positives)
    checkpoint.update(temperature=temperature, thresholds=thresholds.tolist(), history=history)
    checkpoint["metrics"] = {"val_split": rounded(compute_metrics(probs, targets, thresholds))}
    torch.save(checkpoint, out_dir / "checkpoint.pt")
    write_training_curves(history, report_dir / "training_curves.png")
    (report_dir / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    log.info("best epoch %d: %s", checkpoint["epoch"], checkpoint["metrics"]["val_split"])
    return export_model(out_dir / "checkpoint.pt", out_dir) if args.export else checkpoint["metrics"]
