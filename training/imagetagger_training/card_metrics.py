"""The metrics section of a model card, shared by the classifier's card (export.py) and the fused model's."""

from __future__ import annotations

from typing import Any


def metrics_section(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown lines: one bullet per split, then why per-label accuracy stands next to its all-negative baseline."""
    lines = ["## Metrics (percentages)", ""]
    for split, values in metrics.items():
        shown = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())
        lines.append(f"- **{split}**: {shown}")
    return [
        *lines,
        "",
        "Per-label accuracy is shown next to the all-negative baseline on purpose: with ~3 labels of 80 per image, "
        "predicting nothing already scores ~96%. mAP and the F1 family are the figures that matter.",
        "",
    ]
