"""GET /images/{image_id}/similar through functions/api/app.py, with images tagged by functions/process/app.py (moto).

The fake endpoint answers an embedding made from each image's mean colour, so photos of close colours are similar.
"""

import base64
import io
import json

import boto3
import numpy as np
import pytest
from handler_support import EVENT_USER, REGION, body_of, http_event, jpeg_bytes

from imagetagger.embedding_store import matrix_key
from imagetagger.embeddings import Matrix, decode

OTHER_USER = "8d2e4f60-1a2b-4c3d-9e8f-0a1b2c3d4e5f"


def _colour_embedding(image: np.ndarray) -> str:
    vector = image.reshape(-1, 3).mean(axis=0).astype(np.float32) - 127.5
    vector = np.concatenate([vector, np.ones(1, np.float32)])
    return base64.b64encode((vector / np.linalg.norm(vector)).astype("<f2").tobytes()).decode()


@pytest.fixture
def embedding_model(model, monkeypatch):
    answer = model.invoke_endpoint

    def invoke(**request):
        batch = np.load(io.BytesIO(request["Body"]), allow_pickle=False)
        body = json.loads(answer(**request)["Body"].read())
        if model.embeds:
            for prediction, image in zip(body["predictions"], batch, strict=True):
                prediction["embedding"] = _colour_embedding(image)
        return {"Body": io.BytesIO(json.dumps(body).encode()), "ContentType": "application/json"}

    model.embeds = True
    monkeypatch.setattr(model, "invoke_endpoint", invoke)
    return model


@pytest.fixture
def tagged(upload_image, deliver, embedding_model):
    def tag(colour, user=None):
        image_id = upload_image(jpeg_bytes(color=colour), user=user)
        assert deliver()["batchItemFailures"] == []
        return image_id

    return tag


def _similar(api, lambda_context, image_id, user=None, **query):
    event = http_event("api/similar_images.json", image_id=image_id, user=user, query=query or {"limit": 12})
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/images/{image_id}/similar"
    response = api.lambda_handler(event, lambda_context)
    return response["statusCode"], body_of(response)


def test_similar_images_are_the_users_own_most_similar_first(tagged, api, stack, lambda_context):
    red = tagged((220, 30, 30))
    dark_red = tagged((180, 40, 40))
    blue = tagged((30, 30, 220))
    others_red = tagged((220, 30, 30), user=OTHER_USER)

    status, body = _similar(api, lambda_context, red)
    assert status == 200, body
    assert body["image_id"] == red
    assert [item["image_id"] for item in body["items"]] == [dark_red, blue]  # never itself, never OTHER_USER's
    assert others_red not in [item["image_id"] for item in body["items"]]
    similarities = [item["similarity"] for item in body["items"]]
    assert similarities[0] > 0.95 > similarities[1] >= -1
    assert body["items"][0]["status"] == "TAGGED" and body["items"][0]["tags"][0]["name"] == "dog"
    assert [item["image_id"] for item in _similar(api, lambda_context, red, limit=1)[1]["items"]] == [dark_red]

    # Stored with the tags: D float16 values and the model version; the user's matrix holds their rows only.
    item = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table(stack.environment["IMAGES_TABLE"])
        .get_item(Key={"user_id": EVENT_USER, "image_id": red})["Item"]
    )
    assert len(decode(item["embedding"].value)) == 4 and item["embedding_version"] == "test-model-1"
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.head_object(Bucket=stack.environment["UPLOAD_BUCKET"], Key=matrix_key(EVENT_USER))


def test_another_users_image_is_not_found(tagged, api, lambda_context):
    mine = tagged((220, 30, 30))
    theirs = tagged((220, 30, 30), user=OTHER_USER)
    assert _similar(api, lambda_context, theirs)[0] == 404
    assert _similar(api, lambda_context, mine, user=OTHER_USER)[0] == 404
    assert [i["image_id"] for i in _similar(api, lambda_context, theirs, user=OTHER_USER)[1]["items"]] == []


def test_an_image_not_tagged_or_without_an_embedding_is_a_409(
    tagged, upload_image, embedding_model, api, lambda_context
):
    pending = upload_image(jpeg_bytes())
    status, body = _similar(api, lambda_context, pending)
    assert status == 409 and "PENDING" in body["message"]
    embedding_model.embeds = False  # a model without the output
    old = tagged((10, 200, 10))
    status, body = _similar(api, lambda_context, old)
    assert status == 409 and "no embedding" in body["message"]


@pytest.mark.parametrize("limit", ["0", "51", "many"])
def test_a_bad_limit_is_a_422(tagged, api, lambda_context, limit):
    image_id = tagged((220, 30, 30))
    status, body = _similar(api, lambda_context, image_id, limit=limit)
    assert status == 422 and "limit" in body["message"]


def _packed_ids(stack) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    body = s3.get_object(Bucket=stack.environment["UPLOAD_BUCKET"], Key=matrix_key(EVENT_USER))["Body"].read()
    return sorted(Matrix.from_bytes(body).image_ids.tolist())


def test_deleting_an_image_removes_its_row_and_a_search_drops_rows_of_images_gone_otherwise(
    tagged, api, stack, lambda_context
):
    red, dark_red, blue, green = (tagged(c) for c in ((220, 30, 30), (180, 40, 40), (30, 30, 220), (30, 200, 30)))
    deleted = api.lambda_handler(http_event("api/delete_image.json", image_id=dark_red), lambda_context)
    assert deleted["statusCode"] == 204
    assert _packed_ids(stack) == sorted([red, blue, green])  # at once, before any search
    # An item gone without the DELETE route (its row's removal failed, say): the search leaves it out and drops it.
    from imagetagger.services import services

    services().repo.delete(EVENT_USER, green)
    assert [item["image_id"] for item in _similar(api, lambda_context, red)[1]["items"]] == [blue]
    assert _packed_ids(stack) == sorted([red, blue])


def test_a_lost_matrix_is_rebuilt_from_the_image_records(tagged, api, stack, lambda_context):
    red, dark_red = tagged((220, 30, 30)), tagged((180, 40, 40))
    boto3.client("s3", region_name=REGION).delete_object(
        Bucket=stack.environment["UPLOAD_BUCKET"], Key=matrix_key(EVENT_USER)
    )
    assert [item["image_id"] for item in _similar(api, lambda_context, red)[1]["items"]] == [dark_red]


def test_the_retag_path_gives_an_image_tagged_without_an_embedding_one(tagged, embedding_model, api, lambda_context):
    from imagetagger.processing import ImageProcessor
    from imagetagger.records import upload_key
    from imagetagger.services import services
    from imagetagger_workflow.bulk import retag_object

    embedding_model.embeds = False
    old, other = tagged((220, 30, 30)), tagged((180, 40, 40))
    assert _similar(api, lambda_context, old)[0] == 409
    embedding_model.embeds, embedding_model.model_version = True, "test-model-2"
    built = services()
    processor = ImageProcessor(built.settings, built.s3, built.repo, built.endpoint)
    for image_id in (old, other):
        item = {"bucket": built.settings.upload_bucket, "key": upload_key(EVENT_USER, image_id), "etag": "", "size": 0}
        assert retag_object(processor, built.repo, item, "test-model-2")["status"] == "TAGGED"
    status, body = _similar(api, lambda_context, old)
    assert status == 200 and [item["image_id"] for item in body["items"]] == [other]


def test_a_batch_writes_each_users_matrix_once(upload_image, deliver, embedding_model, stack, monkeypatch):
    # GIVEN three uploads of one user waiting in the queue, delivered as one SQS batch
    from imagetagger.embedding_store import EmbeddingStore

    writes = []
    put = EmbeddingStore._put
    monkeypatch.setattr(EmbeddingStore, "_put", lambda self, *args: writes.append(args[0]) or put(self, *args))
    image_ids = {upload_image(jpeg_bytes(color=(40 * k, 30, 30))) for k in range(3)}
    # WHEN the process function tags the batch
    assert deliver()["batchItemFailures"] == []
    # THEN the user's matrix holds all three rows, written in one conditional write (not one per image)
    body = (
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=stack.environment["UPLOAD_BUCKET"], Key=matrix_key(EVENT_USER))["Body"]
        .read()
    )
    assert set(Matrix.from_bytes(body).image_ids) == image_ids
    assert writes == [EVENT_USER]
