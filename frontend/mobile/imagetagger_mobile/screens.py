"""The app's screens: sign in, tag a photo (upload or quick tag), and the gallery with search.

Network calls use the blocking `requests` client, so each runs in a worker thread (`asyncio.to_thread`) to keep the
UI responsive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import flet as ft

from imagetagger_mobile.api_client import ApiError, ImageRecord, ImageTaggerClient, RejectedFileError, Tag
from imagetagger_mobile.widgets import image_tile, labelled_icon_button, photo_with_boxes, status_text, tag_list

USER_ERRORS = (ApiError, RejectedFileError)


class SignInScreen(ft.Column):
    """API address and user name (local stack), or a pasted token (any stack)."""

    def __init__(self, client: ImageTaggerClient, on_signed_in: Callable[[], Awaitable[None]]) -> None:
        self.client = client
        self.on_signed_in = on_signed_in
        self.api_url = ft.TextField(label="API address", value=client.base_url, keyboard_type=ft.KeyboardType.URL)
        self.user = ft.TextField(label="User name", autofocus=True, on_submit=self.sign_in)
        self.token = ft.TextField(label="…or paste a token", multiline=True, max_lines=3)
        self.error = ft.Text(color=ft.Colors.ERROR)
        super().__init__(
            [
                ft.Text("Sign in", theme_style=ft.TextThemeStyle.HEADLINE_SMALL),
                ft.Text("Local stack: any user name gets a development token."),
                self.api_url,
                self.user,
                self.token,
                ft.Button("Sign in", icon=ft.Icons.LOGIN, on_click=self.sign_in),
                self.error,
            ],
            spacing=12,
        )

    async def sign_in(self, _: ft.Event) -> None:
        self.client.base_url = (self.api_url.value or "").rstrip("/")
        try:
            if (self.token.value or "").strip():
                self.client.token = self.token.value.strip()
                await asyncio.to_thread(self.client.list_tags)  # proves the token works before moving on
            else:
                await asyncio.to_thread(self.client.sign_in_local, (self.user.value or "").strip())
        except USER_ERRORS as exc:
            self.error.value = f"Sign-in failed: {exc}"
            self.update()
            return
        await self.on_signed_in()


class TagScreen(ft.Column):
    """Choose a photo, then upload it for stored tags or quick-tag it."""

    def __init__(self, client: ImageTaggerClient) -> None:
        self.client = client
        self.picked: tuple[str, bytes] | None = None
        self.preview = ft.Container(height=0)
        self.status = ft.Text()
        self.busy = ft.ProgressBar(visible=False)
        self.result = ft.Column()
        self.upload_button = ft.Button(
            "Upload and tag", icon=ft.Icons.CLOUD_UPLOAD, disabled=True, on_click=self.upload
        )
        self.quick_button = ft.OutlinedButton("Quick tag", icon=ft.Icons.BOLT, disabled=True, on_click=self.quick_tag)
        super().__init__(
            [
                ft.Text("Tag a photo", theme_style=ft.TextThemeStyle.HEADLINE_SMALL),
                ft.Button("Choose a photo", icon=ft.Icons.PHOTO_LIBRARY, on_click=self.pick),
                self.preview,
                ft.Row([self.upload_button, self.quick_button], wrap=True),
                self.busy,
                self.status,
                self.result,
            ],
            spacing=12,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
        )

    async def pick(self, _: ft.Event) -> None:
        files = await ft.FilePicker().pick_files(file_type=ft.FilePickerFileType.IMAGE, with_data=True)
        if not files:
            return
        chosen = files[0]
        data = chosen.bytes if chosen.bytes is not None else Path(chosen.path).read_bytes()  # desktop gives a path
        self.picked = (chosen.name, data)
        self.preview.content = ft.Image(src=data, height=220, fit=ft.BoxFit.CONTAIN)
        self.preview.height = 220
        self.upload_button.disabled = self.quick_button.disabled = False
        self.show(f"{chosen.name}: {len(data) / 1e6:.1f} MB", busy=False)
        self.result.controls = []
        self.update()

    async def upload(self, _: ft.Event) -> None:
        assert self.picked is not None
        name, data = self.picked
        try:
            self.show("Uploading…", busy=True)
            image_id = await asyncio.to_thread(self.client.upload, name, data)
            self.show("Uploaded. Waiting for tags…", busy=True)
            record = await asyncio.to_thread(self.client.wait_for_tags, image_id)
        except USER_ERRORS as exc:
            self.show(f"Failed: {exc}", busy=False, error=True)
            return
        self.show_record(record)  # the gallery reloads when its tab is opened

    async def quick_tag(self, _: ft.Event) -> None:
        assert self.picked is not None
        try:
            self.show("Tagging…", busy=True)
            result = await asyncio.to_thread(self.client.quick_tag, *self.picked)
        except USER_ERRORS as exc:
            self.show(f"Failed: {exc}", busy=False, error=True)
            return
        self.show("Tagged (not stored)", busy=False)
        self.show_boxes(result.tags)
        self.result.controls = [tag_list(result.tags)]
        self.update()

    def show_record(self, record: ImageRecord) -> None:
        self.show(status_text(record), busy=False, error=record.status == "FAILED")
        if record.status == "TAGGED":
            self.show_boxes(record.tags)
        self.result.controls = [tag_list(record.tags)] if record.status == "TAGGED" else []
        self.update()

    def show_boxes(self, tags: list[Tag]) -> None:
        """The chosen photo again, now with a labelled box around each object its tags located."""
        assert self.picked is not None
        self.preview.content = photo_with_boxes(self.picked[1], tags)
        self.preview.height = None  # as tall as the photo at the width it is shown

    def show(self, message: str, busy: bool, error: bool = False) -> None:
        self.status.value = message
        self.status.color = ft.Colors.ERROR if error else None
        self.busy.visible = busy
        self.update()


class GalleryScreen(ft.Column):
    """The user's images, searchable by tag with a minimum confidence; tag counts as chips; delete."""

    def __init__(self, client: ImageTaggerClient) -> None:
        self.client = client
        self.tag = ft.TextField(label="Tag", hint_text="e.g. dog", expand=True, on_submit=self.search)
        self.min_confidence_label = ft.Text("Min. confidence 0%")
        self.min_confidence = ft.Slider(
            min=0, max=1, divisions=20, value=0, expand=True, on_change=self.show_min_confidence
        )
        self.tag_chips = ft.Row(wrap=True)
        self.message = ft.Text()
        self.items = ft.Column(spacing=8)
        super().__init__(
            [
                ft.Text("Gallery", theme_style=ft.TextThemeStyle.HEADLINE_SMALL),
                ft.Row([self.tag, labelled_icon_button(ft.Icons.SEARCH, "Search", self.search)]),
                ft.Row([self.min_confidence_label, self.min_confidence]),
                self.tag_chips,
                self.message,
                self.items,
            ],
            spacing=12,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
        )

    def show_min_confidence(self, _: ft.Event) -> None:
        self.min_confidence_label.value = f"Min. confidence {float(self.min_confidence.value):.0%}"
        self.min_confidence_label.update()

    async def refresh(self) -> None:
        try:
            counts = await asyncio.to_thread(self.client.list_tags)
        except USER_ERRORS as exc:
            self.message.value = f"Could not load tags: {exc}"
            counts = []
        self.tag_chips.controls = [
            ft.Chip(label=f"{count.name} ({count.count})", on_click=self.chip_handler(count.name)) for count in counts
        ]
        await self.search(None)

    def chip_handler(self, name: str) -> Callable[[ft.Event], Awaitable[None]]:
        async def choose(_: ft.Event) -> None:
            self.tag.value = name
            await self.search(None)

        return choose

    async def search(self, _: ft.Event | None) -> None:
        tag = (self.tag.value or "").strip().lower() or None
        confidence = round(float(self.min_confidence.value), 2)
        try:
            records, _next = await asyncio.to_thread(self.client.list_images, tag, confidence if tag else None, 50)
        except USER_ERRORS as exc:
            self.message.value = f"Could not load the gallery: {exc}"
            self.update()
            return
        at_least = f" at {confidence:.0%} or more" if confidence > 0 else ""
        what = f"tagged “{tag}”{at_least}" if tag else "in total"
        self.message.value = f"{len(records)} image(s) {what}"
        self.items.controls = [image_tile(record, self.delete) for record in records]
        self.update()

    async def delete(self, record: ImageRecord) -> None:
        try:
            await asyncio.to_thread(self.client.delete_image, record.image_id)
        except USER_ERRORS as exc:
            self.message.value = f"Could not delete {record.filename}: {exc}"
            self.update()
            return
        await self.refresh()
