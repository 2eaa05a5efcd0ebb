"""A small version of `imagetagger load` against the local stack: every image terminal, also across a restart.

The full run (1000 images) is a documented command (docs/reliability.md); timings are reported, never asserted.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from imagetagger_local.load import LoadRefusedError, LoadRun, percentile

pytestmark = pytest.mark.e2e

PHOTOS = sorted((Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val").glob("*.jpg"))


def load_run(stack, images: int) -> LoadRun:
    user = f"load-{uuid.uuid4().hex[:8]}"
    return LoadRun(stack.api_url, stack.token(user), PHOTOS, images=images, concurrency=4, deadline_s=300)


def test_twenty_concurrent_uploads_all_reach_tagged(local_stack):
    report = load_run(local_stack, 20).run()
    assert report.upload_errors == []
    assert (report.uploaded, report.tagged, report.not_terminal) == (20, 20, 0)
    assert report.every_image_terminal
    assert 0 < report.time_to_tagged_s["p50"] <= report.time_to_tagged_s["p99"]


def test_uploads_survive_a_stack_restart_in_the_middle(local_stack):
    report = load_run(local_stack, 20).run(restart_after=8, restart=local_stack.restart)
    assert report.restarts == 1
    assert report.upload_errors == []
    assert report.every_image_terminal, report
    assert report.tagged == 20


def test_the_load_tool_only_targets_loopback_and_stays_bounded():
    with pytest.raises(LoadRefusedError, match="local stack only"):
        LoadRun("https://api.example.com", "t", PHOTOS, images=10, concurrency=2, deadline_s=1)
    with pytest.raises(LoadRefusedError, match="concurrency"):
        LoadRun("http://127.0.0.1:3000", "t", PHOTOS, images=10, concurrency=500, deadline_s=1)
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0 and percentile([3.0, 1.0, 2.0, 4.0], 99) == 4.0
