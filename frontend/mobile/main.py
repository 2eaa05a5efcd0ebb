"""Entry point for `flet run`, `flet build apk|ipa` and `python frontend/mobile/main.py [--web]`."""

from imagetagger_mobile.app import run

if __name__ == "__main__":
    run()
