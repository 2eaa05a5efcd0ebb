"""One measurement in a fresh process; prints one JSON object. Used by run.py, runnable by hand:

python -m imagetagger_bench.measure backend --model resnet50 --model-dir DIR --backend ov-int8
python -m imagetagger_bench.measure ratio --model resnet50 --model-dir DIR --backend ov-int8 --batch 16 \
    --baseline-batch 8
python -m imagetagger_bench.measure ratio --model default --model-dir models/default --backend ov-int8 --batch 8 \
    --baseline ov-bf16 --baseline-batch 8
python -m imagetagger_bench.measure pipeline --model-dir models/default
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess  # nosec B404 - this module itself, no shell
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from imagetagger.modelspec import load_model_spec
from imagetagger_endpoint.backends import BACKENDS, Backend, load_backend
from imagetagger_endpoint.selection import cache_dir_for

BATCH_SIZES = (1, 8, 16)
SECONDS_PER_POINT = 3.0  # time budget per (backend, batch size): enough runs for a stable median
SETTLE_S = 0.5  # torch's OpenMP threads keep spinning a moment after their last task: let them sleep first


def run_measure(arguments: list[str]) -> dict[str, Any]:
    """This module's measurement in a fresh process (its own threads and caches); its last JSON line."""
    command = [sys.executable, "-m", "imagetagger_bench.measure", *arguments]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if finished.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed: {finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _timed_runs(backend: Backend, images: np.ndarray, min_runs: int, budget_s: float) -> list[float]:
    backend.run(images)  # warm-up: first-call allocations, lazy compilation
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < min_runs or (time.perf_counter() < deadline and len(times) < 200):
        started = time.perf_counter()
        backend.run(images)
        times.append(time.perf_counter() - started)
    return times


def speed(backend: Backend, size: int, batch_sizes: tuple[int, ...] = BATCH_SIZES, budget_s: float = SECONDS_PER_POINT):
    """{"ms_bs1", "img_per_s", "batch"}: median batch-1 latency; best median throughput over the batch sizes."""
    rng = np.random.default_rng(0)
    throughput: dict[int, float] = {}
    ms_bs1 = float("nan")
    for batch in batch_sizes:
        images = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
        median_s = statistics.median(_timed_runs(backend, images, min_runs=3, budget_s=budget_s))
        throughput[batch] = batch / median_s
        if batch == 1:
            ms_bs1 = 1000 * median_s
    best_batch = max(throughput, key=lambda b: throughput[b])
    return {"ms_bs1": round(ms_bs1, 2), "img_per_s": round(throughput[best_batch], 1), "batch": best_batch}


def measure_backend(args: argparse.Namespace) -> dict[str, Any]:
    size = load_model_spec(args.model_dir).size
    if args.backend in BACKENDS:
        backend: Backend = load_backend(args.model_dir, args.backend, cache_dir_for(args.model_dir))
    else:
        from imagetagger_bench.torch_backends import load_torch_backend

        backend = load_torch_backend(args.backend, args.model, args.model_dir)
    result = speed(backend, size, budget_s=args.budget_s)
    if args.check_probabilities:
        from imagetagger_bench.optimize import check_set, predict_all

        images, _ = check_set(args.model_dir)
        np.save(args.check_probabilities, predict_all(backend, images))
    return result


def measure_ratio(args: argparse.Namespace) -> dict[str, Any]:
    """Throughput of `--backend` over the baseline's (torch fp32 eager, or `--baseline` when a serving backend is the
    one to beat: the default model has no torch checkpoint), measured back to back in alternating rounds in one
    process, each at its own batch size. This machine's speed drifts (the same measurement gave 145 and 316
    img/s within a minute on this shared VM), so a ratio of two figures taken minutes apart carries that drift; a
    ratio taken within seconds mostly does not. The median of the rounds' ratios is the speedup."""
    from imagetagger_bench.torch_backends import BASELINE, load_torch_backend

    size = load_model_spec(args.model_dir).size
    cache_dir = cache_dir_for(args.model_dir)
    baseline: Backend = (
        load_backend(args.model_dir, args.baseline, cache_dir)
        if args.baseline in BACKENDS
        else load_torch_backend(args.baseline or BASELINE, args.model, args.model_dir)
    )
    candidate = load_backend(args.model_dir, args.backend, cache_dir)
    rng = np.random.default_rng(0)
    baseline_images = rng.integers(0, 256, (args.baseline_batch, size, size, 3), dtype=np.uint8)
    candidate_images = rng.integers(0, 256, (args.batch, size, size, 3), dtype=np.uint8)
    ratios = []
    for _ in range(args.rounds):
        baseline_s = statistics.median(_timed_runs(baseline, baseline_images, min_runs=3, budget_s=args.budget_s))
        time.sleep(SETTLE_S)
        candidate_s = statistics.median(_timed_runs(candidate, candidate_images, min_runs=3, budget_s=args.budget_s))
        ratios.append((args.batch / candidate_s) / (args.baseline_batch / baseline_s))
    return {"speedup": round(statistics.median(ratios), 2), "round_ratios": [round(r, 2) for r in ratios]}


def measure_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """Images per second tagging real JPEGs from disk (read, decode, prepare, infer), the median of `runs`."""
    from imagetagger_endpoint.handler import model_fn
    from imagetagger_endpoint.pipeline import tag_files

    model = model_fn(str(args.model_dir))
    paths = sorted(args.images.glob("**/*.jpg"))
    tag_files(paths[:32], model)  # warm-up
    rates = []
    for _ in range(args.runs):
        started = time.perf_counter()
        results = tag_files(paths, model)
        rates.append(len(paths) / (time.perf_counter() - started))
    failed = [r.path.name for r in results if r.tags is None]
    return {
        "img_per_s": round(statistics.median(rates), 1),
        "images": len(paths),
        "backend": model.backend.name,
        "unreadable": failed,
    }


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    backend = sub.add_parser("backend", help="speed (and optionally val probabilities) of one backend")
    backend.add_argument("--model", required=True, help="resnet50 or default (for the torch module)")
    backend.add_argument("--model-dir", type=Path, required=True)
    backend.add_argument("--backend", required=True)
    backend.add_argument("--budget-s", type=float, default=SECONDS_PER_POINT)
    backend.add_argument(
        "--check-probabilities", type=Path, help="also save the accuracy check's probabilities to this .npy"
    )
    ratio = sub.add_parser("ratio", help="a serving backend's speedup over a baseline, in alternating rounds")
    ratio.add_argument("--model", required=True, help="resnet50 or default (for the torch module)")
    ratio.add_argument("--model-dir", type=Path, required=True)
    ratio.add_argument("--backend", required=True)
    ratio.add_argument("--batch", type=int, required=True, help="the backend's batch size")
    ratio.add_argument("--baseline-batch", type=int, required=True)
    ratio.add_argument("--baseline", help="a serving backend to compare with instead of torch fp32 eager")
    ratio.add_argument("--rounds", type=int, default=5)
    ratio.add_argument("--budget-s", type=float, default=SECONDS_PER_POINT / 2)
    pipeline = sub.add_parser("pipeline", help="bulk tagging throughput on real JPEGs")
    pipeline.add_argument("--model-dir", type=Path, required=True)
    pipeline.add_argument("--images", type=Path, required=True)
    pipeline.add_argument("--runs", type=int, default=3)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = get_args_parser().parse_args(argv)
    measure = {"backend": measure_backend, "ratio": measure_ratio, "pipeline": measure_pipeline}[args.what]
    result = measure(args)
    print(json.dumps(result))  # noqa: T201 - the parent process reads this line


if __name__ == "__main__":
    main()
