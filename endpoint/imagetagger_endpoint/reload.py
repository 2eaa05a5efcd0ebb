"""Local model promotion: `POST /admin/reload {"model_dir": ...}` loads a new model next to the serving one, then
swaps it in with one attribute assignment.

Requests already running keep the model object they started with, requests arriving later get the new one, so a
promotion drops nothing. A model that fails to load is reported (400) and the old one keeps serving. Only loopback
clients may call it: it is the local stack's stand-in for SageMaker's UpdateEndpoint, not part of the container
contract (SageMaker forwards only /ping and /invocations to a container).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from pathlib import Path
from typing import Any, Protocol

from imagetagger.errors import ImageTaggerError, InvalidRequestError
from imagetagger_endpoint import handler
from imagetagger_endpoint.handler import TaggingModel

logger = logging.getLogger(__name__)

RELOAD_PATH = "/admin/reload"


class ForbiddenError(ImageTaggerError):
    status_code = 403


class ServesModel(Protocol):
    model: TaggingModel


def reload_model(server: ServesModel, body: bytes, client_host: str) -> dict[str, Any]:
    """Load the model folder named in `body` and make it the one `server` serves; returns both versions."""
    if not ipaddress.ip_address(client_host).is_loopback:
        raise ForbiddenError("model reload is only accepted from this machine")
    try:
        document = json.loads(body or b"{}")
        model_dir = Path(document["model_dir"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequestError('the body must be JSON {"model_dir": "<folder with model.onnx>"}') from exc
    missing = [name for name in ("model.onnx", "model.json") if not (model_dir / name).is_file()]
    if missing:
        raise InvalidRequestError(f"{model_dir} lacks {', '.join(missing)}")
    try:
        new_model = handler.model_fn(str(model_dir))
    except Exception as exc:  # any load failure leaves the serving model in place
        logger.exception("model reload from %s failed", model_dir)
        raise InvalidRequestError(f"the model in {model_dir} could not be loaded: {exc}") from exc
    previous = server.model.spec.model_version
    server.model = new_model  # atomic: each request reads the attribute once
    logger.info("now serving %s (was %s)", new_model.spec.model_version, previous)
    return {"model_version": new_model.spec.model_version, "previous_model_version": previous}
