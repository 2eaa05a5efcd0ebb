"""The mobile app's result screen lists the user's own labels' tags, marked as theirs (issue 15): the client reads each
tag's `source`, and the tag list shows "your label" (a custom label's classifier) or "added by you" (a correction)
where the model's COCO tags show their parent category."""

from __future__ import annotations

import flet as ft
from imagetagger_mobile.api_client import ImageRecord
from imagetagger_mobile.widgets import tag_list

RECORD = {
    "image_id": "c" * 32,
    "status": "TAGGED",
    "tags": [
        {"name": "bicycle", "confidence": 0.91, "parents": ["vehicle"], "instances": [], "source": "model"},
        {"name": "My Bike", "confidence": 0.87, "parents": [], "instances": [], "source": "custom"},
        {"name": "garage", "confidence": 1.0, "parents": [], "instances": [], "source": "user"},
    ],
}


def _rows(control: ft.Control) -> dict[str, tuple[ft.Text, ft.Control]]:
    """Each tag row's name and what is shown under the name, by tag name."""
    assert isinstance(control, ft.Column)
    rows = {}
    for row in control.controls:
        name, under = row.controls[0].controls
        rows[name.value] = (name, under)
    return rows


def test_custom_and_user_tags_are_listed_with_their_mark_and_model_tags_with_their_category():
    record = ImageRecord.from_json(RECORD)
    assert [(tag.name, tag.source) for tag in record.tags] == [
        ("bicycle", "model"),
        ("My Bike", "custom"),
        ("garage", "user"),
    ]

    rows = _rows(tag_list(record.tags))

    assert list(rows) == ["bicycle", "My Bike", "garage"]  # the API's order: the model's tags first
    name, under = rows["bicycle"]
    assert isinstance(under, ft.Text) and under.value == "vehicle" and name.semantics_label is None
    for tag_name, mark in (("My Bike", "your label"), ("garage", "added by you")):
        name, under = rows[tag_name]
        assert isinstance(under, ft.Container) and under.content.value == mark
        assert name.semantics_label == f"{tag_name}, {mark}"  # a screen reader says it too
        assert name.color == under.border.top.color  # the name takes the mark's colour
    # The custom label's confidence is its classifier's probability, shown like any other.
    assert [row.controls[2].value for row in tag_list(record.tags).controls] == ["91%", "87%", "100%"]


def test_a_record_from_before_sources_shows_its_tags_as_the_models():
    old = ImageRecord.from_json(
        {"image_id": "d" * 32, "status": "TAGGED", "tags": [{"name": "dog", "confidence": 0.5}]}
    )
    assert old.tags[0].source == "model" and not old.tags[0].is_users_own
    ((name, under),) = _rows(tag_list(old.tags)).values()
    assert isinstance(under, ft.Text) and name.color is None
