"""The local SageMaker-compatible endpoint: `python -m imagetagger_endpoint.server --model-dir models/default`.

Two faces on one port, both backed by handler.py's model_fn/input_fn/predict_fn/output_fn:
- the container contract SageMaker itself calls: GET /ping, POST /invocations (errors answered as 4xx + {"message"});
- the runtime API boto3's `sagemaker-runtime.invoke_endpoint` calls: POST /endpoints/{name}/invocations, where a model
  error is answered as AWS does: 424 `ModelError` with OriginalStatusCode/OriginalMessage, so the Lambda's error
  handling is the same locally and in AWS.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from imagetagger.errors import ImageTaggerError, PayloadTooLargeError
from imagetagger_endpoint import handler, reload
from imagetagger_endpoint.handler import TaggingModel

logger = logging.getLogger(__name__)

# SageMaker's own payload limits: 6 MB real-time, 4 MB serverless. The local endpoint enforces the real-time one.
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
RUNTIME_PATH = re.compile(r"^/endpoints/(?P<name>[A-Za-z0-9-]{1,63})/invocations$")


class EndpointHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], model: TaggingModel, max_body_bytes: int) -> None:
        super().__init__(address, EndpointRequestHandler)
        self.model = model
        self.max_body_bytes = max_body_bytes


class EndpointRequestHandler(BaseHTTPRequestHandler):
    server: EndpointHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive: the Lambda's boto3 client reuses its connection

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?", 1)[0] == "/ping":
            self._send_json(HTTPStatus.OK, {"status": "healthy", "model_version": self.server.model.spec.model_version})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"message": f"no route GET {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path == reload.RELOAD_PATH:
            self._reload()
            return
        runtime_api = RUNTIME_PATH.match(path) is not None
        if path != "/invocations" and not runtime_api:
            self._discard_body()
            self._send_json(HTTPStatus.NOT_FOUND, {"message": f"no route POST {self.path}"})
            return
        try:
            body = self._read_body()
            data = handler.input_fn(body, self.headers.get("Content-Type", ""))
            prediction = handler.predict_fn(data, self.server.model)
            payload, content_type = handler.output_fn(prediction, self.headers.get("Accept", handler.JSON))
        except ImageTaggerError as error:
            self._send_error(error, runtime_api)
            return
        except Exception:  # a bug must not take the server down; the client sees a 500 and the log the traceback
            logger.exception("inference failed")
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "internal error while tagging"})
            return
        self._send(HTTPStatus.OK, payload, content_type)

    def _reload(self) -> None:
        """Local promotion (`imagetagger pipeline run`): load a new model folder, then swap it in; see reload.py."""
        try:
            document = reload.reload_model(self.server, self._read_body(), self.client_address[0])
        except ImageTaggerError as error:
            self._send_json(error.status_code, {"message": str(error)})
            return
        self._send_json(HTTPStatus.OK, document)

    def _read_body(self) -> bytes:
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self.close_connection = True
            raise handler.InvalidPayloadError("a Content-Length header is required")
        length = int(length_header)
        if length > self.server.max_body_bytes:
            self.close_connection = True  # the unread body would otherwise be parsed as the next request
            raise PayloadTooLargeError(f"the body is {length} bytes; at most {self.server.max_body_bytes} are accepted")
        return self.rfile.read(length)

    def _discard_body(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and int(length) <= self.server.max_body_bytes:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _send_error(self, error: ImageTaggerError, runtime_api: bool) -> None:
        message = str(error)
        logger.info("rejected request: %s", message)
        if not runtime_api:
            self._send_json(error.status_code, {"message": message})
            return
        original = json.dumps({"message": message})
        document = {
            "message": f'Received client error ({error.status_code}) from primary with message "{original}".',
            "OriginalStatusCode": error.status_code,
            "OriginalMessage": original,
        }
        self._send_json(HTTPStatus.FAILED_DEPENDENCY, document, {"x-amzn-ErrorType": "ModelError"})

    def _send_json(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(document).encode(), handler.JSON, headers)

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if self.path.startswith("/endpoints/"):
            self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        logger.debug("%s %s", self.address_string(), format % args)


@dataclass
class RunningEndpoint:
    """An endpoint served from a background thread of this process (tests, benchmarks)."""

    server: EndpointHTTPServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_endpoint(
    model: TaggingModel | str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> RunningEndpoint:
    """Serve `model` (or the model in that folder) in a daemon thread; port 0 picks a free port."""
    loaded = model if isinstance(model, TaggingModel) else handler.model_fn(str(model))
    server = EndpointHTTPServer((host, port), loaded, max_body_bytes)
    thread = threading.Thread(target=server.serve_forever, name="endpoint", daemon=True)
    thread.start()
    return RunningEndpoint(server, thread)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Local SageMaker-compatible imagetagger endpoint (ONNX Runtime).")
    parser.add_argument("--model-dir", type=Path, default=Path("models/default"), help="folder with model.onnx")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    model = handler.model_fn(str(args.model_dir))
    server = EndpointHTTPServer((args.host, args.port), model, args.max_body_bytes)
    logger.info(
        "serving %s with %s on http://%s:%d (ready %.2f s after start)",
        model.spec.model_version,
        model.backend.name,
        args.host,
        server.server_address[1],
        time.perf_counter() - started,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
