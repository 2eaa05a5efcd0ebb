"""Run WSGI apps on background threads and wait for HTTP services to come up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

logger = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug logs every request at INFO; the stack logs requests only when asked to be verbose."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if logger.isEnabledFor(logging.DEBUG):
            super().log_request(code, size)


class BackgroundServer:
    def __init__(self, name: str, host: str, port: int, app: Callable[..., Any]) -> None:
        self.name = name
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def wait_until_up(url: str, timeout_s: float, is_alive: Callable[[], bool] = lambda: True) -> None:
    """Poll `url` until it answers 2xx; fail early if the process behind it died."""
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        if not is_alive():
            raise RuntimeError(f"{url} did not come up: its process exited")
        try:
            response = requests.get(url, timeout=2)
            if response.ok:
                return
            last_error = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up within {timeout_s:.0f}s ({last_error})")
