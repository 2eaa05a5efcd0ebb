"""The mobile app's result screen draws each tag's boxes on the photo (issue 11): the API's instances parsed by the
client, placed on the photo as shown (EXIF orientation applied), larger boxes under smaller ones."""

from __future__ import annotations

import io

import flet as ft
import pytest
from imagetagger_mobile.api_client import ImageRecord, Instance, Tag, tags_from_json
from imagetagger_mobile.widgets import box_rects, display_size, photo_with_boxes, upright_size
from PIL import Image

HORSE = {"name": "horse", "confidence": 0.9, "parents": ["animal"], "instances": [
    {"box": [0.25, 0.5, 0.5, 0.5], "confidence": 0.88},
]}  # fmt: skip
RIDER = {"name": "person", "confidence": 0.8, "parents": [], "instances": [
    {"box": [0.375, 0.25, 0.125, 0.5], "confidence": 0.79},
    {"box": [0.9, 0.9, 0.5, 0.5], "confidence": 0.4},  # runs past the corner: clipped to the photo
]}  # fmt: skip


def _jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "gray").save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_the_client_reads_instances_and_an_old_record_without_them():
    record = ImageRecord.from_json(
        {"image_id": "a" * 32, "status": "TAGGED", "tags": [HORSE, {"name": "dog", "confidence": 0.5}]}
    )
    assert record.tags[0].instances == [Instance(box=(0.25, 0.5, 0.5, 0.5), confidence=0.88)]
    assert record.tags[1].instances == []


def test_boxes_are_placed_in_display_pixels_largest_first_and_clipped():
    width, height = display_size((640, 480))
    assert (width, height) == (360, 270)

    rects = box_rects(tags_from_json([RIDER, HORSE]), width, height)

    assert [(r.tag.name, r.left, r.top, r.width, r.height) for r in rects] == [
        ("horse", 90.0, 135.0, 180.0, 135.0),
        ("person", 135.0, 67.5, 45.0, 135.0),
        ("person", 324.0, 243.0, pytest.approx(36.0), pytest.approx(27.0)),
    ]


def test_the_photo_is_shown_upright_with_one_labelled_container_per_box():
    # Stored 640x480, EXIF "rotate 90°": upright it is portrait, so it is shown 270 wide and 360 high.
    data = _jpeg(640, 480, orientation=6)
    assert upright_size(data) == (480, 640)

    control = photo_with_boxes(data, tags_from_json([HORSE, RIDER]))

    assert isinstance(control, ft.Stack) and (control.width, control.height) == (270, 360)
    photo, *drawn = control.controls
    assert isinstance(photo, ft.Image) and (photo.width, photo.height) == (270, 360)
    assert photo.semantics_label == "Photo with 3 boxes"
    boxes, labels = drawn[:3], drawn[3:]  # every label over every box
    assert [(b.data, b.left, b.top, b.width, b.height) for b in boxes] == [
        ("horse", 67.5, 180.0, 135.0, 180.0),
        ("person", 101.25, 90.0, 33.75, 180.0),
        ("person", 243.0, 324.0, pytest.approx(27.0), pytest.approx(36.0)),
    ]
    assert [b.content.label for b in boxes] == ["Box: horse 88%", "Box: person 79%", "Box: person 40%"]
    # Each label sits on its box's top-left corner, just above it, on one line.
    assert [(label.content.content.value, label.left, label.top) for label in labels] == [
        ("horse 88%", 67.5, 164.0),
        ("person 79%", 101.25, 74.0),
        ("person 40%", 243.0, 308.0),
    ]
    assert all(label.content.content.no_wrap for label in labels)
    # One colour per tag, different tags told apart.
    colours = [b.border.top.color for b in boxes]
    assert colours[1] == colours[2] != colours[0]
    assert [label.bgcolor for label in labels] == colours


def test_a_photo_without_boxes_says_so_and_an_undecodable_file_shows_nothing():
    control = photo_with_boxes(_jpeg(100, 50), [Tag(name="dog", confidence=0.5)])
    assert isinstance(control, ft.Stack) and len(control.controls) == 1
    assert control.controls[0].semantics_label == "Photo with 0 boxes"
    assert upright_size(b"not a photo") is None
    assert not isinstance(photo_with_boxes(b"not a photo", []), ft.Stack)
