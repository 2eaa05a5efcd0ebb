"""CPU time per process of the local stack, from the kernel's accounting in /proc (the system benchmark's
`import_cpu_ms_per_image` and its timeline): unlike a sampling profile it does not count threads waiting for a core."""

from __future__ import annotations

import os
from pathlib import Path


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _process_kind(pid: int, root: int) -> str:
    if pid == root:
        return "stack"
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    if "imagetagger_endpoint" in command:
        return "endpoint"
    return "moto" if "imagetagger_local.moto_server" in command else "environments"


def cpu_by_process(root: int) -> dict[int, tuple[str, float]]:
    """{pid: (kind, CPU seconds so far)} for `root` (the stack's process) and its descendants, from /proc; empty
    where there is no /proc. A process that ended in between is missed (environments live as long as the stack)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else []:
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, tuple[str, float]] = {}
    todo = [root] if children else []
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            found[pid] = (_process_kind(pid, root), _cpu_seconds(pid))
        except OSError:
            continue
    return found


def cpu_ms_per_image(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], client_s: float, images: int
) -> dict[str, float]:
    """CPU milliseconds per image by kind of process between two cpu_by_process readings, the client's included."""
    spent: dict[str, float] = {"client": client_s}
    for pid, (kind, seconds) in after.items():
        spent[kind] = spent.get(kind, 0.0) + seconds - before.get(pid, (kind, 0.0))[1]
    per_image = {kind: round(seconds / max(images, 1) * 1000, 1) for kind, seconds in spent.items()}
    return dict(sorted(per_image.items(), key=lambda item: -item[1])) | {"total": round(sum(per_image.values()), 1)}
