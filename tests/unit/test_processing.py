"""ImageProcessor decisions with in-memory S3, repository and endpoint stand-ins."""

import io
import json
import time

import pytest
from PIL import Image

from imagetagger.errors import InvalidImageError, ModelEndpointError
from imagetagger.model_client import Prediction
from imagetagger.modelspec import SERVING_INPUT_SIZE
from imagetagger.processing import ImageProcessor, MalformedEventError, UploadedObject, objects_from_message
from imagetagger.settings import Settings

SETTINGS = Settings("i", "t", "d", "bucket", "e", max_upload_bytes=50_000, max_receives=3)
KEY = "uploads/alice/0123456789abcdef0123456789abcdef"


def _jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (100, 80), "red").save(buffer, "JPEG")
    return buffer.getvalue()


class MemoryS3:
    def __init__(self, objects):
        self.objects = dict(objects)
        self.reads = []

    def get_object(self, Bucket, Key):
        self.reads.append(Key)
        return {"Body": io.BytesIO(self.objects[Key])}

    def delete_object(self, Bucket, Key):
        self.objects.pop(Key, None)


class MemoryRepository:
    def __init__(self, exists=True):
        self.exists = exists
        self.tagged = []
        self.failed = []

    def get_items(self, keys):
        self.batch_reads = getattr(self, "batch_reads", 0) + 1
        return {key: {"user_id": key[0], "image_id": key[1], "revision": 0} for key in keys if self.exists}

    def mark_tagged(self, user_id, image_id, tags, model_version, current=None, embedding=None):
        self.tagged.append((image_id, tags, model_version))
        return self.exists

    def mark_failed(self, user_id, image_id, reason, retriable=False):
        self.failed.append((image_id, reason))
        return self.exists


class ScriptedEndpoint:
    def __init__(self, error=None):
        self.error = error
        self.batches = []

    def predict(self, batch):
        self.batches.append(batch)
        if self.error:
            raise self.error
        return [Prediction(tags=[{"name": "car", "confidence": 0.8, "parents": ["vehicle"]}], model_version="m")] * len(
            batch
        )


def _run(data, *, size=None, repo=None, endpoint=None, receive_count=1):
    s3, repo, endpoint = MemoryS3({KEY: data}), repo or MemoryRepository(), endpoint or ScriptedEndpoint()
    processor = ImageProcessor(SETTINGS, s3, repo, endpoint)
    upload = {"bucket": "bucket", "key": KEY, "etag": "e", "size": len(data) if size is None else size}
    return processor.process(upload, receive_count), s3, repo, endpoint


def test_tags_a_photo():
    outcome, _, repo, endpoint = _run(_jpeg())
    assert outcome["status"] == "TAGGED"
    assert repo.tagged[0][1][0]["name"] == "car"
    assert endpoint.batches[0].shape == (1, SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3)


def test_oversized_object_fails_without_being_read():
    outcome, s3, repo, _ = _run(_jpeg(), size=SETTINGS.max_upload_bytes + 1)
    assert outcome["status"] == "FAILED" and "at most 50000 bytes" in repo.failed[0][1]
    assert s3.reads == []


def test_event_that_understates_the_size_is_still_bounded():
    outcome, _, repo, endpoint = _run(b"\xff\xd8" + b"0" * 60_000, size=10)
    assert outcome["status"] == "FAILED" and "larger than 50000 bytes" in repo.failed[0][1]
    assert endpoint.batches == []


def test_endpoint_failure_raises_and_marks_failed_only_on_the_last_receive():
    down = ModelEndpointError("the model endpoint is unreachable")
    repo = MemoryRepository()
    for receive_count in (1, 2):
        with pytest.raises(ModelEndpointError):
            _run(_jpeg(), repo=repo, endpoint=ScriptedEndpoint(down), receive_count=receive_count)
    assert repo.failed == []  # still PENDING: SQS delivers it again
    with pytest.raises(ModelEndpointError):
        _run(_jpeg(), repo=repo, endpoint=ScriptedEndpoint(down), receive_count=3)
    assert "retry later" in repo.failed[0][1]


class BrokenRepository(MemoryRepository):
    def mark_tagged(self, user_id, image_id, tags, model_version, current=None, embedding=None):
        raise RuntimeError("DynamoDB throttled")


def test_unexpected_errors_are_retried_and_never_leave_the_image_pending():
    repo = BrokenRepository()
    with pytest.raises(RuntimeError):
        _run(_jpeg(), repo=repo, receive_count=1)
    assert repo.failed == []
    with pytest.raises(RuntimeError):
        _run(_jpeg(), repo=repo, receive_count=SETTINGS.max_receives)
    assert repo.failed == [("0123456789abcdef0123456789abcdef", "tagging failed unexpectedly; retry later")]


def test_object_without_record_is_removed_and_not_tagged():
    outcome, s3, repo, endpoint = _run(_jpeg(), repo=MemoryRepository(exists=False))
    assert outcome["status"] == "IGNORED"
    assert s3.objects == {} and endpoint.batches == []


def test_keys_outside_the_upload_layout_are_ignored():
    processor = ImageProcessor(SETTINGS, MemoryS3({}), MemoryRepository(), ScriptedEndpoint())
    assert processor.process({"bucket": "b", "key": "other/x", "etag": "", "size": 1})["status"] == "IGNORED"


def test_message_parsing_decodes_keys_and_skips_test_events():
    body = {
        "Records": [
            {
                "eventName": "ObjectCreated:Post",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "uploads/a+b/x%21", "size": 5, "eTag": "t"}},
            },
            {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}},
        ]
    }
    (obj,) = objects_from_message(json.dumps(body))
    assert (obj.key, obj.size, obj.etag) == ("uploads/a b/x!", 5, "t")
    assert objects_from_message(json.dumps({"Event": "s3:TestEvent"})) == []


@pytest.mark.parametrize("body", ["nope", "[]", json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]})])
def test_malformed_messages_are_errors(body):
    with pytest.raises(MalformedEventError):
        objects_from_message(body)


def test_no_model_call_without_time_for_it():
    endpoint = ScriptedEndpoint()
    s3, repo = MemoryS3({KEY: _jpeg()}), MemoryRepository()
    processor = ImageProcessor(SETTINGS, s3, repo, endpoint)
    upload = {"bucket": "bucket", "key": KEY, "etag": "e", "size": 10}
    with pytest.raises(ModelEndpointError, match="left in this invocation"):
        processor.process(upload, 1, time_left_s=lambda: 5.0)
    assert endpoint.batches == []
    assert processor.process(upload, 1, time_left_s=lambda: 600.0)["status"] == "TAGGED"


# ---------------------------------------------------------------------------------------------- batches (issue 13)
def _batch(count, bad=()):
    keys = [f"uploads/alice/{index:032x}" for index in range(count)]
    objects = {key: (b"not an image" if index in bad else _jpeg()) for index, key in enumerate(keys)}
    uploads = [UploadedObject("bucket", key, f"e{index}", len(objects[key])) for index, key in enumerate(keys)]
    return MemoryS3(objects), uploads


def _warm(processor, endpoint):
    """A warm environment: its first endpoint call (one image) measured the endpoint's speed."""
    warm_key = "uploads/alice/" + "f" * 32
    processor.s3.objects[warm_key] = _jpeg()
    processor.prepare_batch([UploadedObject("bucket", warm_key, "w", len(_jpeg()))])
    assert [batch.shape[0] for batch in endpoint.batches] == [1]
    endpoint.batches.clear()


def test_a_batch_is_read_with_one_batch_get_and_tagged_with_one_endpoint_call():
    s3, uploads = _batch(10)
    repo, endpoint = MemoryRepository(), ScriptedEndpoint()
    processor = ImageProcessor(SETTINGS, s3, repo, endpoint)
    _warm(processor, endpoint)
    prepared = processor.prepare_batch(uploads)
    assert repo.tagged == [] and repo.batch_reads == 2  # one per batch; the batch stage writes nothing
    assert [batch.shape for batch in endpoint.batches] == [(10, SERVING_INPUT_SIZE, SERVING_INPUT_SIZE, 3)]
    statuses = [processor.process(vars(upload), 1, prepared=prepared[upload])["status"] for upload in uploads]
    assert statuses == ["TAGGED"] * 10 and len(repo.tagged) == 10 and len(endpoint.batches) == 1


def test_the_first_call_of_an_environment_measures_the_endpoint_with_one_image():
    s3, uploads = _batch(5)
    endpoint = ScriptedEndpoint()
    ImageProcessor(SETTINGS, s3, MemoryRepository(), endpoint).prepare_batch(uploads)
    assert [batch.shape[0] for batch in endpoint.batches] == [1, 4]


class SlowEndpoint(ScriptedEndpoint):
    def __init__(self, seconds_per_image):
        super().__init__()
        self.seconds_per_image = seconds_per_image

    def predict(self, batch):
        time.sleep(self.seconds_per_image * len(batch))
        return super().predict(batch)


def test_calls_to_a_slow_endpoint_stay_well_inside_its_read_timeout():
    # 20 ms per image against a 0.2 s read timeout: a call of 10 would take its whole timeout; calls of 2 take 0.04 s
    s3, uploads = _batch(10)
    endpoint = SlowEndpoint(0.02)
    settings = Settings("i", "t", "d", "bucket", "e", max_upload_bytes=50_000, endpoint_timeout_s=0.2)
    processor = ImageProcessor(settings, s3, MemoryRepository(), endpoint)
    prepared = processor.prepare_batch(uploads)
    sizes = [batch.shape[0] for batch in endpoint.batches]
    assert sum(sizes) == 10 and sizes[0] == 1 and max(sizes) <= 3
    assert all(p.prediction is not None for p in prepared.values())


def test_an_unavailable_endpoint_fails_the_rest_of_the_batch_without_more_calls():
    s3, uploads = _batch(4)
    endpoint = ScriptedEndpoint(ModelEndpointError("the model endpoint is unreachable"))
    prepared = ImageProcessor(SETTINGS, s3, MemoryRepository(), endpoint).prepare_batch(uploads)
    assert len(endpoint.batches) == 1
    assert all(isinstance(p.error, ModelEndpointError) for p in prepared.values())


def test_a_bad_file_in_a_batch_fails_alone():
    s3, uploads = _batch(4, bad={2})
    repo, endpoint = MemoryRepository(), ScriptedEndpoint()
    processor = ImageProcessor(SETTINGS, s3, repo, endpoint)
    _warm(processor, endpoint)
    prepared = processor.prepare_batch(uploads)
    statuses = [processor.process(vars(upload), 1, prepared=prepared[upload])["status"] for upload in uploads]
    assert statuses == ["TAGGED", "TAGGED", "FAILED", "TAGGED"]
    assert [batch.shape[0] for batch in endpoint.batches] == [3]


class PickyEndpoint(ScriptedEndpoint):
    """Refuses (4xx) any request that contains an all-black image, as a model refuses an input it cannot take."""

    def predict(self, batch):
        self.batches.append(batch)
        if any(not image.any() for image in batch):
            raise InvalidImageError("the model rejected the image: unsupported input")
        return [Prediction(tags=[], model_version="m")] * len(batch)


def test_a_batch_the_model_refuses_is_retried_image_by_image_so_only_the_culprit_fails():
    black = io.BytesIO()
    Image.new("RGB", (120, 120), "black").save(black, "PNG")
    s3, uploads = _batch(3)
    s3.objects[uploads[1].key] = black.getvalue()
    uploads[1] = UploadedObject("bucket", uploads[1].key, "e1", len(black.getvalue()))
    repo, endpoint = MemoryRepository(), PickyEndpoint()
    processor = ImageProcessor(SETTINGS, s3, repo, endpoint)
    _warm(processor, endpoint)
    prepared = processor.prepare_batch(uploads)
    statuses = [processor.process(vars(upload), 1, prepared=prepared[upload])["status"] for upload in uploads]
    assert statuses == ["TAGGED", "FAILED", "TAGGED"] and "rejected" in repo.failed[0][1]
    assert [batch.shape[0] for batch in endpoint.batches] == [3, 1, 1, 1]


def test_a_batch_larger_than_the_payload_limit_is_split(monkeypatch):
    from imagetagger import processing

    monkeypatch.setattr(processing, "images_per_call", lambda image_bytes: 4)
    s3, uploads = _batch(10)
    endpoint = ScriptedEndpoint()
    processor = ImageProcessor(SETTINGS, s3, MemoryRepository(), endpoint)
    _warm(processor, endpoint)
    processor.prepare_batch(uploads)
    assert [batch.shape[0] for batch in endpoint.batches] == [4, 4, 2]


def test_images_per_call_respects_the_payload_limit():
    from imagetagger.model_client import MAX_IMAGES_PER_CALL, MAX_PAYLOAD_BYTES, images_per_call

    assert images_per_call(224 * 224 * 3) == 41  # 6 MB of 224 px images
    assert images_per_call(448 * 448 * 3) * 448 * 448 * 3 < MAX_PAYLOAD_BYTES
    assert images_per_call(10) == MAX_IMAGES_PER_CALL and images_per_call(10**9) == 1
