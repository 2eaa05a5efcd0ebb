"""`imagetagger evaluate`: score a model artifact's ONNX graph (what is served) on annotated images; `--backend`
scores one of the endpoint's optimised variants instead (e.g. the int8 graph this machine serves)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPORTED_KEYS = (
    "mAP", "CP", "CR", "CF1", "OP", "OR", "OF1",
    "per_label_accuracy", "all_negative_per_label_accuracy", "n_images", "n_classes_present",
)  # fmt: skip


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="mAP, CP/CR/CF1/OP/OR/OF1 and per-label accuracy (vs all-negative) of a model on annotated images",
    )
    parser.add_argument("--annotations", required=True, type=Path, help="COCO instances JSON or a .jsonl manifest")
    parser.add_argument("--images", type=Path, help="folder of the images named in COCO annotations")
    parser.add_argument("--model", type=Path, help="model artifact folder (default: models/default)")
    parser.add_argument(
        "--backend",
        help="score with this serving backend of the endpoint (e.g. ov-int8; optimised variants come from the "
        "endpoint's cache, made by `python -m imagetagger_bench.optimize`) instead of the fp32 graph",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--report-dir", type=Path, help="also write metrics.json with per-class AP and pr_curves.png")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_training.evaluate import DEFAULT_MODEL_DIR, evaluate_model
    from imagetagger_training.metrics import rounded

    model_dir = args.model or DEFAULT_MODEL_DIR
    if not (model_dir / "model.onnx").is_file() or not (model_dir / "model.json").is_file():
        print(f"error: {model_dir} is not a model artifact (model.onnx + model.json)", file=sys.stderr)
        return 2
    if not args.annotations.is_file():
        print(f"error: no annotations file at {args.annotations}", file=sys.stderr)
        return 2
    if args.annotations.suffix != ".jsonl" and args.images is None:
        print("error: COCO annotations need --images DIR", file=sys.stderr)
        return 2
    try:
        predict = None if args.backend is None else _backend_predictor(model_dir, args.backend)
        evaluation = evaluate_model(model_dir, args.annotations, args.images, predict)
    except (ValueError, KeyError, json.JSONDecodeError, FileNotFoundError, ModuleNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path, reason in evaluation.unreadable.items():
        print(f"skipped unreadable image {path}: {reason}", file=sys.stderr)
    if args.report_dir:
        from imagetagger_training.plots import write_evaluation_report

        write_evaluation_report(evaluation, args.report_dir)
    figures = rounded({key: evaluation.metrics[key] for key in REPORTED_KEYS})
    clean = None if evaluation.clean is None else rounded({k: evaluation.clean.get(k) for k in REPORTED_KEYS})
    if args.json:
        report = {**figures, "unreadable": evaluation.unreadable, "model_version": evaluation.model_version}
        report["backend"] = args.backend or "ort-fp32"
        # The clean subset: images none of the model's parts may have trained on (docs/model.md).
        report["clean"] = clean
        report["seen_by_part"] = evaluation.seen_by
        if evaluation.clean_note:
            report["clean_note"] = evaluation.clean_note
        print(json.dumps(report))
        return 0
    backend = f", backend {args.backend}" if args.backend else ""
    print(
        f"model {evaluation.model_version}{backend} on {figures['n_images']} images"
        f" ({figures['n_classes_present']} classes)"
    )
    if clean is None:
        print(f"  clean subset unknown: {evaluation.clean_note}")
        for key in REPORTED_KEYS[:9]:
            print(f"  {key:<34} {figures[key]:6.2f}")
        return 0
    seen = ", ".join(f"{part} {count}" for part, count in evaluation.seen_by.items())
    print(f"  images a part may have trained on: {seen}; clean (seen by none): {clean['n_images']}")
    print(f"  {'':<34} {'all':>6} {'clean':>6}")
    for key in REPORTED_KEYS[:9]:
        value = clean[key]
        shown = f"{value:6.2f}" if isinstance(value, float | int) else f"{'-':>6}"
        print(f"  {key:<34} {figures[key]:6.2f} {shown}")
    return 0


def _backend_predictor(model_dir: Path, name: str):  # noqa: ANN202 - the endpoint's backends are imported lazily
    from imagetagger_endpoint.backends import load_backend
    from imagetagger_endpoint.selection import cache_dir_for

    return load_backend(model_dir, name, cache_dir_for(model_dir)).run
