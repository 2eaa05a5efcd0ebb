"""A tiny end-to-end run per backbone: 1 epoch on a few real images, checkpoint reload, export, evaluation."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from imagetagger_cli.main import build_parser  # noqa: E402
from imagetagger_training.evaluate import evaluate_model  # noqa: E402
from imagetagger_training.model import tagger_from_checkpoint  # noqa: E402

pytestmark = pytest.mark.torch

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "coco-sample"


def tiny_coco(folder: Path, n: int) -> Path:
    """The first n val images of the sample with their annotations, copied to `folder`."""
    coco = json.loads((SAMPLE / "annotations" / "instances_val.json").read_text())
    coco["images"] = coco["images"][:n]
    ids = {i["id"] for i in coco["images"]}
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
    folder.mkdir(parents=True)
    for image in coco["images"]:
        shutil.copy(SAMPLE / "val" / image["file_name"], folder / image["file_name"])
    (folder / "instances.json").write_text(json.dumps(coco))
    return folder / "instances.json"


def train_args(tmp_path: Path, *extra: str):
    annotations = tiny_coco(tmp_path / "data", 6)
    argv = ["train", "--annotations", str(annotations), "--images", str(tmp_path / "data"),
            "--val-annotations", str(annotations), "--val-images", str(tmp_path / "data"),
            "--output-dir", str(tmp_path / "out"), "--epochs", "1", "--batch-size", "4", *extra]  # fmt: skip
    return build_parser().parse_args(argv)


@pytest.mark.parametrize("backbone", ["efficientnet_lite0", "resnet50"])
def test_one_epoch_trains_checkpoints_reloads_and_evaluates(tmp_path, backbone):
    from imagetagger_training.train import main

    args = train_args(tmp_path, "--backbone", backbone, "--unfreeze-every", "-1" if backbone == "resnet50" else "1")
    spec = main(args)
    out = tmp_path / "out"
    checkpoint = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert {"model", "optimizer", "scheduler", "epoch", "args", "class_names", "metrics"} <= checkpoint.keys()
    assert checkpoint["epoch"] == 0 and len(checkpoint["class_names"]) == 80
    assert json.loads((out / "args.json").read_text())["backbone"] == backbone
    assert (out / "report" / "training_curves.png").stat().st_size > 0

    # the checkpoint alone rebuilds the model, and it agrees with the exported ONNX graph
    model = tagger_from_checkpoint(checkpoint)
    image = torch.rand(1, 3, 224, 224)
    with torch.inference_mode():
        torch_probs = torch.sigmoid(model(image) / checkpoint["temperature"]).numpy()
    import onnxruntime as ort

    session = ort.InferenceSession(str(out / "model.onnx"))
    uint8 = (image * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    onnx_probs = session.run(["probabilities"], {"image": uint8})[0]
    assert np.abs(onnx_probs - torch_probs).max() < 2e-2
    assert spec["backbone"] == backbone and len(spec["labels"]) == 80

    evaluation = evaluate_model(out, tmp_path / "data" / "instances.json", tmp_path / "data")
    assert evaluation.metrics["n_images"] == 6
    assert 0 <= evaluation.metrics["mAP"] <= 100


def test_resume_continues_from_the_saved_epoch(tmp_path):
    from imagetagger_training.train import main

    main(train_args(tmp_path, "--unfreeze-every", "0", "--no-export"))
    first = torch.load(tmp_path / "out" / "checkpoint.pt", map_location="cpu", weights_only=False)
    args = train_args(tmp_path / "again", "--unfreeze-every", "0", "--no-export", "--epochs", "2")
    args.resume = str(tmp_path / "out" / "checkpoint.pt")
    main(args)
    resumed = torch.load(tmp_path / "again" / "out" / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert [h["epoch"] for h in resumed["history"]][: len(first["history"])] == [0]
    assert resumed["history"][-1]["epoch"] == 1


def test_head_recipe_builds_an_artifact_with_out_of_fold_thresholds(tmp_path):
    from imagetagger_training.train import main

    annotations = tiny_coco(tmp_path / "data", 8)
    argv = ["train", "--recipe", "head", "--annotations", str(annotations), "--images", str(tmp_path / "data"),
            "--output-dir", str(tmp_path / "out"), "--views", "1", "--folds", "2", "--head-steps", "20",
            "--eval-annotations", str(annotations), "--eval-images", str(tmp_path / "data")]  # fmt: skip
    spec = main(build_parser().parse_args(argv))
    assert {"train_out_of_fold", "val"} <= spec["metrics"].keys()
    assert spec["metrics"]["val"]["n_images"] == 8
    assert all(0 < label["threshold"] < 1 for label in spec["labels"])
    assert (tmp_path / "out" / "evaluation" / "pr_curves.png").is_file()


def test_head_recipe_trains_from_a_corrections_manifest(tmp_path):
    from imagetagger_training.data import CocoLabelSource
    from imagetagger_training.train import main

    annotations = tiny_coco(tmp_path / "data", 8)
    images = CocoLabelSource(annotations, tmp_path / "data").load()
    manifest = tmp_path / "data" / "labels.jsonl"
    manifest.write_text(
        "".join(
            json.dumps({"image": p.name, "labels": [images.names[i] for i in np.flatnonzero(row)]}) + "\n"
            for p, row in zip(images.paths, images.targets, strict=True)
        )
    )
    argv = ["train", "--recipe", "head", "--annotations", str(manifest), "--output-dir", str(tmp_path / "out"),
            "--views", "0", "--folds", "2", "--head-steps", "20", "--eval-annotations", str(manifest)]  # fmt: skip
    spec = main(build_parser().parse_args(argv))
    assert spec["metrics"]["val"]["n_images"] == 8
