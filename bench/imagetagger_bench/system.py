"""The system around the model, measured against the bare pipeline in one run on one machine (issue 13).

    python -m imagetagger_bench.system [--profile DIR]    # also part of `imagetagger bench --json`

- `pipeline_img_per_s`: the bare pipeline (read, decode, prepare, infer) over the sample photos (`--images`, the 79
  held-out ones by default), measured right before
  and right after the stack runs (the mean of the two: this VM's speed drifts within minutes);
- `import_img_per_s`: `imagetagger import` of the same images through a private stack (`imagetagger up` in a
  subprocess, as a user runs it), from the first upload to the last image TAGGED or FAILED;
- `overhead_ratio`: pipeline / import (1.0 = the system costs nothing on top of the model);
- `upload_to_tagged_p50_s` / `_p99_s`: single uploads one after another on the idle stack, from POST /uploads to the
  first GET that shows TAGGED (polled every 20 ms);
- `endpoint_ms_per_image`: the endpoint's time per image in requests of 1 and of 10 (what batching saves where the
  endpoint bills by the millisecond: docs/benchmark.md, "Cost in AWS");
- `import_cpu_ms_per_image`: the CPU time the import cost per image in each process (the stack's own, moto's, the
  model endpoint, the function environments, the importing client), from the kernel's accounting: unlike a sampling
  profile it does not count threads waiting for a core.

Before the measured import, a warm-up import of WARMUP_IMAGES photos by another user starts every execution
environment the import will use (the bare pipeline is timed after a warm-up too): a cold start is a new Python process
importing boto3 and Powertools, seconds of CPU that a long import pays once and a short one mostly pays inside its
timing.

`--timeline` adds `import_timeline`: the cores each kind of process (and the whole machine) used in every half second
of the import (imagetagger_bench.cpu_timeline). `--profile DIR` records the stack process (its endpoint and function
environments included) with py-spy during the import and writes the collapsed stacks and a per-part summary there
(docs/benchmark.md, "System overhead")."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import subprocess  # nosec B404 - py-spy and our own benchmark module, no shell
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from imagetagger_bench.optimize import REPO_ROOT, SAMPLE_DIR
from imagetagger_bench.system_cpu import cpu_by_process, cpu_ms_per_image

logger = logging.getLogger(__name__)
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "default"
SINGLE_UPLOADS = 20
SINGLE_POLL_S = 0.02
IMPORT_WORKERS = 8  # `imagetagger import`'s default
WARMUP_IMAGES = 2 * IMPORT_WORKERS  # enough concurrent uploads to start every environment the import uses
IMPORT_TIMEOUT_S = 900
# The same photos through both: the 79 held-out COCO sample images (the 287 of train + val take minutes per pass with
# the fused default model on 2 cores).
DEFAULT_IMAGES = SAMPLE_DIR / "val"
BATCH = 10  # the template's SQS BatchSize: the images one endpoint call carries


def _pipeline(model_dir: Path, images: Path, runs: int) -> tuple[float, str]:
    """The bare pipeline's images per second, and the backend it ran on (the endpoint's choice: the same both sides)."""
    from imagetagger_bench.measure import run_measure

    measured = run_measure(["pipeline", "--model-dir", str(model_dir), "--images", str(images), "--runs", str(runs)])
    return float(measured["img_per_s"]), str(measured["backend"])


def _import(api_url: str, token: str, folder: Path, journal_path: Path) -> dict[str, Any]:
    from imagetagger_workflow.importer import import_folder

    started = time.perf_counter()
    result = import_folder(api_url, token, folder, journal_path, workers=IMPORT_WORKERS, timeout_s=IMPORT_TIMEOUT_S)
    wall_s = time.perf_counter() - started
    finished = result.tagged + result.failed_tagging
    return {
        "images": finished,
        "wall_s": round(wall_s, 2),
        "img_per_s": round(finished / wall_s, 2),
        **result.to_dict(),
    }


def _warm_up(api_url: str, token: str, photos: list[Path], scratch: Path) -> None:
    """Import the first WARMUP_IMAGES photos as IMPORT_WORKERS uploads at a time, so that the functions' execution
    environments are started (and warm) before the measured import."""
    folder = scratch / "warm-up"
    folder.mkdir()
    for index, photo in enumerate(photos[:WARMUP_IMAGES]):
        (folder / f"{index:02d}-{photo.name}").symlink_to(photo.resolve())  # names may repeat across subfolders
    _import(api_url, token, folder, scratch / "warm-up.json")


def _single_uploads(api_url: str, token: str, photos: list[Path], count: int) -> list[float]:
    from imagetagger_mobile.api_client import ImageTaggerClient

    client = ImageTaggerClient(api_url, token)
    durations = []
    for index in range(count):
        photo = photos[index % len(photos)]
        data = photo.read_bytes()
        started = time.perf_counter()
        image_id = client.upload(photo.name, data)
        record = client.wait_for_tags(image_id, timeout_s=60, first_delay_s=SINGLE_POLL_S, max_delay_s=SINGLE_POLL_S)
        if record.status != "TAGGED":
            raise RuntimeError(f"a single upload ended {record.status}: {record.error}")
        durations.append(time.perf_counter() - started)
        time.sleep(0.2)  # idle between uploads: nothing queued behind
    return durations


def endpoint_ms_per_image(model_dir: Path, rounds: int = 5) -> dict[str, float]:
    """Endpoint time per image (one InvokeEndpoint over HTTP with npy, as the Lambda sends it) in requests of 1 and of
    an SQS batch of 10 images, alternating rounds, median: what SageMaker Serverless bills by the millisecond."""
    import io

    import numpy as np
    import requests

    from imagetagger.modelspec import load_model_spec
    from imagetagger_endpoint.server import start_endpoint

    size = load_model_spec(model_dir).size
    images = np.random.default_rng(0).integers(0, 256, (BATCH, size, size, 3), dtype=np.uint8)

    def body(batch: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, batch, allow_pickle=False)
        return buffer.getvalue()

    singles, batch = [body(image[np.newaxis]) for image in images], body(images)
    endpoint = start_endpoint(model_dir)
    url = f"{endpoint.url}/invocations"
    headers = {"Content-Type": "application/x-npy", "Accept": "application/json"}
    times: dict[str, list[float]] = {"batch_1": [], f"batch_{BATCH}": []}
    try:
        with requests.Session() as session:
            session.post(url, data=batch, headers=headers, timeout=120).raise_for_status()  # warm-up
            for _ in range(rounds):
                started = time.perf_counter()
                for single in singles:
                    session.post(url, data=single, headers=headers, timeout=120).raise_for_status()
                times["batch_1"].append((time.perf_counter() - started) / BATCH * 1000)
                started = time.perf_counter()
                session.post(url, data=batch, headers=headers, timeout=120).raise_for_status()
                times[f"batch_{BATCH}"].append((time.perf_counter() - started) / BATCH * 1000)
    finally:
        endpoint.close()
    return {name: round(sorted(values)[len(values) // 2], 1) for name, values in times.items()}


def _start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        logger.warning("py-spy not found; no profile")
        return None
    command = [py_spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "50"]
    command += ["--nonblocking", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603  # nosec B603


def measure_system(
    model_dir: Path = DEFAULT_MODEL_DIR,
    pipeline_runs: int = 3,
    profile_dir: Path | None = None,
    images: Path = DEFAULT_IMAGES,
    timeline: bool = False,
) -> dict[str, Any]:
    # Everything this run needs is imported before it starts: a run takes many minutes.
    from imagetagger_bench.cpu_timeline import CpuTimeline
    from imagetagger_bench.profile_parts import summarise  # noqa: F401
    from imagetagger_local.load import percentile
    from imagetagger_local.stack_process import StackProcess
    from imagetagger_local.tokens import issue_token
    from imagetagger_workflow import importer  # noqa: F401

    photos = sorted(images.glob("**/*.jpg"))
    before, backend = _pipeline(model_dir, images, pipeline_runs)
    logger.info("pipeline before the stack: %.1f img/s", before)
    with tempfile.TemporaryDirectory(prefix="imagetagger-system-") as scratch:
        stack = StackProcess(Path(scratch) / "stack")
        stack.start()
        try:
            token = issue_token(stack.state_dir / "jwt", f"bench-{uuid.uuid4().hex[:8]}")
            _warm_up(stack.api_url, issue_token(stack.state_dir / "jwt", "bench-warm-up"), photos, Path(scratch))
            profiler = None
            if profile_dir is not None and stack.process is not None:
                profile_dir.mkdir(parents=True, exist_ok=True)
                profiler = _start_profiler(stack.process.pid, profile_dir / "import.collapsed")
            stack_pid = stack.process.pid if stack.process is not None else -1
            cpu_before, client_before = cpu_by_process(stack_pid), time.process_time()
            with CpuTimeline(stack_pid) if timeline else nullcontext() as sampled:
                imported = _import(stack.api_url, token, images, Path(scratch) / "journal.json")
            cpu = cpu_ms_per_image(
                cpu_before, cpu_by_process(stack_pid), time.process_time() - client_before, imported["images"]
            )
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
                profiler.wait(timeout=60)
            logger.info("import: %s", imported)
            single = _single_uploads(stack.api_url, token, photos, SINGLE_UPLOADS)
        finally:
            stack.stop()
    after, _ = _pipeline(model_dir, images, pipeline_runs)
    logger.info("pipeline after the stack: %.1f img/s", after)
    endpoint = endpoint_ms_per_image(model_dir)
    logger.info("endpoint ms per image: %s", endpoint)
    pipeline = (before + after) / 2
    return {
        "import_img_per_s": imported["img_per_s"],
        "pipeline_img_per_s": round(pipeline, 1),
        "overhead_ratio": round(pipeline / imported["img_per_s"], 2) if imported["img_per_s"] else None,
        "upload_to_tagged_p50_s": round(percentile(single, 50), 3),
        "upload_to_tagged_p99_s": round(percentile(single, 99), 3),
        "pipeline_before_after_img_per_s": [round(before, 1), round(after, 1)],
        "backend": backend,
        "import": {key: imported[key] for key in ("images", "wall_s", "uploaded", "tagged", "failed_tagging")},
        "import_errors": imported["errors"][:5],
        "single_uploads": len(single),
        "endpoint_ms_per_image": endpoint,
        "import_cpu_ms_per_image": cpu,
        **({"import_timeline": sampled.cores()} if sampled is not None else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--pipeline-runs", type=int, default=3)
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="the photos imported and piped")
    parser.add_argument("--profile", type=Path, help="record the stack with py-spy during the import into this folder")
    parser.add_argument("--timeline", action="store_true", help="cores used by each process, every 0.5 s of the import")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    report = measure_system(args.model_dir, args.pipeline_runs, args.profile, args.images, args.timeline)
    if args.profile:
        from imagetagger_bench.profile_parts import summarise

        summary = summarise(args.profile / "import.collapsed", images=report["import"]["images"])
        (args.profile / "summary.json").write_text(json.dumps(summary, indent=1))
        report["profile"] = summary
    print(json.dumps(report, indent=1))  # noqa: T201 - the module's output


if __name__ == "__main__":
    main()
