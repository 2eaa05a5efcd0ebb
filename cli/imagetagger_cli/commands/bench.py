"""`imagetagger bench`: how fast the model serves on this machine (see docs/benchmark.md)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark inference backends, accuracy, cold start and bulk throughput",
        description="Measures ResNet50 and the default model on every backend (torch fp32 eager baseline, "
        "ONNX Runtime, OpenVINO; fp32/bf16/int8), the chosen backend's val mAP, the endpoint's cold start and "
        "bulk tagging throughput, and records the fastest accurate backend for the endpoint. Takes a few minutes.",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--model-dir", type=Path, default=None, help="the default model (models/default)")
    parser.add_argument("--budget-s", type=float, default=3.0, help="seconds of timed runs per backend and batch size")
    parser.add_argument("--cold-runs", type=int, default=5, help="endpoint starts to take the median of")
    parser.add_argument("--pipeline-runs", type=int, default=3, help="bulk tagging runs to take the median of")
    parser.add_argument(
        "--similar",
        action="store_true",
        help="only find similar: one user's 10,000 images (matrix load + search), and neighbour quality on val",
    )
    parser.add_argument(
        "--labels",
        action="store_true",
        help="only custom labels: train one and apply it to one user's 10,000 stored embeddings (moto)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagetagger_bench.run import DEFAULT_MODEL_DIR, run_benchmark

    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO, format="%(message)s")
    if args.labels:
        from imagetagger_bench.labels import run_label_benchmark

        print(json.dumps(run_label_benchmark(), indent=None if args.json else 1))  # noqa: T201
        return 0
    if args.similar:
        from imagetagger_bench.similar import run_similar_benchmark

        print(json.dumps(run_similar_benchmark(), indent=None if args.json else 1))  # noqa: T201
        return 0
    report = run_benchmark(
        args.model_dir or DEFAULT_MODEL_DIR, args.budget_s, cold_runs=args.cold_runs, pipeline_runs=args.pipeline_runs
    )
    print(json.dumps(report, indent=None if args.json else 1))  # noqa: T201 - the command's output
    return 0
