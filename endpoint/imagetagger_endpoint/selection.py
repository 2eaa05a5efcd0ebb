"""Which backend serves a model on this machine, and where its optimised variants are cached.

The choice is measured (speed and accuracy, by `optimize.py` / the benchmark) and recorded together with a fingerprint
of the CPU and engine versions, because the fastest variant differs between machines (AMX, VNNI, core count).

Accuracy depends on the CPU too: int8 arithmetic is not the same on every x86 machine (without VNNI, u8 x s8 dot
products go through 16-bit intermediates that saturate), so a record's accuracy evidence carries the CPU class it
was measured on (`cpu_class()`), and the endpoint only ever serves a backend measured accurate on its own class.
Anything else (no record, a record from another class, an inaccurate or unmeasured backend) serves fp32.
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
BACKEND_ENV = "IMAGETAGGER_BACKEND"  # "auto" (default) or a backend name
CACHE_ENV = "IMAGETAGGER_CACHE_DIR"
# The recipe of the cached variants (imagetagger_bench.optimize.quantize_int8): part of the cache key, so a machine
# that quantised with an older recipe makes the variant again and measures it anew instead of serving (or refusing)
# the old one. Change it whenever that recipe or the accuracy check changes. r2: the fused model's classifier branch
# stays float; r3: the check on clean images (imagetagger_bench.optimize.CHECK_ANNOTATIONS).
VARIANT_RECIPE = "r3"
# oneDNN (inside OpenVINO and PyTorch) can be told to use at most an older instruction set: docs/benchmark.md uses
# it to run the AVX2 kernels on an AMX machine. ONNX Runtime has no such switch (MLAS picks its kernels by CPUID).
ONEDNN_ISA_ENV = "ONEDNN_MAX_CPU_ISA"
# The CPU classes whose int8 (and bf16) arithmetic differs, newest first: the flag that defines each, as the kernel
# (/proc/cpuinfo) names it. AMX: tile int8/bf16 units; VNNI: int8 dot products into 32 bits (AVX-512 or AVX
# encoding); plain AVX2: int8 dot products through saturating 16-bit pairs (vpmaddubsw).
# Mean cosine of a backend's embeddings with fp32's on the accuracy check's images, from which its embeddings count
# as the same.
MIN_EMBEDDING_COSINE = 0.98
CPU_CLASSES = (("amx", "amx_int8"), ("avx512-vnni", "avx512_vnni"), ("avx2-vnni", "avx_vnni"), ("avx2", "avx2"))


def default_cache_root() -> Path:
    """The checkout's .local/endpoint-cache (whatever the working directory), else the working directory's."""
    checkout = Path(__file__).resolve().parents[2]
    base = checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()
    return base / ".local" / "endpoint-cache"


def cpu_flags() -> set[str]:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def cpu_model_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def hardware_cpu_class(flags: set[str]) -> str:
    """amx, avx512-vnni, avx2-vnni, avx2 or other: the first class of CPU_CLASSES whose flag the CPU has."""
    return next((name for name, flag in CPU_CLASSES if flag in flags and "avx2" in flags), "other")


@cache
def cpu_class() -> str:
    """This machine's CPU class, the key of all accuracy evidence. With ONEDNN_MAX_CPU_ISA set, oneDNN's kernels
    are those of an older class while ONNX Runtime's are not, so the limit is part of the class: evidence measured
    under a limit never stands for a machine without it, nor the other way round."""
    name = hardware_cpu_class(cpu_flags())
    limit = os.environ.get(ONEDNN_ISA_ENV, "").strip().lower()
    return f"{name}+onednn-{limit}" if limit and limit != "all" else name


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
    versions = f"{_version('onnxruntime')}|{_version('openvino')}"
    material = f"{platform.machine()}|{cpu}|{cpu_class()}|{usable_cpus()}|{versions}"
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
    """Per-model cache folder (keyed by the model's content and the variants' recipe, so a new model or a new recipe
    never sees an old variant or the choice measured on it)."""
    root = cache_root or Path(os.environ.get(CACHE_ENV) or default_cache_root())
    return root / f"{model_digest(model_dir)}-{VARIANT_RECIPE}"


def read_record(folder: Path) -> dict[str, Any] | None:
    """The recorded choice and its evidence, from whichever machine it was measured on."""
    path = folder / CHOICE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def accurate_backends(record: dict[str, Any], on_class: str | None = None) -> set[str]:
    """Backends whose mAP (the accuracy check's) in the record is within its accuracy budget of fp32's, when the
    record was measured on the CPU class `on_class` (this machine's by default). A record from another class, or one
    that does not say its class, shows nothing accurate: int8 that is accurate on AMX can lose accuracy on plain AVX2.
    Where fp32's entry has an embedding agreement (a model with an embedding output), every other backend needs one
    of at least MIN_EMBEDDING_COSINE too."""
    if record.get("cpu_class") != (on_class or cpu_class()):
        return set()
    map_fp32 = record.get("map_fp32")
    budget = record.get("max_map_loss", 0.5)
    if map_fp32 is None:
        return set()
    entries = record.get("measured", {})
    reference = entries.get(DEFAULT_BACKEND, {})
    embeds = isinstance(reference, dict) and "embedding_cosine" in reference
    return {
        name
        for name, measured in entries.items()
        if isinstance(measured, dict)
        and "map" in measured
        and map_fp32 - measured["map"] <= budget
        and (not embeds or measured.get("embedding_cosine", 0.0) >= MIN_EMBEDDING_COSINE)
    }


def fastest_accurate(record: dict[str, Any], model_dir: Path, cache_dir: Path | None) -> str | None:
    """On a machine that measured nothing (a SageMaker host, for one) but whose CPU class a record was measured on:
    the backend that was fastest there (batch-1 latency) among those accurate on that class and runnable here."""
    accurate = [name for name in accurate_backends(record) if name in BACKENDS]
    runnable = [name for name in accurate if backend_available(model_dir, name, cache_dir)]
    measured = record.get("measured", {})
    return min(runnable, key=lambda name: (measured[name].get("ms_bs1", float("inf")), name), default=None)


def write_choice(folder: Path, backend: str, evidence: dict[str, Any]) -> Path:
    """Record this machine's choice with its evidence; only fp32 or a backend the evidence shows accurate here."""
    if backend not in accurate_backends({"cpu_class": cpu_class(), **evidence}) | {DEFAULT_BACKEND}:
        raise ValueError(f"{backend} is not within the accuracy budget on {cpu_class()}: it cannot be the choice")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHOICE_FILE
    record = {"backend": backend, "machine": machine_fingerprint(), **evidence, "cpu_class": cpu_class()}
    path.write_text(json.dumps(record, indent=1))
    return path


def choose_backend(model_dir: Path, cache_dir: Path | None) -> str:
    """The environment's explicit choice (the operator's, served as asked); else the one measured on this machine,
    else the fastest of a record from this CPU class, in both cases only if the record shows it accurate on this
    class; else fp32 (always correct)."""
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
        if measured_here and backend in accurate_backends(record) and backend_available(model_dir, backend, cache_dir):
            return str(backend)
    for folder, record in records:
        fastest = fastest_accurate(record, model_dir, cache_dir)
        if fastest:
            logger.info("no choice measured on this machine: %s (accurate on %s in %s)", fastest, cpu_class(), folder)
            return fastest
    logger.info("no backend measured accurate on %s: %s", cpu_class(), DEFAULT_BACKEND)
    return DEFAULT_BACKEND
