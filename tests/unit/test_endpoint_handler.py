"""The SageMaker handler functions (model_fn/input_fn/predict_fn/output_fn) on a tiny real ONNX model."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetagger.errors import ImageTaggerError
from imagetagger.preprocessing import prepare, prepare_bytes
from imagetagger_endpoint import handler

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "coco-sample" / "val"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> handler.TaggingModel:
    pytest.importorskip("onnx")
    from imagetagger_endpoint.tiny_model import write_tiny_model

    return handler.model_fn(str(write_tiny_model(tmp_path_factory.mktemp("tiny"))))


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return [path.read_bytes() for path in sorted(SAMPLE.glob("*.jpg"))[:3]]


def npy_body(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def png_of(jpeg: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buffer, format="PNG")
    return buffer.getvalue()


def tag_names(prediction: dict) -> list[list[str]]:
    return [[tag["name"] for tag in item["tags"]] for item in prediction["predictions"]]


def assert_rejected(status: int, call, *args) -> str:
    with pytest.raises(ImageTaggerError) as caught:
        call(*args)
    assert caught.value.status_code == status
    return str(caught.value)


def test_jpeg_gives_thresholded_tags_most_confident_first(model, jpegs):
    prediction = handler.predict_fn(handler.input_fn(jpegs[0], "image/jpeg"), model)

    assert prediction["model_version"] == "tiny-test"
    (tags,) = [item["tags"] for item in prediction["predictions"]]
    assert tags, "the tiny model tags every sample image with something"
    thresholds = {label.name: label.threshold for label in model.spec.labels}
    confidences = [tag["confidence"] for tag in tags]
    assert confidences == sorted(confidences, reverse=True)
    assert all(tag["confidence"] >= thresholds[tag["name"]] for tag in tags)
    parents = {label.name: label.parent for label in model.spec.labels}
    assert all(
        tag["parents"] == ([parents[tag["name"]]] if parents[tag["name"]] != tag["name"] else []) for tag in tags
    )


def test_every_content_type_gives_the_same_tags_for_the_same_image(model, jpegs):
    jpeg = jpegs[1]
    as_jpeg = handler.predict_fn(handler.input_fn(jpeg, "image/jpeg"), model)
    as_npy = handler.predict_fn(handler.input_fn(npy_body(prepare_bytes(jpeg)[None]), "application/x-npy"), model)
    as_json = handler.predict_fn(
        handler.input_fn(json.dumps({"images": [base64.b64encode(jpeg).decode()]}), "application/json"), model
    )
    as_png = handler.predict_fn(handler.input_fn(png_of(jpeg), "image/png; charset=binary"), model)

    assert as_jpeg == as_npy == as_json
    # PNG re-encodes the decoded JPEG at full size (no draft mode), so pixels differ slightly; the tags must not.
    assert tag_names(as_png) == tag_names(as_jpeg)


def test_batches_answer_one_prediction_per_image_in_order(model, jpegs):
    singles = [tag_names(handler.predict_fn(handler.input_fn(jpeg, "image/jpeg"), model))[0] for jpeg in jpegs]
    batch = np.stack([prepare_bytes(jpeg) for jpeg in jpegs])

    from_npy = handler.predict_fn(handler.input_fn(npy_body(batch), "application/x-npy"), model)
    from_json = handler.predict_fn(
        handler.input_fn(json.dumps({"images": [base64.b64encode(j).decode() for j in jpegs]}), "application/json"),
        model,
    )

    assert tag_names(from_npy) == tag_names(from_json) == singles
    assert len(set(map(tuple, singles))) > 1, "different images get different tags"


def test_a_single_hwc_array_is_a_batch_of_one(model, jpegs):
    prediction = handler.predict_fn(handler.input_fn(npy_body(prepare_bytes(jpegs[0])), "application/x-npy"), model)
    assert len(prediction["predictions"]) == 1


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.zeros((1, 224, 224, 3), np.float32), "dtype float32"),
        (np.zeros((1, 224, 224), np.uint8), "shape [1, 224, 224]"),
        (np.zeros((1, 224, 224, 4), np.uint8), "shape [1, 224, 224, 4]"),
        (np.zeros((0, 224, 224, 3), np.uint8), "no image"),
        (np.zeros((handler.MAX_BATCH + 1, 2, 2, 3), np.uint8), f"at most {handler.MAX_BATCH}"),
    ],
)
def test_npy_with_wrong_dtype_or_shape_is_a_400(array, expected):
    assert expected in assert_rejected(400, handler.input_fn, npy_body(array), "application/x-npy")


def test_npy_of_another_square_size_is_squashed_to_the_models_input(model, jpegs):
    # GIVEN a photo prepared at another size than the model's (as a Lambda built for another model would send it)
    size = model.spec.size
    other = prepare_bytes(jpegs[0], size // 2 + 7)
    # WHEN it is tagged THEN it is squashed to the model's input, exactly as preprocessing.prepare would do it
    from_other = handler.predict_fn(handler.input_fn(npy_body(other[np.newaxis]), "application/x-npy"), model)
    squashed = prepare(Image.fromarray(other), size)[np.newaxis]
    from_squashed = handler.predict_fn(handler.input_fn(npy_body(squashed), "application/x-npy"), model)
    assert from_other == from_squashed
    assert squashed.shape == (1, size, size, 3) and other.shape[0] != size


def test_npy_that_is_not_square_is_a_400_naming_the_expected_shape(model):
    data = handler.input_fn(npy_body(np.zeros((2, 100, 120, 3), np.uint8)), "application/x-npy")
    size = model.spec.size
    assert f"[N, {size}, {size}, 3]" in assert_rejected(400, handler.predict_fn, data, model)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"\x93NUMPY garbage", "application/x-npy", "not a valid .npy"),
        (b"not a jpeg", "image/jpeg", "not a supported image"),
        (b"", "image/png", "empty"),
        (b"{not json", "application/json", "not valid JSON"),
        (b'{"image": "x"}', "application/json", '{"images"'),
        (b'{"images": ["!!!"]}', "application/json", "images[0] is not valid base64"),
        (json.dumps({"images": [base64.b64encode(b"text").decode()]}).encode(), "application/json", "images[0]"),
    ],
)
def test_malformed_bodies_are_a_400_with_a_reason(body, content_type, expected):
    assert expected in assert_rejected(400, handler.input_fn, body, content_type)


def test_pickled_npy_is_refused_not_unpickled():
    body = npy_body(np.array([{"evil": 1}], dtype=object))
    assert "not a valid .npy" in assert_rejected(400, handler.input_fn, body, "application/x-npy")


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/octet-stream"])
def test_unsupported_content_type_is_a_415_listing_the_supported_ones(content_type):
    message = assert_rejected(415, handler.input_fn, b"abc", content_type)
    assert "application/x-npy" in message and "image/jpeg" in message


def test_output_is_json_and_unacceptable_accept_is_a_406():
    prediction = {"model_version": "v", "predictions": [{"tags": []}]}
    body, content_type = handler.output_fn(prediction, "application/json")
    assert content_type == "application/json" and json.loads(body) == prediction
    assert handler.output_fn(prediction, "*/*")[1] == "application/json"
    assert_rejected(406, handler.output_fn, prediction, "text/csv")
