"""`imagetagger train --recipe head`: the default model's pipeline, end to end.

frozen pretrained backbone -> cached features of several augmented views -> head trained with the chosen loss ->
temperature and decision thresholds from out-of-fold predictions -> checkpoint -> ONNX artifact -> optional
evaluation of the exported ONNX on a held-out set.
"""

from __future__ import annotations

import logging
from argparse import Namespace
from pathlib import Path
from typing import Any

import torch
from scipy.special import expit

from imagetagger_training.checkpoint import make_checkpoint
from imagetagger_training.data import label_source
from imagetagger_training.dataset import readable
from imagetagger_training.evaluate import evaluate_model
from imagetagger_training.export import export_model
from imagetagger_training.features import cache_features
from imagetagger_training.head_recipe import HeadConfig, fit_head, out_of_fold_logits
from imagetagger_training.metrics import compute_metrics, rounded
from imagetagger_training.model import build_tagger
from imagetagger_training.plots import write_evaluation_report
from imagetagger_training.thresholds import decision_thresholds, fit_temperature

log = logging.getLogger(__name__)


def run_head_recipe(args: Namespace) -> dict[str, Any]:
    torch.manual_seed(args.seed)
    images, unreadable = readable(label_source(Path(args.annotations), args.images and Path(args.images)).load())
    targets = torch.from_numpy(images.targets)
    tagger = build_tagger(args.backbone, images.names, pretrained=args.pretrained, scales=tuple(args.scales))
    descriptions, priors = cache_features(tagger, images, augmented_views=args.views, seed=args.seed)
    config = HeadConfig(
        loss=args.loss, steps=args.head_steps, lr=args.head_lr, l2=args.head_l2, folds=args.folds, seed=args.seed
    )

    # Calibration and thresholds come from predictions on images the head did not train on.
    oof_logits = out_of_fold_logits(tagger.head, descriptions, priors, targets, config)
    temperature = fit_temperature(oof_logits, images.targets)
    oof_probs = expit(oof_logits / temperature)
    policy = getattr(args, "threshold_policy", "global")
    thresholds = decision_thresholds(oof_probs, images.targets, policy=policy, min_positives=args.min_positives)
    oof_metrics = rounded(compute_metrics(oof_probs, images.targets, thresholds))
    log.info("out-of-fold metrics on the training data: %s", oof_metrics)

    fit_head(tagger.head, descriptions, priors, targets, config)
    checkpoint = make_checkpoint(
        tagger,
        args,
        images.classes,
        names=images.names,  # no optimizer or scheduler: the head is refitted from cached features in seconds
        thresholds=thresholds.tolist(),
        temperature=temperature,
        threshold_policy=policy,
        metrics={"train_out_of_fold": oof_metrics},
        unreadable=unreadable,
    )
    out_dir = Path(args.output_dir)
    spec = export_model(checkpoint, out_dir)
    if args.eval_annotations:
        evaluation = evaluate_model(out_dir, Path(args.eval_annotations), args.eval_images and Path(args.eval_images))
        checkpoint["metrics"]["val"] = rounded(evaluation.metrics)
        spec = export_model(checkpoint, out_dir)  # re-export so model.json and the card carry the held-out figures
        write_evaluation_report(evaluation, out_dir / "evaluation")
    return spec
