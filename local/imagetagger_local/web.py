"""Serve frontend/web/ as S3 + CloudFront would, plus the config.json the page reads its settings from.

config.json is written under the state directory at start (not into frontend/web/), so two stacks on different ports
never overwrite each other's settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.wrappers import Request, Response


def write_web_config(path: Path, api_url: str, max_upload_bytes: int) -> dict[str, Any]:
    config = {
        "apiBaseUrl": api_url,
        "authMode": "local",
        "localTokenUrl": f"{api_url}/local/token",
        "maxUploadBytes": max_upload_bytes,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return config


class _ConfigAndIndex:
    def __init__(self, config_path: Path) -> None:
        self._config_path = config_path

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/config.json":
            response = Response(self._config_path.read_bytes(), content_type="application/json")
            response.headers["Cache-Control"] = "no-store"
        else:
            response = Response("Not Found", status=404, content_type="text/plain")
        return response(environ, start_response)


def web_app(web_dir: Path, config_path: Path) -> Any:
    """Static files from `web_dir` (index.html for "/"), /config.json from `config_path`."""
    fallback = _ConfigAndIndex(config_path)
    static = SharedDataMiddleware(fallback, {"/": str(web_dir)}, cache=False)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "/")
        if path == "/config.json":
            return fallback(environ, start_response)
        if path.endswith("/"):
            environ = {**environ, "PATH_INFO": path + "index.html"}
        return static(environ, start_response)

    return app
