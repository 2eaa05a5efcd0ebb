"""The local stack's direct path for DynamoDB items in moto's responses (imagetagger_local.moto_attribute_values)
writes exactly the JSON moto's generic serialiser writes, and the SDK reads the same items back."""

from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.types import Binary
from moto import mock_aws
from moto.core import serialize
from moto.core.utils import get_service_model

from imagetagger_local import moto_attribute_values

# Every AttributeValue type, nested as an image item nests tags, parents and boxes, with the edge values.
ITEM = {
    "user_id": {"S": "alice"},
    "image_id": {"S": "0" * 32},
    "empty": {"S": ""},
    "revision": {"N": "3"},
    "embedding": {"B": b"\x00\x01\xfe\xff" * 64},
    "tags": {
        "L": [
            {
                "M": {
                    "name": {"S": "dog"},
                    "confidence": {"N": "0.9731"},
                    "parents": {"L": [{"S": "animal"}]},
                    "instances": {
                        "L": [{"M": {"box": {"L": [{"N": "0.1"}, {"N": "0.25"}]}, "confidence": {"N": "1"}}}]
                    },
                }
            },
            {"M": {}},
            {"L": []},
        ]
    },
    "words": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"x", b"\x00"]},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
}


def _serialized(operation: str, result: dict, direct: bool) -> str:
    moto_attribute_values.install()
    operation_model = get_service_model("dynamodb").operation_model(operation)
    serializer = serialize.JSONSerializer(operation_model, value_picker=serialize.XFormedAttributePicker())
    if not direct:
        generic = moto_attribute_values.generic_serialize_structure
        serializer._serialize_type_structure = lambda *args: generic(serializer, *args)  # type: ignore[method-assign]
    return serializer.serialize(result)["body"]


@pytest.mark.parametrize(
    ("operation", "result"),
    [
        ("Query", {"Count": 2, "ScannedCount": 2, "Items": [ITEM, {"user_id": {"S": "bob"}}], "LastEvaluatedKey": {}}),
        ("BatchGetItem", {"Responses": {"images": [ITEM]}, "UnprocessedKeys": {}}),
        ("GetItem", {"Item": ITEM}),
        ("Scan", {"Count": 0, "ScannedCount": 0, "Items": []}),
    ],
)
def test_the_direct_path_writes_what_the_generic_serialiser_writes(operation, result):
    assert _serialized(operation, result, direct=True) == _serialized(operation, result, direct=False)


def test_a_value_not_in_wire_form_takes_the_generic_path():
    odd = {"Item": {"a": {"S": "x", "N": "1"}, "b": {"M": {"c": None}}, "d": {"N": 5}}}
    assert _serialized("GetItem", odd, direct=True) == _serialized("GetItem", odd, direct=False)


@mock_aws
def test_items_round_trip_through_moto_with_the_direct_path():
    moto_attribute_values.install()
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    table = dynamodb.create_table(
        TableName="images",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}, {"AttributeName": "image_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "image_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {
        "user_id": "alice",
        "image_id": "1" * 32,
        "tags": [{"name": "dog", "confidence": Decimal("0.97"), "instances": [{"box": [Decimal("0.1")] * 4}]}],
        "embedding": Binary(b"\x00\xff" * 128),
        "flag": False,
        "nothing": None,
        "words": {"a", "b"},
    }
    table.put_item(Item=item)
    assert table.get_item(Key={"user_id": "alice", "image_id": "1" * 32})["Item"] == item
    assert table.query(KeyConditionExpression="user_id = :u", ExpressionAttributeValues={":u": "alice"})["Items"] == [
        item
    ]
