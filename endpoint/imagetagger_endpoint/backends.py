"""ONNX Runtime inference backends: one session per model variant, tuned for the CPU it runs on.

A backend is a model variant (fp32 as exported, int8 quantised) run by ONNX Runtime's CPU provider with all graph
optimisations. Serving never imports torch: the variants are plain ONNX files, made once by `optimize.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"


@dataclass(frozen=True)
class BackendSpec:
    name: str
    filename: str  # the variant's file, next to model.onnx or in the optimisation cache
    description: str


BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec("ort-fp32", "model.onnx", "ONNX Runtime, fp32 as exported, all graph optimisations"),
        BackendSpec(
            "ort-int8",
            "model.int8.onnx",
            "ONNX Runtime, int8 static quantisation (per-channel weights, calibrated on the train sample); "
            "VNNI/AMX int8 kernels",
        ),
    )
}
DEFAULT_BACKEND = "ort-fp32"


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OrtBackend:
    """One ONNX Runtime session. `run` is thread-safe (ORT allows concurrent Run calls on one session)."""

    def __init__(self, name: str, model_path: Path, threads: int | None = None, spin: bool = True) -> None:
        import onnxruntime as ort  # imported here so that `--help` and the tests of pure logic stay fast

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One request at a time uses every core through intra-op parallelism; inter-op threads would only contend.
        options.intra_op_num_threads = threads or usable_cpus()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spinning threads answer a little faster between operators but burn CPU when idle; allow turning it off
        # on a shared machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.name = name
        self.model_path = Path(model_path)
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def run(self, batch: np.ndarray) -> np.ndarray:
        """uint8 [N, H, W, 3] in, float32 probabilities [N, classes] out."""
        (probabilities,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.uint8)})
        return np.asarray(probabilities, dtype=np.float32)


def variant_path(model_dir: Path, backend: str, cache_dir: Path | None) -> Path | None:
    """Where the backend's model file is: in the artifact first (packed ones), then in the cache; None if absent."""
    spec = BACKENDS[backend]
    for folder in (model_dir, cache_dir):
        if folder is not None and (folder / spec.filename).is_file():
            return folder / spec.filename
    return None


def load_backend(
    model_dir: Path, backend: str, cache_dir: Path | None = None, threads: int | None = None
) -> OrtBackend:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    path = variant_path(model_dir, backend, cache_dir)
    if path is None:
        raise FileNotFoundError(
            f"backend {backend} needs {BACKENDS[backend].filename} in {model_dir} or {cache_dir}; "
            "make it with `imagetagger bench` or `python -m imagetagger_endpoint.optimize`"
        )
    return OrtBackend(backend, path, threads=threads)
