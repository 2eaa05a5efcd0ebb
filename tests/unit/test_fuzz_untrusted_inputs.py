"""Fuzzing the other untrusted inputs: queue messages, paging tokens, upload names and types.

Each parser may only answer a value or its own domain error (a 4xx, or a message left for the dead-letter queue);
anything else would be a 500 or a crashed batch. Bounded like test_fuzz_preprocessing.py (IMAGETAGGER_FUZZ_EXAMPLES
for a long run).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagetagger.errors import InvalidRequestError
from imagetagger.media import ACCEPTED_MEDIA_TYPES
from imagetagger.pagination import decode_token, fixed, matching
from imagetagger.processing import MalformedEventError, UploadedObject, objects_from_message
from imagetagger.records import IMAGE_ID_PATTERN
from imagetagger.uploads import clean_filename, normalise_content_type

LONG_RUN_EXAMPLES = os.environ.get("IMAGETAGGER_FUZZ_EXAMPLES")
fuzz_settings = settings(
    max_examples=int(LONG_RUN_EXAMPLES or 150),
    derandomize=LONG_RUN_EXAMPLES is None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
# Messages that look more or less like S3 notifications, so the fuzzer gets past the first checks.
s3_like = st.fixed_dictionaries(
    {
        "Records": st.lists(
            st.fixed_dictionaries(
                {"eventName": st.sampled_from(["ObjectCreated:Post", "ObjectRemoved:Delete", 7, None])},
                optional={
                    "s3": st.fixed_dictionaries(
                        {},
                        optional={
                            "bucket": st.fixed_dictionaries({}, optional={"name": json_values}),
                            "object": st.fixed_dictionaries(
                                {}, optional={"key": json_values, "size": json_values, "eTag": json_values}
                            ),
                        },
                    )
                },
            ),
            max_size=3,
        )
    }
)


@fuzz_settings
@given(st.one_of(st.text(max_size=200), json_values.map(json.dumps), s3_like.map(json.dumps)))
def test_queue_messages_parse_or_are_refused_as_malformed(body: str):
    try:
        objects = objects_from_message(body)
    except MalformedEventError:
        return
    assert all(isinstance(obj, UploadedObject) for obj in objects)


@fuzz_settings
@given(
    st.one_of(
        st.text(max_size=300),
        json_values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
    )
)
def test_paging_tokens_decode_or_are_a_400(token: str):
    try:
        start = decode_token(token, expected={"user_id": fixed("alice"), "image_id": matching(IMAGE_ID_PATTERN)})
    except InvalidRequestError:
        return
    assert start is None or start["user_id"] == "alice"  # never another user's page


@fuzz_settings
@given(st.text(max_size=400))
def test_filenames_become_a_plain_display_name_or_a_400(filename: str):
    try:
        name = clean_filename(filename)
    except InvalidRequestError:
        return
    assert name and "/" not in name and "\\" not in name and len(name) <= 255
    assert not any(unicodedata.category(ch).startswith("C") for ch in name)  # no control or format characters


@fuzz_settings
@given(st.text(max_size=60))
def test_content_types_normalise_to_an_allowed_type_or_a_400(content_type: str):
    with contextlib.suppress(InvalidRequestError):
        assert normalise_content_type(content_type) in ACCEPTED_MEDIA_TYPES
