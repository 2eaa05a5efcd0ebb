"""Bulk tagging of image files: decoding overlapped with inference.

Worker threads read, decode and prepare images (Pillow releases the GIL while decoding and resizing) a few batches
ahead, while the calling thread runs the model on the batches already prepared, so neither the cores nor the model
wait. Unreadable files are reported with their reason instead of stopping the run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imagetagger.errors import InvalidImageError
from imagetagger.preprocessing import prepare_bytes
from imagetagger.tags import Tag
from imagetagger_endpoint.backends import usable_cpus
from imagetagger_endpoint.handler import TaggingModel, predict_fn


@dataclass(frozen=True)
class FileResult:
    path: Path
    tags: list[Tag] | None  # None when the file could not be read
    error: str | None = None


def _load(path: Path, size: int) -> np.ndarray | str:
    try:
        return prepare_bytes(path.read_bytes(), size)
    except (InvalidImageError, OSError) as exc:
        return str(exc)


def _batches(paths: Sequence[Path], batch_size: int) -> Iterator[Sequence[Path]]:
    for start in range(0, len(paths), batch_size):
        yield paths[start : start + batch_size]


def tag_files(
    paths: Sequence[Path], model: TaggingModel, batch_size: int = 16, workers: int | None = None, prefetch: int = 2
) -> list[FileResult]:
    """Tags for every file, in order; decoding runs `prefetch` batches ahead of inference."""
    size = model.spec.size
    results: list[FileResult] = []
    with ThreadPoolExecutor(max_workers=workers or usable_cpus(), thread_name_prefix="decode") as pool:
        pending: deque[tuple[Sequence[Path], list[Future[np.ndarray | str]]]] = deque()
        batches = _batches(paths, batch_size)
        for chunk in batches:
            pending.append((chunk, [pool.submit(_load, path, size) for path in chunk]))
            if len(pending) > prefetch:
                results.extend(_infer(model, *pending.popleft()))
        while pending:
            results.extend(_infer(model, *pending.popleft()))
    return results


def _infer(model: TaggingModel, chunk: Sequence[Path], futures: list[Future[np.ndarray | str]]) -> list[FileResult]:
    loaded = [future.result() for future in futures]
    arrays = [item for item in loaded if isinstance(item, np.ndarray)]
    # The endpoint's own answer: tags with their boxes where the model has a detector.
    predictions = iter(predict_fn(np.stack(arrays), model)["predictions"] if arrays else [])
    return [
        FileResult(path, next(predictions)["tags"]) if isinstance(item, np.ndarray) else FileResult(path, None, item)
        for path, item in zip(chunk, loaded, strict=True)
    ]
