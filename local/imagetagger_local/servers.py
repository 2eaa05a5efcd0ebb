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
STOP_DRAIN_TIMEOUT_S = 30


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug logs every request at INFO; the stack logs requests only when asked to be verbose."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if logger.isEnabledFor(logging.DEBUG):
            super().log_request(code, size)


class _RequestsInFlight:
    """WSGI middleware counting the requests an app is still handling, so that stopping can wait for them."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app
        self._count = 0
        self._idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._idle:
            self._count += 1
        try:
            return self._app(environ, start_response)
        finally:
            with self._idle:
                self._count -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=timeout_s)


class BackgroundServer:
    def __init__(self, name: str, host: str, port: int, app: Callable[..., Any]) -> None:
        self.name = name
        self._app = _RequestsInFlight(app)
        self._server: BaseWSGIServer = make_server(host, port, self._app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests and let those in progress finish: the stack snapshots its state after the API
        and the S3 gateway stop, and a request answered after that snapshot (an upload's record, say) would be lost
        on restart although its client was told it succeeded."""
        self._server.shutdown()
        if not self._app.wait_idle(STOP_DRAIN_TIMEOUT_S):
            logger.warning("%s: requests still running after %.0f s; stopping anyway", self.name, STOP_DRAIN_TIMEOUT_S)
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
