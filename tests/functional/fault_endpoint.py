"""A SageMaker-runtime stand-in on a real socket whose failures a test scripts: 5xx, slowness, or not listening.

The processing code talks to it through the real boto3 client (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME), so botocore's
retry mode, back-off and read timeout are exercised as configured in imagetagger.aws.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay_s: float = 0.0


class ScriptedEndpoint:
    """Answers the scripted `Answer`s in order, then `default`; counts invocations."""

    def __init__(self, port: int = 0) -> None:
        self.script: deque[Answer] = deque()
        self.default = Answer()
        self.invocations = 0
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = endpoint._next()
                time.sleep(answer.delay_s)
                if answer.status == 200:
                    count = len(np.load(io.BytesIO(body), allow_pickle=False))
                    tags = [{"name": "dog", "confidence": 0.93, "parents": ["animal"]}]
                    payload = {"model_version": "scripted-1", "predictions": [{"tags": tags}] * count}
                else:
                    payload = {"message": f"scripted failure {answer.status}"}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away, as intended by a slow answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _next(self) -> Answer:
        with self._lock:
            self.invocations += 1
            return self.script.popleft() if self.script else self.default

    def start(self) -> ScriptedEndpoint:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
