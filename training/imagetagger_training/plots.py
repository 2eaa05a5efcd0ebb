"""Figures and JSON reports written next to models and evaluations (matplotlib, headless)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imagetagger_training.metrics import rounded

if TYPE_CHECKING:
    from imagetagger_training.evaluate import Evaluation


def _pyplot():  # noqa: ANN202 - matplotlib is slow to import; only the report commands need it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_evaluation_report(evaluation: Evaluation, out_dir: Path, curves: int = 12) -> None:
    """metrics.json (figures, per-class AP, unreadable files) and pr_curves.png for the most frequent classes."""
    from sklearn.metrics import precision_recall_curve

    out_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "model_version": evaluation.model_version,
        **rounded(evaluation.metrics),
        "per_class_AP": {k: round(v, 2) for k, v in sorted(evaluation.per_class_ap.items(), key=lambda kv: -kv[1])},
        "unreadable": evaluation.unreadable,
    }
    (out_dir / "metrics.json").write_text(json.dumps(document, indent=1) + "\n")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    frequent = np.argsort(-evaluation.targets.sum(0))[:curves]
    for c in frequent:
        if evaluation.targets[:, c].sum() == 0:
            continue
        precision, recall, _ = precision_recall_curve(evaluation.targets[:, c], evaluation.probabilities[:, c])
        name = evaluation.names[c]
        ax.plot(recall, precision, label=f"{name} (AP {evaluation.per_class_ap[name]:.0f})")
    ax.set(xlabel="recall", ylabel="precision", title=f"PR curves, {len(evaluation.targets)} images", ylim=(0, 1.02))
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out_dir / "pr_curves.png", dpi=110)
    plt.close(fig)


def write_training_curves(history: list[dict[str, float]], path: Path) -> None:
    """Loss and validation mAP per epoch."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (loss_ax, map_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, [h["train_loss"] for h in history], marker="o")
    loss_ax.set(xlabel="epoch", ylabel="training loss")
    map_ax.plot(epochs, [h["val_mAP"] for h in history], marker="o", color="tab:green")
    map_ax.set(xlabel="epoch", ylabel="validation mAP (%)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
