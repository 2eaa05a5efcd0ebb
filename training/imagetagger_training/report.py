"""Dataset report: class frequencies, label cardinality and the 80x80 co-occurrence matrix, as JSON and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from imagetagger_training.data import LabelledImages
from imagetagger_training.plots import _pyplot


def dataset_statistics(images: LabelledImages) -> dict[str, Any]:
    targets = images.targets.astype(np.int64)
    cardinality = targets.sum(1)
    co_occurrence = targets.T @ targets  # [C, C]; the diagonal is each class's image count
    return {
        "n_images": len(images),
        "n_classes_present": int((targets.sum(0) > 0).sum()),
        "class_frequency": {name: int(n) for name, n in zip(images.names, targets.sum(0), strict=True)},
        "label_cardinality": {
            "mean": float(cardinality.mean()) if len(images) else 0.0,
            "histogram": {int(k): int(v) for k, v in zip(*np.unique(cardinality, return_counts=True), strict=True)},
        },
        "all_negative_per_label_accuracy": 100 * float((targets == 0).mean()) if len(images) else 0.0,
        "classes": images.names,
        "co_occurrence": co_occurrence.tolist(),
    }


def write_dataset_report(images: LabelledImages, out_dir: Path) -> dict[str, Any]:
    """report.json, class_frequency.png, label_cardinality.png, co_occurrence.png in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = dataset_statistics(images)
    (out_dir / "report.json").write_text(json.dumps(stats) + "\n")
    plt = _pyplot()

    order = sorted(stats["class_frequency"].items(), key=lambda kv: -kv[1])
    fig, ax = plt.subplots(figsize=(16, 5))
    ax.bar([k for k, _ in order], [v for _, v in order])
    ax.set(ylabel="images", title=f"class frequency ({stats['n_images']} images)")
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "class_frequency.png", dpi=100)
    plt.close(fig)

    histogram = stats["label_cardinality"]["histogram"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(list(histogram), list(histogram.values()))
    ax.set(xlabel="labels per image", ylabel="images", title=f"mean {stats['label_cardinality']['mean']:.2f}")
    fig.tight_layout()
    fig.savefig(out_dir / "label_cardinality.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(13, 12))
    matrix = np.asarray(stats["co_occurrence"], dtype=float)
    shown = ax.imshow(np.log1p(matrix), cmap="viridis")
    ax.set_xticks(range(len(images.names)), images.names, rotation=90, fontsize=6)
    ax.set_yticks(range(len(images.names)), images.names, fontsize=6)
    ax.set_title("co-occurrence (images with both classes; colour: log(1 + count))")
    fig.colorbar(shown, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(out_dir / "co_occurrence.png", dpi=100)
    plt.close(fig)
    return stats
