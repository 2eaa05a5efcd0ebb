"""ImageRepository against moto tables built from template.yaml."""

import pytest

from imagetagger.errors import InvalidRequestError, NotFoundError
from imagetagger.pagination import encode_token
from imagetagger.records import ImageRecord, ImageStatus, new_image_id


def _pending(repo, user="alice", filename="photo.jpg"):
    image_id = new_image_id()
    record = ImageRecord(user, image_id, filename, "image/jpeg", 1234, ImageStatus.PENDING, "2026-01-01T00:00:00Z")
    repo.create_pending(record, expires_at=2_000_000_000)
    return image_id


def _tag(name, confidence, parent):
    return {"name": name, "confidence": confidence, "parents": [parent]}


def test_pending_image_reads_back_without_tags(repo):
    image_id = _pending(repo)
    record = repo.get("alice", image_id)
    assert record.status is ImageStatus.PENDING
    assert record.to_api() == {
        "image_id": image_id,
        "filename": "photo.jpg",
        "status": "PENDING",
        "tags": [],
        "model_version": None,
        "error": None,
        "created_at": "2026-01-01T00:00:00Z",
        "corrections": None,
        "retriable": False,
    }


def test_other_users_image_is_not_found(repo):
    image_id = _pending(repo, user="alice")
    with pytest.raises(NotFoundError):
        repo.get("bob", image_id)
    with pytest.raises(NotFoundError):
        repo.delete("bob", image_id)


def test_tagging_stores_tags_and_clears_ttl(repo):
    image_id = _pending(repo)
    assert repo.mark_tagged("alice", image_id, [_tag("dog", 0.91, "animal")], "model-v1")
    record = repo.get("alice", image_id)
    assert record.status is ImageStatus.TAGGED and record.model_version == "model-v1"
    assert record.tags == [{"name": "dog", "confidence": 0.91, "parents": ["animal"], "instances": []}]
    item = repo.images.get_item(Key={"user_id": "alice", "image_id": image_id})["Item"]
    assert "expires_at" not in item  # a tagged image must not be expired by TTL


def test_search_by_tag_is_most_confident_first_and_respects_min_confidence(repo):
    low, high, mid = _pending(repo), _pending(repo), _pending(repo)
    repo.mark_tagged("alice", low, [_tag("dog", 0.4, "animal")], "v")
    repo.mark_tagged("alice", high, [_tag("dog", 0.97, "animal"), _tag("cat", 0.6, "animal")], "v")
    repo.mark_tagged("alice", mid, [_tag("dog", 0.7, "animal")], "v")
    assert [r.image_id for r in repo.search_by_tag("alice", "dog", 0.0, 10).items] == [high, mid, low]
    assert [r.image_id for r in repo.search_by_tag("alice", "dog", 0.5, 10).items] == [high, mid]
    assert repo.search_by_tag("bob", "dog", 0.0, 10).items == []


def test_search_pages_through_all_results_with_tokens(repo):
    ids = [_pending(repo) for _ in range(5)]
    for rank, image_id in enumerate(ids):
        repo.mark_tagged("alice", image_id, [_tag("car", 0.5 + rank / 10, "vehicle")], "v")
    seen, token = [], None
    while True:
        page = repo.search_by_tag("alice", "car", 0.0, 2, token)
        seen += [r.image_id for r in page.items]
        token = page.next_token
        if token is None:
            break
    assert seen == list(reversed(ids))


def test_retagging_replaces_old_tag_rows(repo):
    image_id = _pending(repo)
    repo.mark_tagged("alice", image_id, [_tag("dog", 0.9, "animal"), _tag("cat", 0.8, "animal")], "v1")
    repo.mark_tagged("alice", image_id, [_tag("cat", 0.85, "animal")], "v2")
    assert repo.search_by_tag("alice", "dog", 0.0, 10).items == []
    assert repo.tag_counts("alice") == [{"name": "cat", "count": 1}]
    assert repo.get("alice", image_id).model_version == "v2"


def test_tag_counts_counts_images_per_tag(repo):
    a, b = _pending(repo), _pending(repo)
    repo.mark_tagged("alice", a, [_tag("dog", 0.9, "animal"), _tag("person", 0.8, "person")], "v")
    repo.mark_tagged("alice", b, [_tag("dog", 0.7, "animal")], "v")
    assert repo.tag_counts("alice") == [{"name": "dog", "count": 2}, {"name": "person", "count": 1}]


def test_delete_removes_image_and_tag_rows_and_tagging_does_not_resurrect(repo):
    image_id = _pending(repo)
    repo.mark_tagged("alice", image_id, [_tag("dog", 0.9, "animal")], "v")
    repo.delete("alice", image_id)
    with pytest.raises(NotFoundError):
        repo.get("alice", image_id)
    assert repo.tag_counts("alice") == []
    # A late processing run for the deleted image writes nothing.
    assert repo.mark_tagged("alice", image_id, [_tag("dog", 0.9, "animal")], "v") is False
    assert repo.mark_failed("alice", image_id, "late") is False
    assert repo.tag_counts("alice") == []
    assert repo.list_images("alice", 10).items == []


def test_failure_does_not_overwrite_a_tagged_image(repo):
    image_id = _pending(repo)
    repo.mark_tagged("alice", image_id, [_tag("dog", 0.9, "animal")], "v")
    assert repo.mark_failed("alice", image_id, "endpoint down") is False
    assert repo.get("alice", image_id).status is ImageStatus.TAGGED


def test_failed_image_keeps_its_reason(repo):
    image_id = _pending(repo)
    assert repo.mark_failed("alice", image_id, "the file is empty")
    record = repo.get("alice", image_id)
    assert (record.status, record.error) == (ImageStatus.FAILED, "the file is empty")
    assert record.to_api()["retriable"] is False


def test_a_retriable_failure_can_be_retried_once(repo):
    image_id = _pending(repo)
    assert repo.mark_failed("alice", image_id, "the model endpoint was unavailable; retry later", retriable=True)
    assert repo.get("alice", image_id).to_api()["retriable"] is True
    assert repo.mark_retrying("alice", image_id)
    record = repo.get("alice", image_id)
    assert (record.status, record.error, record.retriable) == (ImageStatus.PENDING, None, False)
    assert repo.mark_retrying("alice", image_id) is False  # a second retry at the same time finds it PENDING


def test_failures_recorded_before_the_flag_are_retriable_when_their_reason_says_so(repo):
    image_id = _pending(repo)
    repo.images.update_item(
        Key={"user_id": "alice", "image_id": image_id},
        UpdateExpression="SET #s = :f, #e = :e",
        ExpressionAttributeNames={"#s": "status", "#e": "error"},
        ExpressionAttributeValues={":f": "FAILED", ":e": "the model endpoint was unavailable; retry later (x)"},
    )
    assert repo.get("alice", image_id).retriable is True


def test_list_images_newest_first_with_pagination(repo):
    ids = [_pending(repo) for _ in range(3)]
    first = repo.list_images("alice", 2)
    rest = repo.list_images("alice", 2, first.next_token)
    assert [r.image_id for r in first.items + rest.items] == list(reversed(ids))


@pytest.mark.parametrize(
    "token",
    [
        "not base64 !!",
        "e30",  # {}
        encode_token({"user_id": "bob", "image_id": "0" * 32}),  # someone else's partition
        encode_token({"user_id": "alice"}),  # wrong key shape
        "A" * 5000,
    ],
)
def test_malformed_or_foreign_tokens_are_rejected(repo, token):
    with pytest.raises(InvalidRequestError):
        repo.list_images("alice", 10, token)
