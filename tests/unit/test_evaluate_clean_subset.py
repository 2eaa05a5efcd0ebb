"""`imagetagger evaluate` reports the clean subset (images no part of the model may have trained on) next to all
images, and runs in the runtime environment: without torch, scikit-learn or pycocotools."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")  # the tiny model is built with it
from imagetagger_endpoint.tiny_model import write_tiny_model  # noqa: E402
from imagetagger_training.evaluate import evaluate_model, seen_mask  # noqa: E402
from imagetagger_training.metrics import compute_metrics  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "data" / "coco-clean"
BLOCK_DEV = "import sys\nfor name in ('torch', 'sklearn', 'pycocotools', 'torchmetrics'): sys.modules[name] = None\n"


@pytest.fixture(scope="module")
def eight_images(tmp_path_factory) -> tuple[Path, Path, list[int]]:
    folder = tmp_path_factory.mktemp("coco")
    coco = json.loads((CLEAN / "annotations" / "instances_clean.json").read_text())
    images = sorted(coco["images"], key=lambda image: image["id"])[:8]
    for image in images:
        shutil.copy(CLEAN / "clean" / image["file_name"], folder / image["file_name"])
    ids = [image["id"] for image in images]
    coco["images"] = images
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
    (folder / "instances.json").write_text(json.dumps(coco))
    return folder / "instances.json", folder, ids


@pytest.fixture(scope="module")
def model_seeing_three(tmp_path_factory, eight_images) -> Path:
    """A model whose 'detector' saw every COCO image but the last five, and whose 'head' saw the first one."""
    _, _, ids = eight_images
    model = write_tiny_model(tmp_path_factory.mktemp("model"), size=64)
    spec = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({**spec, "seen_images": "seen_images.json"}))
    seen = {"detector": {"coco_all_except": ids[3:] + [1, 2]}, "head": {"coco_ids": ids[:1]}}
    (model / "seen_images.json").write_text(json.dumps(seen))
    return model


def test_seen_mask_reads_both_kinds_of_list():
    ids = [5, 6, 7]
    assert seen_mask({"coco_ids": [6]}, ids).tolist() == [False, True, False]
    assert seen_mask({"coco_all_except": [6]}, ids).tolist() == [True, False, True]


def test_clean_figures_are_those_of_the_images_no_part_saw(eight_images, model_seeing_three):
    annotations, folder, _ = eight_images
    evaluation = evaluate_model(model_seeing_three, annotations, folder)
    assert evaluation.seen_by == {"detector": 3, "head": 1}
    thresholds = np.full(80, 0.5)
    expected = compute_metrics(evaluation.probabilities[3:], evaluation.targets[3:], thresholds)
    assert evaluation.clean == expected
    assert evaluation.clean["n_images"] == 5 and evaluation.metrics["n_images"] == 8


def test_a_model_without_a_seen_list_says_the_clean_subset_is_unknown(eight_images, tmp_path):
    annotations, folder, _ = eight_images
    evaluation = evaluate_model(write_tiny_model(tmp_path, size=64), annotations, folder)
    assert evaluation.clean is None and "does not list" in evaluation.clean_note


def test_evaluate_runs_without_the_dev_requirements(eight_images, model_seeing_three):
    annotations, folder, _ = eight_images
    code = BLOCK_DEV + (
        "from imagetagger_cli.main import main\n"
        f"sys.exit(main(['evaluate', '--json', '--model', {str(model_seeing_three)!r}, "
        f"'--annotations', {str(annotations)!r}, '--images', {str(folder)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n_images"] == 8 and report["clean"]["n_images"] == 5
    assert report["seen_by_part"] == {"detector": 3, "head": 1}


def test_a_command_that_needs_torch_says_so_in_one_line(tmp_path):
    code = BLOCK_DEV + (
        "from imagetagger_cli.main import main\n"
        f"sys.exit(main(['export', {str(tmp_path / 'checkpoint.pt')!r}, {str(tmp_path)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs the dev requirements" in lines[0] and "torch" in lines[0]
