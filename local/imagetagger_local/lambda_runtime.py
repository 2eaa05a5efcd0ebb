"""Run a template function's handler in this process, one invocation at a time, like one warm Lambda container."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from imagetagger_local.config import REGION
from imagetagger_local.template import FunctionSpec

ACCOUNT_ID = "123456789012"


@dataclass
class LambdaContext:
    """The attributes of the Lambda runtime's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """A loaded handler. Invocations are serialised because handlers keep per-invocation state in module globals
    (the Powertools resolver's current event, metrics): running two at once could mix one user's request into another's.
    """

    def __init__(self, spec: FunctionSpec, environment: dict[str, str]) -> None:
        self.spec = spec
        self.name = f"imagetagger-local-{spec.logical_id}"
        self._lock = threading.Lock()
        module_name, _, function_name = spec.handler.rpartition(".")
        # All functions share this process, hence one environment: the template's Globals, which they all read.
        os.environ.update(environment)
        module = self._import(module_name)
        self._handler: Callable[[dict[str, Any], LambdaContext], Any] = getattr(module, function_name)

    def _import(self, module_name: str) -> ModuleType:
        path = self.spec.code_dir / (module_name.replace(".", "/") + ".py")
        unique_name = f"imagetagger_local_functions.{self.spec.logical_id}.{module_name}"
        import_spec = importlib.util.spec_from_file_location(unique_name, path)
        if import_spec is None or import_spec.loader is None:
            raise ImportError(f"cannot load handler module {path}")
        module = importlib.util.module_from_spec(import_spec)
        # Lambda puts the function's code directory first on the path, so helpers next to app.py import as in AWS.
        sys.path.insert(0, str(self.spec.code_dir))
        try:
            sys.modules[unique_name] = module
            import_spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(self.spec.code_dir))
        return module

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            context = LambdaContext(self.name, self.spec.memory_mb, self.spec.timeout_s)
            return self._handler(event, context)
