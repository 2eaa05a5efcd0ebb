"""Attribute a py-spy profile of the local stack (raw collapsed stacks) to the parts of the system.

py-spy samples every thread that is not idle (`--rate` per second), so a part's samples / rate approximate its CPU
seconds; divided by the images processed during the recording, that is its cost per image. Each stack goes to the
first rule that matches one of its frames, most specific first (a moto frame inside a snapshot counts as a snapshot).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

# (part, substrings of a frame): order matters, the first part with a matching frame takes the sample.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("endpoint: inference", ("onnxruntime", "openvino", "imagetagger_endpoint/backends.py")),
    ("endpoint: HTTP, request decoding, tags", ("imagetagger_endpoint/",)),
    ("local: state snapshots", ("imagetagger_local/persistence.py",)),
    ("local: S3 gateway SigV4 checks", ("imagetagger_local/sigv4.py",)),
    ("local: S3 gateway forms and proxying", ("imagetagger_local/s3_gateway.py", "imagetagger_local/post_policy.py")),
    ("local: moto (S3, SQS, DynamoDB)", ("moto/",)),
    ("process: decode and prepare", ("imagetagger/preprocessing.py", "PIL/")),
    ("process: idempotency records", ("utilities/idempotency/",)),
    ("DynamoDB calls, client side (processing and API)", ("imagetagger/storage.py",)),
    ("endpoint call, client side (processing and POST /tag)", ("imagetagger/endpoint.py",)),
    ("local: SQS worker", ("imagetagger_local/worker.py",)),
    ("local: API emulator, JWT", ("imagetagger_local/api_gateway.py", "imagetagger_local/tokens.py", "apigw_events")),
    ("api: handlers", ("functions/api/", "functions/presign/", "imagetagger/api/", "imagetagger/uploads.py")),
    ("process: handler, other", ("functions/process/", "imagetagger/processing.py", "utilities/batch/")),
    ("local: HTTP servers (werkzeug)", ("werkzeug/", "socketserver.py")),
    ("boto3 clients, other", ("botocore/", "boto3/", "urllib3/")),
)
_COUNT = re.compile(r"^(.*) (\d+)$")


def part_of(frames: list[str]) -> str:
    for part, needles in RULES:
        if any(needle in frame for frame in frames for needle in needles):
            return part
    return "other"


def process_of(frames: list[str]) -> str:
    """Which process a stack was sampled in: the stack's own (moto, servers, workers), the model endpoint, or a
    function's execution environment (py-spy names a child process in the frame after its parent's)."""
    children = [frame for frame in frames[1:3] if frame.startswith("process ")]
    if not children:
        return "stack process (moto, gateways, workers)"
    if "imagetagger_endpoint" in children[0]:
        return "model endpoint process"
    return "function environments"


def summarise(collapsed: Path, images: int, rate_hz: int = 50) -> dict[str, Any]:
    """{"cpu_s_total", "images", "processes": {process: share}, "parts": {part: {"share", "cpu_ms_per_image"}}},
    largest first."""
    samples: Counter[str] = Counter()
    processes: Counter[str] = Counter()
    for line in collapsed.read_text(errors="replace").splitlines():
        matched = _COUNT.match(line.strip())
        if matched:
            frames = matched.group(1).split(";")
            samples[part_of(frames)] += int(matched.group(2))
            processes[process_of(frames)] += int(matched.group(2))
    total = sum(samples.values()) or 1
    return {
        "cpu_s_total": round(total / rate_hz, 1),
        "images": images,
        "processes": {name: round(count / total, 3) for name, count in processes.most_common()},
        "parts": {
            part: {
                "share": round(count / total, 3),
                "cpu_ms_per_image": round(count / rate_hz / max(images, 1) * 1000, 1),
            }
            for part, count in samples.most_common()
        },
    }
