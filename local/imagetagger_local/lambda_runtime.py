"""Run a template function's handler like Lambda does: concurrent invocations, each in an execution environment
(a process of its own) that imports the handler once and runs one invocation at a time.

Processes, not threads, because handlers keep per-invocation state in process globals: Powertools' resolver stores the
current event on a class attribute shared by every router, and the batch processor and metrics live in module
globals, so two invocations in one process could mix one user's request into another's. Environments are spawned on
demand up to `max_concurrency` (a cold start, as in Lambda; the first is started with the function so an import error
shows at start-up), kept warm, and replaced when one dies. An invocation that outlives the function's timeout is
killed with its environment, as Lambda does.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import ModuleType
from typing import Any

from imagetagger_local.config import REGION
from imagetagger_local.gc_tuning import collect_less_often
from imagetagger_local.template import FunctionSpec

logger = logging.getLogger(__name__)
ACCOUNT_ID = "123456789012"
START_TIMEOUT_S = 120  # imports on a busy 2-core machine
# Spawned, not forked: the stack process runs moto's and the servers' threads, which a fork would copy mid-flight.
_CONTEXT = multiprocessing.get_context("spawn")


class FunctionError(RuntimeError):
    """The handler raised, timed out or its environment died; the message says which (as Lambda's error payload)."""


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


def import_handler(spec: FunctionSpec) -> Callable[[dict[str, Any], LambdaContext], Any]:
    module_name, _, function_name = spec.handler.rpartition(".")
    path = spec.code_dir / (module_name.replace(".", "/") + ".py")
    unique_name = f"imagetagger_local_functions.{spec.logical_id}.{module_name}"
    import_spec = importlib.util.spec_from_file_location(unique_name, path)
    if import_spec is None or import_spec.loader is None:
        raise ImportError(f"cannot load handler module {path}")
    module: ModuleType = importlib.util.module_from_spec(import_spec)
    # Lambda puts the function's code directory first on the path, so helpers next to app.py import as in AWS.
    sys.path.insert(0, str(spec.code_dir))
    try:
        sys.modules[unique_name] = module
        import_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.code_dir))
    handler: Callable[[dict[str, Any], LambdaContext], Any] = getattr(module, function_name)
    return handler


def _serve(connection: Connection, spec: FunctionSpec, environment: dict[str, str], name: str) -> None:
    """An execution environment's main loop: import once, then one invocation per message until the pipe closes."""
    # A Ctrl-C in the terminal reaches the whole process group; the stack stops its environments itself, after the
    # invocations in flight (as Lambda's runtime, not a signal, ends an execution environment).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(environment)
    try:
        handler = import_handler(spec)
    except BaseException as exc:
        connection.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        return
    collect_less_often()  # a local-runtime setting: the handler cannot tell, Lambda's own collector is Python's
    connection.send(("ready", None))
    while True:
        try:
            event = connection.recv()
        except (EOFError, OSError):
            return
        try:
            result = handler(event, LambdaContext(name, spec.memory_mb, spec.timeout_s))
            connection.send(("ok", result))
        except Exception as exc:
            connection.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


class _Environment:
    def __init__(self, spec: FunctionSpec, environment: dict[str, str], name: str) -> None:
        self._connection, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(
            target=_serve, args=(child, spec, environment, name), name=f"lambda-{spec.logical_id}", daemon=True
        )
        self.process.start()
        child.close()
        status, detail = self._receive(START_TIMEOUT_S, "start")
        if status != "ready":
            self.close()
            raise FunctionError(f"{spec.logical_id} could not start: {detail}")

    def invoke(self, event: dict[str, Any], timeout_s: float) -> Any:
        try:
            self._connection.send(event)
        except OSError as exc:  # the process died while idle (killed from outside)
            self.close()
            raise FunctionError(f"the execution environment exited (status {self.process.exitcode})") from exc
        status, payload = self._receive(timeout_s, "finish")
        if status == "error":
            raise FunctionError(payload)
        return payload

    def _receive(self, timeout_s: float, what: str) -> tuple[str, Any]:
        if not self._connection.poll(timeout_s):
            self.close()
            raise FunctionError(f"Task timed out: the invocation did not {what} within {timeout_s:.0f} s")
        try:
            message: tuple[str, Any] = self._connection.recv()
        except (EOFError, OSError) as exc:
            self.close()
            raise FunctionError(f"the execution environment exited (status {self.process.exitcode})") from exc
        return message

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def close(self) -> None:
        self._connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class LocalFunction:
    """A loaded function: `invoke(event)` runs it in a free execution environment (at most `max_concurrency` run at
    once; further invocations wait for one, as Lambda's concurrency limit throttles)."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], max_concurrency: int = 1) -> None:
        self.spec = spec
        self.name = f"imagetagger-local-{spec.logical_id}"
        self.max_concurrency = max(1, max_concurrency)
        # The stack process reads the same Globals (reconciliation, requeue); the environments get them explicitly.
        os.environ.update(environment)
        self._environment = dict(environment)
        self._idle: queue.LifoQueue[_Environment] = queue.LifoQueue()  # the warmest first, as Lambda reuses
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._lock = threading.Lock()
        self._all: list[_Environment] = []
        self._closed = False
        self._idle.put(self._start_environment())

    def _start_environment(self) -> _Environment:
        environment = _Environment(self.spec, self._environment, self.name)
        with self._lock:
            self._all.append(environment)
        return environment

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._slots:
            if self._closed:
                raise FunctionError(f"{self.spec.logical_id} is stopped")
            try:
                environment = self._idle.get_nowait()
            except queue.Empty:
                environment = self._start_environment()  # a cold start: every warm environment is busy
            try:
                # A little past the function's timeout: the handler's own deadline (context) answers first.
                return environment.invoke(event, self.spec.timeout_s + 1)
            finally:
                if environment.alive:
                    self._idle.put(environment)
                else:
                    with self._lock:
                        if environment in self._all:
                            self._all.remove(environment)

    def close(self) -> None:
        """Stop every environment (an invocation in flight fails with FunctionError)."""
        self._closed = True
        with self._lock:
            environments, self._all = self._all, []
        for environment in environments:
            environment.close()
