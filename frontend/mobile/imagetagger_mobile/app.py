"""The Flet app: sign-in first, then two tabs (Tag, Gallery) behind a navigation bar.

Run it as a desktop window, as a Flutter web app served on this machine, or package it for Android/iOS with
`flet build` (see the README's "Web & mobile app" section).
"""

from __future__ import annotations

import argparse
import os

import flet as ft

from imagetagger_mobile.api_client import ImageTaggerClient
from imagetagger_mobile.screens import GalleryScreen, SignInScreen, TagScreen
from imagetagger_mobile.widgets import labelled_icon_button

DEFAULT_API_URL = "http://127.0.0.1:3000"
APP_TITLE = "imagetagger"


async def main(page: ft.Page) -> None:
    page.title = APP_TITLE
    page.theme = ft.Theme(color_scheme_seed=ft.Colors.BLUE)
    page.padding = 16
    client = ImageTaggerClient(os.environ.get("IMAGETAGGER_API_URL", DEFAULT_API_URL))
    body = ft.Container(expand=True)

    tag_screen = TagScreen(client)
    gallery = GalleryScreen(client)

    async def switch_tab(event: ft.Event[ft.NavigationBar]) -> None:
        body.content = tag_screen if event.control.selected_index == 0 else gallery
        page.update()
        if event.control.selected_index == 1:
            await gallery.refresh()

    async def sign_out(_: ft.Event) -> None:
        client.token = None
        page.navigation_bar = None
        page.appbar.actions = []
        body.content = sign_in
        page.update()

    async def signed_in() -> None:
        page.navigation_bar = ft.NavigationBar(
            destinations=[
                ft.NavigationBarDestination(icon=ft.Icons.LOCAL_OFFER_OUTLINED, label="Tag"),
                ft.NavigationBarDestination(icon=ft.Icons.PHOTO_LIBRARY_OUTLINED, label="Gallery"),
            ],
            on_change=switch_tab,
        )
        page.appbar.actions = [labelled_icon_button(ft.Icons.LOGOUT, "Sign out", sign_out)]
        body.content = tag_screen
        page.update()

    sign_in = SignInScreen(client, signed_in)
    page.appbar = ft.AppBar(title=ft.Text(APP_TITLE), bgcolor=ft.Colors.PRIMARY_CONTAINER)
    body.content = sign_in
    page.add(ft.SafeArea(body, expand=True))


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="imagetagger's Flet app")
    parser.add_argument("--web", action="store_true", help="serve it as a Flutter web app instead of a desktop window")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8550)
    args = parser.parse_args(argv)
    if args.web:
        # no_cdn: CanvasKit and fonts come from the flet-web package, not the internet (this machine has none).
        ft.run(main, view=ft.AppView.WEB_BROWSER, host=args.host, port=args.port, no_cdn=True)
    else:
        ft.run(main)
