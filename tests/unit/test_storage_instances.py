"""Boxes (a tag's instances) through the DynamoDB record: written as Decimals, read back as floats, absent in old
records (issue 11)."""

from decimal import Decimal

import pytest

from imagetagger.records import ImageRecord, ImageStatus, new_image_id
from imagetagger.tags import tag_from_dict

ZEBRAS = {
    "name": "zebra",
    "confidence": 0.97,
    "parents": ["animal"],
    # As the endpoint sends them: floats that are not exact in binary (0.1, 0.7) and more decimals than are stored.
    "instances": [
        {"box": [0.1, 0.25, 0.3, 0.7], "confidence": 0.95},
        {"box": [0.512345678, 0.0, 0.487654321, 0.999999], "confidence": 0.800049},
    ],
}


def _pending(repo):
    image_id = new_image_id()
    record = ImageRecord("alice", image_id, "z.jpg", "image/jpeg", 10, ImageStatus.PENDING, "2026-01-01T00:00:00Z")
    repo.create_pending(record, expires_at=2_000_000_000)
    return image_id


def test_instances_round_trip_through_the_record_rounded_to_four_decimals(repo):
    image_id = _pending(repo)
    person = {"name": "person", "confidence": 0.41, "parents": [], "instances": []}

    assert repo.mark_tagged("alice", image_id, [tag_from_dict(ZEBRAS), person], "v2")

    # Stored as DynamoDB numbers (Decimal), each rounded to 4 decimals, not as binary-float noise.
    item = repo.images.get_item(Key={"user_id": "alice", "image_id": image_id})["Item"]
    assert item["tags"][0]["instances"][1] == {
        "box": [Decimal("0.5123"), Decimal("0"), Decimal("0.4877"), Decimal("1")],
        "confidence": Decimal("0.8"),
    }
    # Read back as plain floats, in the order written; a tag without boxes keeps [].
    tags = repo.get("alice", image_id).tags
    assert tags[0]["instances"] == [
        {"box": [0.1, 0.25, 0.3, 0.7], "confidence": 0.95},
        {"box": [0.5123, 0.0, 0.4877, 1.0], "confidence": 0.8},
    ]
    assert all(isinstance(v, float) for instance in tags[0]["instances"] for v in instance["box"])
    assert tags[1]["instances"] == []
    # The API view carries them as JSON numbers.
    assert repo.get("alice", image_id).to_api()["tags"][0]["instances"][0]["box"] == [0.1, 0.25, 0.3, 0.7]


def test_a_record_written_before_boxes_existed_reads_with_no_instances(repo):
    # GIVEN an item as the previous release wrote it: tags without an "instances" key
    image_id = new_image_id()
    repo.images.put_item(
        Item={
            "user_id": "alice",
            "image_id": image_id,
            "status": "TAGGED",
            "tags": [{"name": "dog", "confidence": Decimal("0.91"), "parents": ["animal"]}],
            "model_version": "v1",
        }
    )

    record = repo.get("alice", image_id)

    assert record.tags == [{"name": "dog", "confidence": 0.91, "parents": ["animal"], "instances": []}]
    # Listing and search read the same items.
    assert repo.list_images("alice", 10).items[0].tags[0]["instances"] == []


def test_search_results_carry_the_instances(repo):
    image_id = _pending(repo)
    repo.mark_tagged("alice", image_id, [tag_from_dict(ZEBRAS)], "v2")

    found = repo.search_by_tag("alice", "zebra", 0.5, 10).items

    assert [record.image_id for record in found] == [image_id]
    assert [instance["confidence"] for instance in found[0].tags[0]["instances"]] == [0.95, 0.8]


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "dog", "confidence": 0.9, "instances": [{"box": [0.1, 0.2, 0.3], "confidence": 0.5}]},
        {"name": "dog", "confidence": 0.9, "instances": [{"box": [0.1, 0.2, 0.3, 0.4]}]},
        {"name": "dog", "confidence": 0.9, "instances": [{"box": "0.1", "confidence": 0.5}]},
    ],
)
def test_a_malformed_instance_is_refused(raw):
    with pytest.raises((KeyError, TypeError, ValueError)):
        tag_from_dict(raw)
