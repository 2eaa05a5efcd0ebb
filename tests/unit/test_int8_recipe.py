"""Which nodes the int8 recipe leaves in float (optimize.nodes_kept_float), on a small graph shaped like the fused
default model: a preamble, a detector, a classifier branch prefixed as graph.build_graph prefixes it, a head."""

from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402

from imagetagger_bench.optimize import FUSED_CLASSIFIER_PREFIX, nodes_kept_float  # noqa: E402


def fused_like_graph():
    nodes = [
        helper.make_node("Mul", ["image", "scale"], ["normalised"], name="fused/normalise"),
        helper.make_node("Conv", ["normalised", "w0"], ["d0"], name="det/stem"),
        helper.make_node("Conv", ["d0", "w1"], ["d1"], name="det/block"),
        helper.make_node("Conv", ["normalised", "w2"], ["c0"], name=f"{FUSED_CLASSIFIER_PREFIX}stem"),
        helper.make_node("Conv", ["c0", "w3"], ["c1"], name=f"{FUSED_CLASSIFIER_PREFIX}block"),
        helper.make_node("Add", ["d1", "bias"], ["d2"], name="det/add"),
        helper.make_node("Conv", ["d2", "w4"], ["d3"], name="det/class_predictor"),
        helper.make_node("Sigmoid", ["d3"], ["probabilities"], name="fused/sigmoid"),
    ]
    return helper.make_model(helper.make_graph(nodes, "fused-like", [], []))


def test_the_preamble_stem_classifier_branch_and_head_stay_float_and_the_detector_body_is_quantised():
    kept = set(nodes_kept_float(fused_like_graph()))

    assert {"fused/normalise", "det/stem"} <= kept, "up to the first convolution"
    assert {"det/class_predictor", "fused/sigmoid"} <= kept, "from the last convolution on"
    assert {f"{FUSED_CLASSIFIER_PREFIX}stem", f"{FUSED_CLASSIFIER_PREFIX}block"} <= kept, "the classifier branch"
    assert kept.isdisjoint({"det/block", "det/add"}), "the detector's body is what int8 speeds up"


def test_a_graph_without_convolutions_is_quantised_whole():
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="cls/matmul")], "g", [], [])
    assert nodes_kept_float(helper.make_model(graph)) == []
