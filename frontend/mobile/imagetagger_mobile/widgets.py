"""Small building blocks shared by the screens: a tag with its confidence bar, the photo with its tags' boxes, an image
row, a status line."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import flet as ft

from imagetagger_mobile.api_client import ImageRecord, Instance, Tag

# Box colours, picked for contrast on photos and from one another (Okabe-Ito); a tag keeps its colour in the list.
BOX_COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
PHOTO_MAX_EDGE = 360  # logical pixels: fits a phone's width with the page's padding
LABEL_HEIGHT = 16  # a box label's line of 11 px text
_EXIF_ORIENTATION = 0x0112


def labelled_icon_button(icon: ft.IconData, label: str, on_click: Callable) -> ft.IconButton:
    """An icon button that screen readers (and the browser tests) can find by name; a tooltip alone is not announced."""
    return ft.IconButton(ft.Icon(icon, semantics_label=label), tooltip=label, on_click=on_click)


# How a tag of the user's own labels is marked (the API's `source`); the model's COCO tags carry no mark.
SOURCE_MARKS = {"custom": "your label", "user": "added by you"}
CUSTOM_COLOUR = "#6A2C91"


def source_mark(tag: Tag) -> ft.Control | None:
    """A small "your label" / "added by you" badge, or None for the model's own tags."""
    text = SOURCE_MARKS.get(tag.source)
    if text is None:
        return None
    return ft.Container(
        ft.Text(text, size=11, weight=ft.FontWeight.BOLD, color=CUSTOM_COLOUR),
        border=ft.Border.all(1, CUSTOM_COLOUR),
        border_radius=8,
        padding=ft.Padding.symmetric(horizontal=5),
    )


def tag_row(tag: Tag) -> ft.Control:
    """`dog  animal  [=======   ] 93%`: name, parent category (or the mark of the user's own label), confidence bar
    and number."""
    percent = round(tag.confidence * 100)
    under_name = source_mark(tag) or ft.Text(tag.parent or "", size=12, color=ft.Colors.ON_SURFACE_VARIANT)
    return ft.Row(
        [
            ft.Column(
                [
                    ft.Text(
                        tag.name,
                        weight=ft.FontWeight.BOLD,
                        color=CUSTOM_COLOUR if tag.is_users_own else None,
                        semantics_label=f"{tag.name}, {SOURCE_MARKS[tag.source]}" if tag.is_users_own else None,
                    ),
                    under_name,
                ],
                spacing=0,
                width=110,
            ),
            ft.ProgressBar(
                value=tag.confidence,
                expand=True,
                bar_height=8,
                color=CUSTOM_COLOUR if tag.is_users_own else None,
                semantics_label=f"{tag.name} confidence",
            ),
            ft.Text(f"{percent}%", width=44, text_align=ft.TextAlign.RIGHT),
        ],
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )


def tag_list(tags: list[Tag]) -> ft.Control:
    """The tags, the model's first (as the API lists them), then the user's own labels, each marked."""
    if not tags:
        return ft.Text("No object the model knows was found.", italic=True)
    return ft.Column([tag_row(tag) for tag in tags], spacing=6)


def status_text(record: ImageRecord) -> str:
    if record.status == "TAGGED":
        return "Tagged"
    if record.status == "FAILED":
        return f"Failed: {record.error or 'no reason was recorded'}"
    return "Waiting for tags…"


def image_tile(record: ImageRecord, on_delete: Callable[[ImageRecord], Awaitable[None]]) -> ft.Control:
    """A gallery entry: name, status, its tags, and a delete button."""

    async def delete(_: ft.Event[ft.IconButton]) -> None:
        await on_delete(record)

    return ft.Card(
        ft.Container(
            ft.Column(
                [
                    ft.Row(
                        [
                            ft.Text(record.filename or record.image_id, weight=ft.FontWeight.BOLD, expand=True),
                            labelled_icon_button(ft.Icons.DELETE_OUTLINE, f"Delete {record.filename}", delete),
                        ]
                    ),
                    ft.Text(status_text(record), color=ft.Colors.ERROR if record.status == "FAILED" else None),
                    tag_list(record.tags) if record.status == "TAGGED" else ft.Container(),
                ],
                spacing=6,
            ),
            padding=12,
        )
    )


def upright_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of the photo upright (EXIF orientation applied): what the boxes are fractions of."""
    from PIL import Image  # only needed here; keeps the app's start-up light

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            turned = image.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return (height, width) if turned else (width, height)


def display_size(size: tuple[int, int], max_edge: float = PHOTO_MAX_EDGE) -> tuple[float, float]:
    """The photo scaled so its longer side is `max_edge`, aspect kept."""
    width, height = size
    scale = max_edge / max(width, height)
    return width * scale, height * scale


@dataclass(frozen=True)
class BoxRect:
    """One box as drawn on a photo shown at a given size, in logical pixels."""

    tag: Tag
    instance: Instance
    left: float
    top: float
    width: float
    height: float


def box_rects(tags: list[Tag], width: float, height: float) -> list[BoxRect]:
    """Every box on a photo shown at width x height, larger boxes first (so a small box inside a large one, a rider
    on a horse, is drawn on top)."""
    rects = []
    for tag in tags:
        for instance in tag.instances:
            x, y, w, h = (min(1.0, max(0.0, v)) for v in instance.box)
            rects.append(BoxRect(tag, instance, x * width, y * height, min(w, 1 - x) * width, min(h, 1 - y) * height))
    return sorted(rects, key=lambda rect: -rect.width * rect.height)


def photo_with_boxes(data: bytes, tags: list[Tag]) -> ft.Control:
    """The photo with a labelled box around each object its tags located (a Stack of positioned containers)."""
    size = upright_size(data)
    if size is None:
        return ft.Container()
    width, height = display_size(size)
    colours = {tag.name: BOX_COLOURS[i % len(BOX_COLOURS)] for i, tag in enumerate(tags)}
    boxes: list[ft.Control] = []
    labels: list[ft.Control] = []
    for rect in box_rects(tags, width, height):
        colour = colours[rect.tag.name]
        text = f"{rect.tag.name} {round(rect.instance.confidence * 100)}%"
        boxes.append(
            ft.Container(
                # Its own node for screen readers (and the browser tests), where the box is on the photo.
                ft.Semantics(content=ft.Container(), label=f"Box: {text}", container=True),
                left=rect.left,
                top=rect.top,
                width=rect.width,
                height=rect.height,
                border=ft.Border.all(2, colour),
                data=rect.tag.name,
            )
        )
        # Above the box's top-left corner, or just inside it at the photo's top edge; never wrapped in a narrow box.
        labels.append(
            ft.Container(
                # The box's own node already says this to a screen reader.
                ft.Semantics(
                    content=ft.Text(text, size=11, color=ft.Colors.BLACK, no_wrap=True), exclude_semantics=True
                ),
                bgcolor=colour,
                padding=ft.Padding.symmetric(horizontal=3),
                left=rect.left,
                top=rect.top - LABEL_HEIGHT if rect.top >= LABEL_HEIGHT else rect.top + 2,
                data=rect.tag.name,
            )
        )
    count = len(boxes)
    photo = ft.Image(
        src=data,
        width=width,
        height=height,
        fit=ft.BoxFit.FILL,
        semantics_label=f"Photo with {count} box{'' if count == 1 else 'es'}",
    )
    return ft.Stack([photo, *boxes, *labels], width=width, height=height)
