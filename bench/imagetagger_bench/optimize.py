"""Make a model's optimised variants and pick, on this machine, the fastest backend that keeps its accuracy.

    python -m imagetagger_bench.optimize --model-dir models/default

1. int8: static quantisation with ONNX Runtime's tools, calibrated on the *train* sample (never on the images
   the accuracy is checked on): per-channel symmetric int8 weights, uint8 activations, QDQ format (which both ONNX
   Runtime and OpenVINO execute as int8). The uint8->float normalisation preamble with the stem convolution, and the
   last convolution with the head (pool, classifier, sigmoid) stay in float: they cost little, and quantising the
   probabilities would create ties that hurt ranking. In the fused default model the classifier branch (its
   EfficientNet-Lite0, `cls/` nodes) stays in float too: it is about a tenth of the FLOPs, and quantising it cost
   half of int8's mAP loss on the train split and most of the embedding's disagreement (the embedding is its pooled
   features).
2. choice: every available backend's batch-1 latency is measured; the fastest one whose mAP on the check's clean
   images (check_set: coco-clean's fit split) is within `--max-map-loss` points of fp32 is recorded (with the
   evidence and the CPU class it was measured on) in the model's cache folder, where model_fn finds it. A backend
   outside the budget is recorded as measured and never served.
   For a model with an embedding output, being accurate also means embeddings that agree with fp32's (mean cosine
   over the check's images at least selection.MIN_EMBEDDING_COSINE): "find similar" and custom labels compare them.

Needs the dev requirements (onnx for quantisation, torch for the mAP through the training package's metrics).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from imagetagger.modelspec import load_model_spec
from imagetagger.preprocessing import prepare_bytes
from imagetagger_endpoint.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    EMBEDDING_OUTPUT,
    FP32_FILE,
    INPUT_NAME,
    INT8_FILE,
    OUTPUT_NAME,
    Backend,
    load_backend,
)
from imagetagger_endpoint.backends import backend_available as available
from imagetagger_endpoint.selection import accurate_backends, cache_dir_for, cpu_class, cpu_model_name, write_choice

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT / "data" / "coco-sample"
CALIBRATION_IMAGES = 64
MAX_MAP_LOSS = 0.5  # mAP points


def load_images(paths: list[Path], size: int) -> np.ndarray:
    return np.stack([prepare_bytes(path.read_bytes(), size) for path in paths])


# graph.build_graph (training/imagetagger_training/fused) prefixes the classifier's nodes with this.
FUSED_CLASSIFIER_PREFIX = "cls/"


def nodes_kept_float(model: Any) -> list[str]:
    """Names of the nodes int8 leaves in float: up to the first Conv and from the last Conv on (both included), in
    the graph's order, and a fused model's whole classifier branch.

    Measured on the former classifier-only model (val split): keeping the stem and the last convolution in float
    moves probabilities less (mean |diff| 0.017 instead of 0.019) and keeps mAP closer to fp32, for ~3% of the
    compute. On the fused model (SSD-MobileNetV2 on 6 views + EfficientNet-Lite0; train split against fp32, ONNX
    Runtime, avx512-vnni, docs/benchmark.md): quantising everything else lost 0.42 train mAP; with the classifier
    branch in float 0.24 (embedding cosine 0.996 -> 0.9998). The detector's class-prediction convolutions, its stem,
    the classifier's last layers alone, or the embedding's projection in float changed nothing (within 0.1).
    In the fused graph as quant_pre_process orders it, the first Conv is the classifier's stem and the last one a
    detector class-prediction head, so the position rule keeps the probabilities' path (sigmoid, maxima over anchors
    and views, the head) in float; the box decoding comes before it and is quantised.
    """
    nodes = model.graph.node
    conv_positions = [i for i, node in enumerate(nodes) if node.op_type == "Conv"]
    if not conv_positions:
        return []
    first, last = conv_positions[0], conv_positions[-1]
    return [
        node.name
        for i, node in enumerate(nodes)
        if node.name and (i <= first or i >= last or node.name.startswith(FUSED_CLASSIFIER_PREFIX))
    ]


def quantize_int8(fp32_path: Path, out_path: Path, calibration: np.ndarray) -> Path:
    # A change to this recipe (or to nodes_kept_float) changes selection.VARIANT_RECIPE, the cache key: machines that
    # quantised before must not keep serving, or refusing, the old variant.
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._images: Iterator[np.ndarray] = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            image = next(self._images, None)
            return None if image is None else {INPUT_NAME: image[np.newaxis]}

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        # Shape inference plus ORT's fusions (Conv+BN, ...) first, as ORT's quantisation guide recommends.
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        model = onnx.load(str(prepared))
        for index, node in enumerate(model.graph.node):
            node.name = node.name or f"{node.op_type}_{index}"
        onnx.save(model, str(prepared))
        quantize_static(
            str(prepared),
            str(out_path),
            Batches(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=nodes_kept_float(model),
        )
    return out_path


def ensure_int8(model_dir: Path, cache_dir: Path, calibration_dir: Path, count: int = CALIBRATION_IMAGES) -> Path:
    """The int8 variant: packed with the artifact, else cached, else made now (and cached)."""
    for folder in (model_dir, cache_dir):
        if (folder / INT8_FILE).is_file():
            return folder / INT8_FILE
    paths = sorted(calibration_dir.glob("*.jpg"))[:count]
    if not paths:
        raise FileNotFoundError(f"no calibration JPEGs in {calibration_dir}")
    started = time.perf_counter()
    calibration = load_images(paths, load_model_spec(model_dir).size)
    path = quantize_int8(model_dir / FP32_FILE, cache_dir / INT8_FILE, calibration)
    logger.info("quantised %s on %d images in %.1f s", model_dir, len(paths), time.perf_counter() - started)
    return path


def latency_ms(backend: Backend, size: int, repeats: int = 30, warmup: int = 5, batch: int = 1) -> float:
    """Median wall time of one batch (real-looking pixels would not change the time of a dense CNN)."""
    images = np.random.default_rng(0).integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
    for _ in range(warmup):
        backend.run(images)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        backend.run(images)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def predict_all(backend: Backend, images: np.ndarray, chunk: int = 16) -> np.ndarray:
    return np.concatenate([backend.run(images[i : i + chunk]) for i in range(0, len(images), chunk)])


def predict_outputs(backend: Backend, images: np.ndarray, chunk: int = 16) -> tuple[np.ndarray, np.ndarray | None]:
    """Probabilities [N, classes] and, for a model with one, embeddings [N, D] of the images."""
    outputs = [backend.run_outputs(images[i : i + chunk]) for i in range(0, len(images), chunk)]
    probabilities = np.concatenate([out[OUTPUT_NAME] for out in outputs])
    if not all(EMBEDDING_OUTPUT in out for out in outputs):
        return probabilities, None
    return probabilities, np.concatenate([out[EMBEDDING_OUTPUT] for out in outputs])


def embedding_agreement(embeddings: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Cosine of each image's embedding with fp32's (both L2-normalised): mean and worst image."""
    cosines = np.sum(embeddings.astype(np.float64) * reference, axis=1)
    return {"embedding_cosine": round(float(cosines.mean()), 4), "embedding_cosine_min": round(float(cosines.min()), 4)}


def labelled_set(model_dir: Path, annotations: Path, images: Path) -> tuple[np.ndarray, np.ndarray]:
    """Prepared images and 0/1 targets in the model's label order."""
    from imagetagger_training.data import label_source

    labelled = label_source(annotations, images).load()
    if labelled.names != load_model_spec(model_dir).names:
        raise ValueError(f"the classes of {annotations} do not match the model's labels")
    return load_images(labelled.paths, load_model_spec(model_dir).size), labelled.targets


def val_set(model_dir: Path, sample_dir: Path = SAMPLE_DIR) -> tuple[np.ndarray, np.ndarray]:
    """The COCO sample's val split (79 photos; the TF-zoo detector trained on 58 of them)."""
    return labelled_set(model_dir, sample_dir / "annotations" / "instances_val.json", sample_dir / "val")


# The accuracy check of a variant (int8, bf16) against fp32: coco-clean's fit split, 114 COCO photos that no
# pretrained part of the default model trained on (its test split only reports). Not the sample's val split: there
# the detector had seen 58 of 79 photos and is confident enough that quantisation hardly moves its scores. Measured
# on the fused model with the r2 int8 recipe (avx512-vnni, `imagetagger evaluate --backend`): ov-int8 scored 0.37 mAP
# above fp32 on that val split but 1.26 below on this fit split and 0.70 below on the clean test split.
CHECK_ANNOTATIONS = REPO_ROOT / "data" / "coco-clean" / "annotations" / "instances_fit.json"
CHECK_IMAGES = REPO_ROOT / "data" / "coco-clean" / "clean"


def check_set(model_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The images and targets of the accuracy check (CHECK_ANNOTATIONS)."""
    return labelled_set(model_dir, CHECK_ANNOTATIONS, CHECK_IMAGES)


def mean_average_precision(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """mAP in points over the classes present, exactly as the training package's evaluation reports it."""
    from imagetagger_training.metrics import per_class_average_precision

    return 100 * float(np.nanmean(per_class_average_precision(probabilities, targets)))


def accuracy_evidence(
    measured: dict[str, dict[str, Any]], map_fp32: float, max_map_loss: float = MAX_MAP_LOSS
) -> dict[str, Any]:
    """A record's evidence: what was measured (each backend's "map", and its speed), against which fp32 mAP and
    budget, on which CPU class. The class is part of it: the same int8 graph can be accurate on AMX and not on plain
    AVX2, so selection.accurate_backends only counts evidence from the class it runs on."""
    return {
        "cpu_class": cpu_class(),
        "cpu_model": cpu_model_name(),
        "map_fp32": map_fp32,
        "max_map_loss": max_map_loss,
        "measured": measured,
    }


def choose_fastest_accurate(
    model_dir: Path,
    cache_dir: Path,
    max_map_loss: float = MAX_MAP_LOSS,
    repeats: int = 30,
    names: Iterable[str] = tuple(BACKENDS),
) -> dict[str, Any]:
    """Measure every available backend of `names` (latency at batch 1, mAP on the accuracy check's clean images;
    fp32 always) and record the fastest accurate one."""
    size = load_model_spec(model_dir).size
    images, targets = check_set(model_dir)
    measured: dict[str, dict[str, float]] = {}
    reference: np.ndarray | None = None  # fp32's embeddings (measured first)
    for name in dict.fromkeys((DEFAULT_BACKEND, *names)):
        if not available(model_dir, name, cache_dir):
            continue
        backend = load_backend(model_dir, name, cache_dir)
        probabilities, embeddings = predict_outputs(backend, images)
        measured[name] = {
            "ms_bs1": round(latency_ms(backend, size, repeats), 2),
            "map": round(mean_average_precision(probabilities, targets), 2),
        }
        if embeddings is not None:
            reference = embeddings if reference is None else reference
            measured[name].update(embedding_agreement(embeddings, reference))
        logger.info("%s: %s", name, measured[name])
    evidence = accuracy_evidence(measured, measured[DEFAULT_BACKEND]["map"], max_map_loss)
    best = min(accurate_backends(evidence), key=lambda name: (measured[name]["ms_bs1"], name))
    write_choice(cache_dir, best, evidence)
    return {"backend": best, **evidence}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Quantise a model and choose this machine's fastest accurate backend.")
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "models" / "default")
    parser.add_argument("--calibration-dir", type=Path, default=SAMPLE_DIR / "train")
    parser.add_argument("--max-map-loss", type=float, default=MAX_MAP_LOSS)
    parser.add_argument("--no-choice", action="store_true", help="only make the variants")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    cache_dir = cache_dir_for(args.model_dir)
    ensure_int8(args.model_dir, cache_dir, args.calibration_dir)
    if not args.no_choice:
        print(json.dumps(choose_fastest_accurate(args.model_dir, cache_dir, args.max_map_loss), indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
