"""Where the cores go over time during an import: the CPU time of each kind of process (the stack's, moto's, the
endpoint's, the function environments', the importing client's) and of the whole machine, sampled from /proc.

    python -m imagetagger_bench.system --timeline    # "import_timeline" in the JSON

A whole-import figure (import_cpu_ms_per_image) says how much each part costs; the timeline says when the machine was
not busy and who was waiting for whom: this is how the system benchmark found the stack's process at one core (its
GIL) while the endpoint waited during the uploads, and the last images waiting out a poll interval (docs/benchmark.md,
"System overhead", fourth pass).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from imagetagger_bench.system_cpu import cpu_by_process

SAMPLE_EVERY_S = 0.05


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting for I/O) since boot."""
    values = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuTimeline:
    """Samples while inside `with`; `cores(bucket_s)` gives the cores each kind used per bucket from the start. The
    client's figure is this process's, the sampler's own CPU included (about 3 % of a core: a sample reads /proc for
    every process, 1.3 ms here with about 120 of them, every SAMPLE_EVERY_S)."""

    def __init__(self, root_pid: int) -> None:
        self._root = root_pid
        self._samples: list[tuple[float, dict[str, float], float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-timeline", daemon=True)

    def __enter__(self) -> CpuTimeline:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            by_kind: dict[str, float] = {"client": time.process_time()}
            for kind, seconds in cpu_by_process(self._root).values():
                by_kind[kind] = by_kind.get(kind, 0.0) + seconds
            self._samples.append((time.perf_counter(), by_kind, _machine_busy_s()))
            self._stop.wait(SAMPLE_EVERY_S)

    def cores(self, bucket_s: float = 0.5) -> dict[str, Any]:
        """{"bucket_s", "cores": {kind: [cores used in each bucket]}}; "machine" is every process on it."""
        if len(self._samples) < 2:
            return {"bucket_s": bucket_s, "cores": {}}
        start = self._samples[0][0]
        kinds = sorted({kind for _, by_kind, _ in self._samples for kind in by_kind}) + ["machine"]
        buckets = int((self._samples[-1][0] - start) // bucket_s) + 1
        used = {kind: [0.0] * buckets for kind in kinds}
        for (_, before, busy_before), (at, after, busy_after) in zip(self._samples, self._samples[1:], strict=False):
            index = int((at - start) // bucket_s)
            for kind in kinds[:-1]:
                used[kind][index] += after.get(kind, 0.0) - before.get(kind, after.get(kind, 0.0))
            used["machine"][index] += busy_after - busy_before
        return {
            "bucket_s": bucket_s,
            "cores": {kind: [round(seconds / bucket_s, 2) for seconds in values] for kind, values in used.items()},
        }
