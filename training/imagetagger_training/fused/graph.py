"""The fused model as one ONNX graph: uint8 image in; fused probabilities and the detector's boxes out.

    image uint8 [N, 300, 300, 3]
      -> detector (converted TF-zoo SSD-MobileNetV2) on 6 views per image: the whole image and five 60% crops (four
         corners, centre), each resized to 300x300 and run as one batch of 6N
      -> per class: max over anchors of the sigmoid score, for the whole image and averaged over the crops
      -> classifier (the lite0 model, its own ONNX graph) on the image resized to 224
      -> head: sigmoid((w . logit(features) + b) / temperature)            -> "probabilities" [N, 80]
      -> boxes of the whole-image view, decoded from the anchors, per-class NonMaxSuppression (ONNX's op)
                                                 -> "detections" [K, 3] (image, class, anchor), "detection_boxes"
                                                    [K, 4] (x, y, w, h, fractions of the image), "detection_scores" [K]

Without a head (`head=None`) the graph outputs "features" [N, 80, 3] instead: what the head is fitted on, made by
exactly the graph that serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper

SIZE = 300  # the detector's input; also the served model's input size (model.json "preprocessing.size")
# (top, left, bottom, right) fractions of the image; the first view is the whole image.
CROPS = ((0.0, 0.0, 0.6, 0.6), (0.0, 0.4, 0.6, 1.0), (0.4, 0.0, 1.0, 0.6), (0.4, 0.4, 1.0, 1.0), (0.2, 0.2, 0.8, 0.8))
FEATURES = ("detector_full", "detector_crops_mean", "classifier")
# Box coder of the zoo's SSD config (FasterRcnnBoxCoder): y, x, h, w scale factors.
BOX_SCALES = (10.0, 10.0, 5.0, 5.0)
MAX_BOXES_PER_CLASS = 10  # the boxes contract: at most 10 instances per tag
NMS_IOU = 0.6  # the zoo config's batch_non_max_suppression iou_threshold
BOX_SCORE_THRESHOLD = 0.3  # a box is shown from this detector score on
LOGIT_EPS = 1e-6
OPSET = 18
DETECTOR_INPUT = "FeatureExtractor/MobilenetV2/MobilenetV2/input:0"


@dataclass(frozen=True)
class Head:
    weights: tuple[float, ...]  # one per FEATURES entry, shared by all classes
    bias: float
    temperature: float


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str | None = None, **attrs: object) -> str:
        self._count += 1
        out = output or f"fused/{op_type}_{self._count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"fused/{op_type}_{self._count}", **attrs))
        return out

    def ops(self, op_type: str, inputs: list[str], n_out: int, **attrs: object) -> list[str]:
        self._count += 1
        outs = [f"fused/{op_type}_{self._count}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=f"fused/{op_type}_{self._count}", **attrs))
        return outs


def _i64(values: list[int] | tuple[int, ...]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _resize(b: _Builder, image: str, batch: str, size: int) -> str:
    sizes = b.op("Concat", [batch, b.const(f"fused/size{size}_{b._count}", _i64([size, size, 3]))], axis=0)
    return b.op("Resize", [image, "", "", sizes], mode="linear", coordinate_transformation_mode="half_pixel")


def _logit(b: _Builder, probabilities: str) -> str:
    clipped = b.op("Clip", [probabilities, "fused/eps", "fused/one_minus_eps"])
    odds = b.op("Div", [clipped, b.op("Sub", ["fused/one", clipped])])
    return b.op("Log", [odds])


def build_graph(detector_path: Path, anchors: np.ndarray, classifier_path: Path, head: Head | None) -> onnx.ModelProto:
    detector = compose.add_prefix(onnx.load(str(detector_path)), "det/")
    classifier = compose.add_prefix(onnx.load(str(classifier_path)), "cls/")
    b = _Builder()
    b.const("fused/eps", np.float32(LOGIT_EPS))
    b.const("fused/one_minus_eps", np.float32(1 - LOGIT_EPS))
    b.const("fused/one", np.float32(1.0))
    image = b.op("Cast", ["image"], to=TensorProto.FLOAT)
    batch = b.op(
        "Slice", [b.op("Shape", ["image"]), b.const("fused/zero1", _i64([0])), b.const("fused/one1", _i64([1]))]
    )

    # Detector views, normalised as the zoo's preprocessor does: x * 2/255 - 1.
    views = [image]
    for index, (top, left, bottom, right) in enumerate(CROPS):
        starts = b.const(f"fused/crop{index}_starts", _i64([round(top * SIZE), round(left * SIZE)]))
        ends = b.const(f"fused/crop{index}_ends", _i64([round(bottom * SIZE), round(right * SIZE)]))
        crop = b.op("Slice", [image, starts, ends, b.const(f"fused/crop{index}_axes", _i64([1, 2]))])
        views.append(_resize(b, crop, batch, SIZE))
    stacked = b.op("Concat", views, axis=0)  # [6N, 300, 300, 3], view-major
    normalised = b.op("Sub", [b.op("Mul", [stacked, b.const("fused/scale", np.float32(2 / 255))]), "fused/one"])
    b.op("Identity", [normalised], output="det/" + DETECTOR_INPUT)
    encodings, logits = ("det/concat:0", "det/concat_1:0")

    # Per-class scores: sigmoid of the 91 logits, the 80 COCO categories (ids 1..90 with gaps) picked out.
    coco_ids = _i64(_coco_ids())
    scores = b.op("Gather", [b.op("Sigmoid", [logits]), b.const("fused/coco_ids", coco_ids)], axis=2)  # [6N, A, 80]
    view_max = b.op("ReduceMax", [scores, b.const("fused/axis1", _i64([1]))], keepdims=0)  # [6N, 80]
    per_view = b.op("Reshape", [view_max, b.const("fused/views_shape", _i64([1 + len(CROPS), -1, 80]))])
    full = b.op("Gather", [per_view, b.const("fused/view0", np.int64(0))], axis=0)  # [N, 80]
    crops = b.op("Slice", [per_view, b.const("fused/v1", _i64([1])), b.const("fused/vend", _i64([1 + len(CROPS)]))])
    crops_mean = b.op("ReduceMean", [crops, b.const("fused/axis0", _i64([0]))], keepdims=0)

    # Classifier on the image resized to its input size, as uint8 (what it was exported for).
    classifier_size = classifier.graph.input[0].type.tensor_type.shape.dim[1].dim_value  # its model.json size
    small = _resize(b, image, batch, classifier_size)
    small = b.op(
        "Clip", [b.op("Round", [small]), b.const("fused/zero", np.float32(0)), b.const("fused/u8max", np.float32(255))]
    )
    b.op("Cast", [small], output="cls/image", to=TensorProto.UINT8)
    classifier_probs = "cls/probabilities"

    feature_logits = [_logit(b, x) for x in (full, crops_mean, classifier_probs)]
    features = b.op(
        "Concat",
        [b.op("Unsqueeze", [f, b.const(f"fused/ax2_{i}", _i64([2]))]) for i, f in enumerate(feature_logits)],
        axis=2,
    )
    outputs = []
    if head is None:
        b.op("Identity", [features], output="features")
        outputs.append(helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 80, len(FEATURES)]))
    else:
        weights = b.const("fused/head_weights", np.asarray(head.weights, np.float32) / head.temperature)
        z = b.op("ReduceSum", [b.op("Mul", [features, weights]), b.const("fused/axis2", _i64([2]))], keepdims=0)
        z = b.op("Add", [z, b.const("fused/head_bias", np.float32(head.bias / head.temperature))])
        b.op("Sigmoid", [z], output="probabilities")
        outputs.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 80]))
        outputs += _boxes(b, encodings, scores, batch, anchors)

    # The two parts' own graph inputs become internal tensors produced by the preamble.
    graph = helper.make_graph(
        _ordered(b.nodes, detector, classifier),
        "imagetagger_fused",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", SIZE, SIZE, 3])],
        outputs,
        initializer=b.initializers + list(detector.graph.initializer) + list(classifier.graph.initializer),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = min(detector.ir_version, classifier.ir_version, model.ir_version)
    onnx.checker.check_model(model)
    return model


def _ordered(
    preamble: list[onnx.NodeProto], detector: onnx.ModelProto, classifier: onnx.ModelProto
) -> list[onnx.NodeProto]:
    """Topological order: each part's nodes after the preamble node that feeds its input, the rest after both."""
    feeds = {"det/" + DETECTOR_INPUT: detector, "cls/image": classifier}
    ordered: list[onnx.NodeProto] = []
    for node in preamble:
        ordered.append(node)
        for output in node.output:
            if output in feeds:
                ordered += list(feeds[output].graph.node)
    return ordered


def _boxes(b: _Builder, encodings: str, scores: str, batch: str, anchors: np.ndarray) -> list[onnx.ValueInfoProto]:
    """Decode the whole-image view's boxes and keep each class's best after NonMaxSuppression."""
    ymin, xmin, ymax, xmax = (anchors[:, i].astype(np.float32) for i in range(4))
    centre_y, centre_x, height, width = (ymin + ymax) / 2, (xmin + xmax) / 2, ymax - ymin, xmax - xmin
    first = b.op("Slice", [encodings, b.const("fused/b0", _i64([0])), batch])  # the whole-image view: [N, A, 1, 4]
    first = b.op("Squeeze", [first, b.const("fused/sq2", _i64([2]))])  # [N, A, 4]
    ty, tx, th, tw = b.ops("Split", [first, b.const("fused/split4", _i64([1, 1, 1, 1]))], 4, axis=2)
    ty, tx, th, tw = (b.op("Squeeze", [t, b.const(f"fused/sqe{i}", _i64([2]))]) for i, t in enumerate((ty, tx, th, tw)))
    sy, sx, sh, sw = (np.float32(1 / s) for s in BOX_SCALES)
    cy = b.op(
        "Add",
        [
            b.op("Mul", [b.op("Mul", [ty, b.const("fused/sy", sy)]), b.const("fused/ah", height)]),
            b.const("fused/acy", centre_y),
        ],
    )
    cx = b.op(
        "Add",
        [
            b.op("Mul", [b.op("Mul", [tx, b.const("fused/sx", sx)]), b.const("fused/aw", width)]),
            b.const("fused/acx", centre_x),
        ],
    )
    half = b.const("fused/half", np.float32(0.5))
    h = b.op("Mul", [b.op("Exp", [b.op("Mul", [th, b.const("fused/sh", sh)])]), b.const("fused/ah2", height)])
    w = b.op("Mul", [b.op("Exp", [b.op("Mul", [tw, b.const("fused/sw", sw)])]), b.const("fused/aw2", width)])
    lo, hi = b.const("fused/box_lo", np.float32(0)), "fused/one"
    corners = [
        b.op("Clip", [b.op(op, [centre, b.op("Mul", [extent, half])]), lo, hi])
        for op, centre, extent in (("Sub", cy, h), ("Sub", cx, w), ("Add", cy, h), ("Add", cx, w))
    ]
    y0, x0, y1, x1 = corners
    boxes = b.op(
        "Concat", [b.op("Unsqueeze", [c, b.const(f"fused/ux{i}", _i64([2]))]) for i, c in enumerate(corners)], axis=2
    )
    full_scores = b.op("Slice", [scores, b.const("fused/s0", _i64([0])), batch])  # [N, A, 80]
    per_class = b.op("Transpose", [full_scores], perm=[0, 2, 1])  # [N, 80, A]
    selected = b.op(
        "NonMaxSuppression",
        [
            boxes,
            per_class,
            b.const("fused/nms_max", _i64([MAX_BOXES_PER_CLASS])),
            b.const("fused/nms_iou", np.asarray([NMS_IOU], np.float32)),
            b.const("fused/nms_score", np.asarray([BOX_SCORE_THRESHOLD], np.float32)),
        ],
        output="detections",
    )
    b.op("GatherND", [per_class, selected], output="detection_scores")
    image_anchor = b.op("Gather", [selected, b.const("fused/ia", _i64([0, 2]))], axis=1)
    xywh = b.op(
        "Concat",
        [
            b.op("Unsqueeze", [t, b.const(f"fused/uw{i}", _i64([2]))])
            for i, t in enumerate((x0, y0, b.op("Sub", [x1, x0]), b.op("Sub", [y1, y0])))
        ],
        axis=2,
    )
    b.op("GatherND", [xywh, image_anchor], output="detection_boxes")
    return [
        helper.make_tensor_value_info("detections", TensorProto.INT64, ["boxes", 3]),
        helper.make_tensor_value_info("detection_boxes", TensorProto.FLOAT, ["boxes", 4]),
        helper.make_tensor_value_info("detection_scores", TensorProto.FLOAT, ["boxes"]),
    ]


def _coco_ids() -> list[int]:
    from imagetagger_training.data import coco_classes

    return [c.coco_id for c in coco_classes()]
