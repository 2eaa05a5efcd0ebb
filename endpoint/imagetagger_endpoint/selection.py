"""Which backend serves a model on this machine, and where its optimised variants are cached.

The choice is measured (speed and accuracy, by `optimize.py` / the benchmark) and recorded together with a fingerprint
of the CPU and ONNX Runtime version, because the fastest variant differs between machines (AMX, VNNI, core count).
A recorded choice from another machine is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from imagetagger_endpoint.backends import BACKENDS, DEFAULT_BACKEND, backend_available, usable_cpus

logger = logging.getLogger(__name__)

CHOICE_FILE = "backend.json"
# Fastest first on x86 servers in general: OpenVINO int8 runs on VNNI or AMX where present and on AVX2 otherwise;
# ONNX Runtime's int8 needs VNNI to beat its fp32. Used only where no choice was measured on the machine itself.
PORTABLE_PREFERENCE = ("ov-int8", "ort-int8", "ov-bf16", DEFAULT_BACKEND)
BACKEND_ENV = "IMAGETAGGER_BACKEND"  # "auto" (default) or a backend name
CACHE_ENV = "IMAGETAGGER_CACHE_DIR"


def default_cache_root() -> Path:
    """The checkout's .local/endpoint-cache (whatever the working directory), else the working directory's."""
    checkout = Path(__file__).resolve().parents[2]
    base = checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()
    return base / ".local" / "endpoint-cache"


@cache
def machine_fingerprint() -> str:
    """CPU model, its instruction-set flags, usable cores and the engines' versions, hashed.

    Versions come from the installed packages' metadata: importing an engine only to read its version would cost
    the endpoint's cold start a quarter of a second."""
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        cpu = "\n".join(sorted({line for line in lines if line.startswith(("model name", "flags"))}))
    material = f"{platform.machine()}|{cpu}|{usable_cpus()}|{_version('onnxruntime')}|{_version('openvino')}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def model_digest(model_dir: Path) -> str:
    digest = hashlib.sha256()
    with (model_dir / "model.onnx").open("rb") as model_file:
        for block in iter(lambda: model_file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def cache_dir_for(model_dir: Path, cache_root: Path | None = None) -> Path:
    """Per-model cache folder (keyed by the model's content, so a new model never sees an old variant)."""
    root = cache_root or Path(os.environ.get(CACHE_ENV) or default_cache_root())
    return root / model_digest(model_dir)


def read_record(folder: Path) -> dict[str, Any] | None:
    """The recorded choice and its evidence, from whichever machine it was measured on."""
    path = folder / CHOICE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def accurate_backends(record: dict[str, Any]) -> set[str]:
    """Backends whose val mAP in the record is within its accuracy budget of fp32's. Accuracy, unlike speed, does not
    depend on the machine (the same graph and arithmetic), so it carries over to a machine that did not measure."""
    map_fp32 = record.get("map_fp32")
    budget = record.get("max_map_loss", 0.5)
    if map_fp32 is None:
        return set()
    return {
        name
        for name, measured in record.get("measured", {}).items()
        if isinstance(measured, dict) and "map" in measured and map_fp32 - measured["map"] <= budget
    }


def portable_choice(record: dict[str, Any], model_dir: Path, cache_dir: Path | None) -> str | None:
    """On a machine that measured nothing (a SageMaker host, for one): the first of PORTABLE_PREFERENCE that the
    record shows accurate and that can run here."""
    accurate = accurate_backends(record)
    for name in PORTABLE_PREFERENCE:
        if name in accurate and backend_available(model_dir, name, cache_dir):
            return name
    return None


def write_choice(folder: Path, backend: str, evidence: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHOICE_FILE
    path.write_text(json.dumps({"backend": backend, "machine": machine_fingerprint(), **evidence}, indent=1))
    return path


def choose_backend(model_dir: Path, cache_dir: Path | None) -> str:
    """The environment's explicit choice, else the one measured on this machine, else the portable preference among
    the backends the record shows accurate, else fp32 (always correct)."""
    requested = os.environ.get(BACKEND_ENV, "auto")
    if requested != "auto":
        if requested not in BACKENDS:
            raise ValueError(f"{BACKEND_ENV}={requested!r} is not one of auto, {', '.join(BACKENDS)}")
        return requested
    # Each record is read once: this runs in the endpoint's cold start.
    records = [(folder, record) for folder in (cache_dir, model_dir) if folder and (record := read_record(folder))]
    for _, record in records:
        backend = record.get("backend")
        measured_here = record.get("machine") == machine_fingerprint()
        if measured_here and backend in BACKENDS and backend_available(model_dir, backend, cache_dir):
            return str(backend)
    for folder, record in records:
        portable = portable_choice(record, model_dir, cache_dir)
        if portable:
            logger.info("no choice measured on this machine: %s (accurate in %s)", portable, folder / CHOICE_FILE)
            return portable
    return DEFAULT_BACKEND
