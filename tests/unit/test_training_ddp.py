"""The DDP path: `torchrun --nproc_per_node 2 training/train.py` on the gloo backend (CPU), one tiny epoch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from test_training_tiny_run import tiny_coco  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[2]


def test_two_process_ddp_run_trains_and_writes_one_checkpoint(tmp_path):
    annotations = tiny_coco(tmp_path / "data", 8)
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29617",
        str(ROOT / "training" / "train.py"),
        "--annotations", str(annotations), "--images", str(tmp_path / "data"),
        "--val-annotations", str(annotations), "--val-images", str(tmp_path / "data"),
        "--output-dir", str(out), "--epochs", "1", "--batch-size", "2", "--unfreeze-every", "0",
        "--no-weighted-sampling", "--no-export",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert checkpoint["epoch"] == 0 and "val_split" in checkpoint["metrics"]
    assert json.loads((out / "args.json").read_text())["epochs"] == 1
