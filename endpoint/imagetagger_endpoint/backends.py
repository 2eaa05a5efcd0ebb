"""Inference backends: a model variant (fp32 as exported, int8 quantised) run by an engine tuned for this CPU.

- ONNX Runtime (CPU provider, all graph optimisations): fp32, and int8 through its VNNI kernels.
- OpenVINO, when installed: the only engine here that uses the CPU's AMX units (bf16 matmuls for the fp32 graph,
  int8 for the quantised QDQ graph); ONNX Runtime's CPU provider has no bf16 kernels on x86.

Serving never imports torch: the variants are plain ONNX files, made once by `optimize.py`. Every backend answers
`run(uint8 [N, H, W, 3]) -> float32 [N, classes]` and `run_outputs(batch) -> {output name: array}` (the boxes of a
detector model too) and may be called from several threads.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"  # QDQ format: both engines read it
# OpenVINO compiles static shapes: batches 1, 2, 4, 8. Not 16: OpenVINO 2026.4's CPU plugin computes the default
# model's head wrongly at batch 16 (probabilities off by up to 0.76; batches 1-8 match ONNX Runtime within 0.004).
MAX_STATIC_BATCH = 8


@dataclass(frozen=True)
class BackendSpec:
    name: str
    engine: str  # "onnxruntime" | "openvino"
    filename: str  # the variant's file, next to model.onnx or in the optimisation cache
    precision: str  # what the heavy layers compute in: f32, bf16 or i8
    description: str


BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec("ort-fp32", "onnxruntime", FP32_FILE, "f32", "ONNX Runtime, fp32, all graph optimisations"),
        BackendSpec(
            "ort-int8", "onnxruntime", INT8_FILE, "i8", "ONNX Runtime, static int8 (per-channel weights), VNNI kernels"
        ),
        BackendSpec("ov-bf16", "openvino", FP32_FILE, "bf16", "OpenVINO, fp32 graph computed in bf16 on AMX"),
        BackendSpec("ov-int8", "openvino", INT8_FILE, "i8", "OpenVINO, the int8 QDQ graph on AMX int8"),
    )
}
DEFAULT_BACKEND = "ort-fp32"


# A detector model's extra outputs (models/default, graph.py in training/imagetagger_training/fused): after per-class
# NonMaxSuppression, one row per kept box. Indices in DETECTIONS are (image in the batch, class, anchor).
DETECTIONS = "detections"
BOX_OUTPUTS = (DETECTIONS, "detection_boxes", "detection_scores")
# The default model's L2-normalised image embedding [N, D] (issue 15; training/imagetagger_training/fused/embedding.py).
EMBEDDING_OUTPUT = "embedding"
# Outputs with one row per image of the batch: cut to the real images of a padded chunk.
PER_IMAGE_OUTPUTS = (OUTPUT_NAME, EMBEDDING_OUTPUT)

Outputs = dict[str, np.ndarray]


class Backend(Protocol):
    name: str

    def run(self, batch: np.ndarray) -> np.ndarray: ...

    def run_outputs(self, batch: np.ndarray) -> Outputs: ...


def merge_chunks(chunks: list[tuple[int, int, Outputs]]) -> Outputs:
    """One answer from (offset, real images, outputs) per chunk: per-image outputs cut to the real images, box rows of
    padding images dropped and the rest renumbered to the whole batch."""
    merged: dict[str, list[np.ndarray]] = {}
    for offset, count, outputs in chunks:
        for name in PER_IMAGE_OUTPUTS:
            if name in outputs:
                merged.setdefault(name, []).append(outputs[name][:count])
        if DETECTIONS in outputs:
            keep = outputs[DETECTIONS][:, 0] < count
            for name in BOX_OUTPUTS:
                rows = outputs[name][keep]
                if name == DETECTIONS:
                    rows = rows + np.array([offset, 0, 0], dtype=rows.dtype)
                merged.setdefault(name, []).append(rows)
    return {name: np.concatenate(parts) for name, parts in merged.items()}


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def engine_available(engine: str) -> bool:
    return importlib.util.find_spec(engine) is not None


class OrtBackend:
    """One ONNX Runtime session; ORT allows concurrent Run calls on one session."""

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
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._outputs = [output.name for output in self.session.get_outputs()]

    def run(self, batch: np.ndarray) -> np.ndarray:
        (probabilities,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.uint8)})
        return np.asarray(probabilities, dtype=np.float32)

    def run_outputs(self, batch: np.ndarray) -> Outputs:
        """Every output of the graph by name (probabilities, and the boxes where the model has them)."""
        values = self.session.run(self._outputs, {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.uint8)})
        return dict(zip(self._outputs, (np.asarray(value) for value in values), strict=True))


class OpenVinoBackend:
    """OpenVINO on the CPU. Shapes are made static per batch size (faster kernels than dynamic shapes); each batch
    size is compiled once, on first use, and kept in OpenVINO's on-disk cache so restarts skip compilation.

    One image runs in LATENCY mode: a single stream, every core working on it. A batch is cut into chunks that run at
    the same time, one per stream in THROUGHPUT mode (one stream per core, one thread each): cores then never wait for
    each other inside a layer. Measured here (2 cores, int8): ResNet50 170 img/s at batch 16 against 132 img/s in
    LATENCY mode, the default model 97 against 74 img/s at batch 8."""

    def __init__(
        self, name: str, model_path: Path, precision: str, threads: int | None = None, cache_dir: Path | None = None
    ) -> None:
        import openvino

        self.name = name
        self._core = openvino.Core()
        self._ir_dir = _writable_dir(cache_dir / "openvino") if cache_dir is not None else None
        if self._ir_dir is not None:
            self._core.set_property({"CACHE_DIR": str(self._ir_dir)})
        self._model_path = model_path
        self._streams = threads or usable_cpus()
        common = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": self._streams}
        self._configs = {
            "latency": {**common, "PERFORMANCE_HINT": "LATENCY"},
            "throughput": {**common, "PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": self._streams},
        }
        self._latency_requests: dict[int, object] = {}
        self._queues: dict[int, object] = {}
        self._lock = threading.Lock()  # infer requests are not thread-safe: one batch at a time
        self._latency_request(1)  # compile the batch-1 graph now: the first answer must not pay for it

    def _static_model(self, batch_size: int):  # noqa: ANN202 - openvino types are imported lazily
        model = self._core.read_model(str(self._model_path))
        size = model.input(0).get_partial_shape()[1].get_length()
        model.reshape({INPUT_NAME: [batch_size, size, size, 3]})
        return model

    def _compiled(self, batch_size: int, mode: str):  # noqa: ANN202
        """Compiling from a saved static-shape IR file lets OpenVINO's cache skip reading and hashing the ONNX graph:
        measured here, it halves the cold start's model loading."""
        config = self._configs[mode]
        if self._ir_dir is None:
            return self._core.compile_model(self._static_model(batch_size), "CPU", config)
        import openvino

        ir_path = self._ir_dir / f"{self._model_path.stem}-bs{batch_size}.xml"
        if not ir_path.is_file():
            try:
                with tempfile.TemporaryDirectory(dir=self._ir_dir) as scratch:
                    staged = Path(scratch) / ir_path.name
                    # fp32 weights stay fp32 (save_model would halve them to fp16 by default)
                    openvino.save_model(self._static_model(batch_size), str(staged), compress_to_fp16=False)
                    os.replace(staged.with_suffix(".bin"), ir_path.with_suffix(".bin"))
                    os.replace(staged, ir_path)  # the .xml last: its presence means the pair is complete
            except OSError:  # a read-only cache (e.g. in a container): compile without it
                return self._core.compile_model(self._static_model(batch_size), "CPU", config)
        return self._core.compile_model(str(ir_path), "CPU", config)

    def _latency_request(self, batch_size: int):  # noqa: ANN202
        if batch_size not in self._latency_requests:
            self._latency_requests[batch_size] = self._compiled(batch_size, "latency").create_infer_request()
        return self._latency_requests[batch_size]

    def _queue(self, batch_size: int):  # noqa: ANN202
        if batch_size not in self._queues:
            import openvino

            self._queues[batch_size] = openvino.AsyncInferQueue(self._compiled(batch_size, "throughput"), self._streams)
        return self._queues[batch_size]

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.run_outputs(batch)[OUTPUT_NAME]

    def run_outputs(self, batch: np.ndarray) -> Outputs:
        """A handful of static graphs (1, 2, 4, 8 images) serve every request size: on one stream a request is padded
        up to the next (the padding images' outputs are dropped); over several it is cut into chunks that need no
        padding (stream_chunk_size)."""
        batch = np.ascontiguousarray(batch, dtype=np.uint8)
        with self._lock:
            if len(batch) == 1 or self._streams == 1:
                chunks = self._run_one_stream(batch)
            else:
                chunks = self._run_all_streams(batch)
        return merge_chunks(chunks)

    def _run_one_stream(self, batch: np.ndarray) -> list[tuple[int, int, Outputs]]:
        chunks = []
        for start in range(0, len(batch), MAX_STATIC_BATCH):
            chunk = _padded(batch[start : start + MAX_STATIC_BATCH])
            request = self._latency_request(len(chunk))
            request.infer({0: chunk})  # type: ignore[attr-defined]
            chunks.append((start, min(MAX_STATIC_BATCH, len(batch) - start), _named_outputs(request)))
        return chunks

    def _run_all_streams(self, batch: np.ndarray) -> list[tuple[int, int, Outputs]]:
        chunk_size = stream_chunk_size(len(batch), self._streams)
        queue = self._queue(chunk_size)
        starts = range(0, len(batch), chunk_size)
        outputs: list[Outputs | None] = [None] * len(starts)

        def keep(request, index: int) -> None:  # noqa: ANN001 - an openvino InferRequest
            outputs[index] = _named_outputs(request)

        queue.set_callback(keep)  # type: ignore[attr-defined]
        for index, start in enumerate(starts):
            queue.start_async({0: _padded(batch[start : start + chunk_size], chunk_size)}, index)  # type: ignore[attr-defined]
        queue.wait_all()  # type: ignore[attr-defined]
        if any(out is None for out in outputs):
            raise RuntimeError("OpenVINO returned no output for a chunk of the batch")
        return [
            (start, min(chunk_size, len(batch) - start), out)
            for start, out in zip(starts, outputs, strict=True)
            if out is not None
        ]


def stream_chunk_size(images: int, streams: int) -> int:
    """The static batch size a request of `images` is cut into for `streams` parallel streams: the one that finishes
    soonest, then computes the fewest padding images, then the largest (fewer requests), at most one stream's share.

    A chunk costs about its size whatever the size (a padding image as much as a real one: measured on this
    avx512-vnni class host, ov-bf16, default model, 10 images in chunks of 8, 16 computed, took 283 ms of CPU per image,
    in chunks of 2 171 ms, in chunks of 1 176 ms), and the streams take chunks as they come free, so the request ends
    after ceil(chunks / streams) chunk times. An SQS batch of 10 on 2 streams in chunks of 2 is 3 rounds on one stream
    and 2 on the other, a core idle for a fifth of the request; in chunks of 1 it is 5 rounds each (measured: 45-48
    against 53-57 ms per image, the same CPU; docs/benchmark.md, "System overhead")."""
    per_stream = -(-images // streams)  # ceil: every stream gets work
    sizes = [
        1 << power for power in range(MAX_STATIC_BATCH.bit_length()) if 1 << power <= min(per_stream, MAX_STATIC_BATCH)
    ]

    def cost(size: int) -> tuple[int, int, int]:
        chunks = -(-images // size)
        return (-(-chunks // streams) * size, chunks * size, -size)

    return min(sizes, key=cost)


def _named_outputs(request) -> Outputs:  # noqa: ANN001 - an openvino InferRequest
    """A finished request's outputs by name, copied (the request's buffers are reused by its next run)."""
    return {
        port.get_any_name(): np.array(request.get_tensor(port).data)
        for port in request.model_outputs  # type: ignore[attr-defined]
    }


def _padded(chunk: np.ndarray, size: int | None = None) -> np.ndarray:
    """`chunk` with zero images appended up to `size` (by default the next power of two)."""
    size = size or 1 << (len(chunk) - 1).bit_length()
    if size == len(chunk):
        return chunk
    return np.concatenate([chunk, np.zeros((size - len(chunk), *chunk.shape[1:]), np.uint8)])


def _writable_dir(folder: Path) -> Path | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def variant_path(model_dir: Path, backend: str, cache_dir: Path | None) -> Path | None:
    """Where the backend's model file is: in the artifact first (packed ones), then in the cache; None if absent."""
    spec = BACKENDS[backend]
    for folder in (model_dir, cache_dir):
        if folder is not None and (folder / spec.filename).is_file():
            return folder / spec.filename
    return None


def backend_available(model_dir: Path, backend: str, cache_dir: Path | None) -> bool:
    spec = BACKENDS[backend]
    return engine_available(spec.engine) and variant_path(model_dir, backend, cache_dir) is not None


def load_backend(
    model_dir: Path, backend: str, cache_dir: Path | None = None, threads: int | None = None
) -> OrtBackend | OpenVinoBackend:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    spec = BACKENDS[backend]
    if not engine_available(spec.engine):
        raise ModuleNotFoundError(f"backend {backend} needs the {spec.engine} package")
    path = variant_path(model_dir, backend, cache_dir)
    if path is None:
        raise FileNotFoundError(
            f"backend {backend} needs {spec.filename} in {model_dir} or {cache_dir}; "
            "make it with `python -m imagetagger_bench.optimize --model-dir ...`"
        )
    if spec.engine == "openvino":
        # The layers an int8 graph keeps in float (preamble, head) run in bf16 too: AMX has both.
        hint = "f32" if spec.precision == "f32" else "bf16"
        return OpenVinoBackend(backend, path, hint, threads=threads, cache_dir=cache_dir)
    return OrtBackend(backend, path, threads=threads)
