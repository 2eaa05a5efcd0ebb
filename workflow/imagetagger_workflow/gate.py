"""The promotion gate: a candidate replaces the serving model only if it is at least as good on the same test split.

Used by the AWS Evaluate step (a Lambda reading the training job's metrics) and by `imagetagger pipeline run`, so both
decide identically.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

GATE_METRIC = "mAP"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    metric: str
    candidate: float
    production: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    candidate: dict[str, Any],
    production: dict[str, Any] | None,
    metric: str = GATE_METRIC,
    min_gain: float = 0.0,
) -> Decision:
    """Promote when candidate[metric] >= production[metric] + min_gain (percentages); with no production model, any
    candidate with a finite metric is promoted. A missing or non-finite candidate figure refuses, with the reason."""
    value = _figure(candidate, metric)
    if value is None:
        return Decision(False, f"the candidate has no finite test {metric}; refusing", metric, math.nan, None)
    current = _figure(production, metric) if production is not None else None
    if current is None:
        return Decision(
            True, f"no serving model to compare with; candidate test {metric} {value:.2f}", metric, value, None
        )
    if value >= current + min_gain:
        return Decision(
            True, f"candidate test {metric} {value:.2f} >= serving {current:.2f} + {min_gain:g}", metric, value, current
        )
    return Decision(
        False,
        f"candidate test {metric} {value:.2f} < serving {current:.2f} + {min_gain:g}; the serving model stays",
        metric,
        value,
        current,
    )


def _figure(metrics: dict[str, Any] | None, metric: str) -> float | None:
    if not metrics or metric not in metrics:
        return None
    try:
        value = float(metrics[metric])
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
