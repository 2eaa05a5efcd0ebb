"""Small building blocks shared by the screens: a tag with its confidence bar, an image row, a status line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import flet as ft

from imagetagger_mobile.api_client import ImageRecord, Tag


def labelled_icon_button(icon: ft.IconData, label: str, on_click: Callable) -> ft.IconButton:
    """An icon button that screen readers (and the browser tests) can find by name; a tooltip alone is not announced."""
    return ft.IconButton(ft.Icon(icon, semantics_label=label), tooltip=label, on_click=on_click)


def tag_row(tag: Tag) -> ft.Control:
    """`dog  animal  [=======   ] 93%`: name, parent category, confidence bar and number."""
    percent = round(tag.confidence * 100)
    return ft.Row(
        [
            ft.Column(
                [
                    ft.Text(tag.name, weight=ft.FontWeight.BOLD),
                    ft.Text(tag.parent or "", size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                ],
                spacing=0,
                width=110,
            ),
            ft.ProgressBar(value=tag.confidence, expand=True, bar_height=8, semantics_label=f"{tag.name} confidence"),
            ft.Text(f"{percent}%", width=44, text_align=ft.TextAlign.RIGHT),
        ],
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )


def tag_list(tags: list[Tag]) -> ft.Control:
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
