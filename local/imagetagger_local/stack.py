"""Start and stop the whole local stack in order; `imagetagger up` and the e2e tests drive this."""

from __future__ import annotations

import faulthandler
import logging
import os
import subprocess  # nosec B404 - starts our own endpoint module, no shell, no user input
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from imagetagger_local.api_gateway import ApiGatewayEmulator
from imagetagger_local.cfn import StackResources, create_stack_resources
from imagetagger_local.config import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    STACK_NAME,
    LocalConfig,
    aws_client_env,
    port_is_free,
)
from imagetagger_local.gc_tuning import collect_less_often
from imagetagger_local.lambda_runtime import LocalFunction
from imagetagger_local.persistence import PeriodicSnapshots, StateStore
from imagetagger_local.s3_gateway import S3Gateway
from imagetagger_local.servers import BackgroundServer, wait_until_up
from imagetagger_local.template import function_specs, http_api_cors, http_routes, load_template, queue_sources
from imagetagger_local.tokens import TokenVerifier, issue_token
from imagetagger_local.web import web_app, write_web_config
from imagetagger_local.worker import QueueWorker

logger = logging.getLogger(__name__)
ENDPOINT_START_TIMEOUT_S = 120
MOTO_START_TIMEOUT_S = 60  # its imports, on a busy 2-core machine


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# Concurrent invocations per function, sized for this machine (Lambda's are bounded by the account and ScalingConfig).
# HTTP functions mostly wait on moto and the endpoint, so a few more environments than cores keep reads answering
# while a slow request runs. A processing batch alternates decoding (CPU) with waiting on the endpoint, whose
# inference is serialised: two batches per core in flight overlap the one with the other; more only queue for the
# same cores (measured: docs/benchmark.md, "System overhead").
HTTP_CONCURRENCY = max(4, 2 * usable_cpus())
QUEUE_CONCURRENCY = max(2, usable_cpus())
STOP_STACK_DUMP_AFTER_S = 40


class StackStartError(RuntimeError):
    """The stack cannot start (port taken, model missing, a service did not come up); the message says why."""


class LocalStack:
    def __init__(self, config: LocalConfig, say: Callable[[str], None] = print) -> None:
        self.config = config
        self._say = say
        self._stop_actions: list[tuple[str, Callable[[], None]]] = []
        self.resources: StackResources | None = None  # set once the resources exist

    # --------------------------------------------------------------------------------------------- start
    def start(self) -> None:
        """Bring every part up; the API comes last, so a 200 from /health means the whole stack is ready."""
        try:
            self._check_prerequisites()
            os.environ.update(aws_client_env(self.config))
            # X-Ray has no daemon here; Powertools would only warn on every invocation.
            os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
            self._start_moto()
            template = load_template(self.config.template_path)
            self.resources = resources = self._create_resources()
            endpoint = self._start_endpoint()
            store = self._restore_state(template, resources)
            self._serve(
                "s3-gateway",
                self.config.ports.s3,
                S3Gateway(self.config.moto_url, {ACCESS_KEY_ID: SECRET_ACCESS_KEY}, REGION),
            )
            functions = self._load_functions(template, resources)
            requeued = store.reconcile(
                resources.physical_ids["ImagesTable"],
                resources.bucket,
                self._client("sqs"),
                resources.queue_url,
            )
            if requeued:
                self._say(f"re-queued {requeued} image(s) still PENDING from the previous run")
            self._start_workers(template, functions, resources)
            try:
                wait_until_up(
                    f"{self.config.endpoint_url}/ping", ENDPOINT_START_TIMEOUT_S, lambda: endpoint.poll() is None
                )
            except (RuntimeError, TimeoutError) as exc:
                log = self.config.state_dir / "logs" / "endpoint.log"
                raise StackStartError(f"the model endpoint did not start ({exc}); see {log}") from exc
            config_path = self.config.state_dir / "web" / "config.json"
            write_web_config(config_path, self.config.api_url, int(resources.environment["MAX_UPLOAD_BYTES"]))
            self._serve("web", self.config.ports.web, web_app(self.config.web_dir, config_path))
            api = ApiGatewayEmulator(
                http_routes(template),
                functions,
                TokenVerifier(self.config.jwt_dir),
                self.config.web_origins,
                lambda user: issue_token(self.config.jwt_dir, user),
                http_api_cors(template),
            )
            collect_less_often()  # this process serves the gateways and the workers from here on
            self._serve("api", self.config.ports.api, api)
        except BaseException:
            self.stop()
            raise

    def _check_prerequisites(self) -> None:
        missing = [name for name in ("model.onnx", "model.json") if not (self.config.model_dir / name).exists()]
        if missing:
            raise StackStartError(f"the model in {self.config.model_dir} lacks {', '.join(missing)}; run `make model`")
        if not self.config.template_path.exists():
            raise StackStartError(f"{self.config.template_path} not found")
        ports = self.config.ports
        taken = [f"{name} {port}" for name, port in vars(ports).items() if not port_is_free(self.config.host, port)]
        if taken:
            raise StackStartError(f"port(s) already in use: {', '.join(taken)} (is another `make up` running?)")
        self.config.state_dir.mkdir(parents=True, exist_ok=True)

    def _client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.config.moto_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def _start_moto(self) -> None:
        """moto in a process of its own (imagetagger_local.moto_server: it no longer shares this one's GIL)."""
        command = ["-m", "imagetagger_local.moto_server", "--host", self.config.host]
        moto = self._start_process("moto", [*command, "--port", str(self.config.ports.moto)])
        try:
            wait_until_up(f"{self.config.moto_url}/moto-api/", MOTO_START_TIMEOUT_S, lambda: moto.poll() is None)
        except (RuntimeError, TimeoutError) as exc:
            log = self.config.state_dir / "logs" / "moto.log"
            raise StackStartError(f"moto did not start ({exc}); see {log}") from exc

    def _create_resources(self) -> StackResources:
        return create_stack_resources(
            STACK_NAME,
            template_path=self.config.template_path,
            parameters={"AllowedOrigins": ",".join(self.config.web_origins), "Stage": "dev"},
            session=boto3.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY),
            endpoint_url=self.config.moto_url,
            region=REGION,
        )

    def _restore_state(self, template: dict[str, Any], resources: StackResources) -> StateStore:
        store = StateStore.for_stack(
            self.config.snapshot_dir,
            self._client("s3"),
            self._client("dynamodb"),
            template,
            resources.physical_ids,
        )
        counts = store.restore()
        if counts["items"] or counts["objects"]:
            self._say(
                f"restored {counts['items']} records and {counts['objects']} objects from {self.config.snapshot_dir}"
            )
        snapshots = PeriodicSnapshots(store, self.config.snapshot_interval_s)
        snapshots.start()
        self._stop_actions.append(("final snapshot", snapshots.stop))
        return store

    def _start_endpoint(self) -> subprocess.Popen[bytes]:
        command = ["-m", "imagetagger_endpoint.server", "--model-dir", str(self.config.model_dir)]
        command += ["--host", self.config.host, "--port", str(self.config.ports.endpoint)]
        return self._start_process("endpoint", command)

    def _start_process(self, name: str, python_args: list[str]) -> subprocess.Popen[bytes]:
        """A Python module of ours in a child process, its output in logs/NAME.log, stopped with the stack."""
        log_path = self.config.state_dir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603  # nosec B603
                [sys.executable, *python_args], stdout=log, stderr=subprocess.STDOUT
            )

        def stop_process() -> None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

        self._stop_actions.append((name, stop_process))
        return process

    def _load_functions(self, template: dict[str, Any], resources: StackResources) -> dict[str, LocalFunction]:
        """The functions something here invokes (routes, queues; the workflow's steps run only in AWS), each with its
        first execution environment; they start in parallel (each imports its handler in a process of its own)."""
        bounds = {source.function: min(source.max_concurrency, QUEUE_CONCURRENCY) for source in queue_sources(template)}
        bounds |= {route.function: HTTP_CONCURRENCY for route in http_routes(template)}
        specs = function_specs(template, self.config.template_path.parent)
        with ThreadPoolExecutor(max_workers=len(bounds) or 1) as pool:
            loading = {
                logical_id: pool.submit(LocalFunction, specs[logical_id], resources.environment, bound)
                for logical_id, bound in bounds.items()
            }
        functions = {}
        for logical_id, future in loading.items():
            if future.exception() is None:
                self._stop_actions.append((f"function {logical_id}", future.result().close))
        for logical_id, future in loading.items():
            functions[logical_id] = future.result()  # raises the first import error, the started ones are stopped
        return functions

    def _start_workers(
        self, template: dict[str, Any], functions: dict[str, LocalFunction], resources: StackResources
    ) -> None:
        for source in queue_sources(template):
            worker = QueueWorker(
                self._client("sqs"),
                resources.physical_ids[source.queue_logical_id],
                resources.arns[source.queue_logical_id],
                functions[source.function],
                source.batch_size,
                source.partial_batch_failures,
                self.config.max_retry_delay_s,
                concurrency=functions[source.function].max_concurrency,
                batching_window_s=source.batching_window_s,
            )
            worker.start()
            self._stop_actions.append((f"queue worker {source.function}", worker.stop))

    def _serve(self, name: str, port: int, app: Any) -> None:
        server = BackgroundServer(name, self.config.host, port, app)
        server.start()
        self._stop_actions.append((name, server.stop))

    # --------------------------------------------------------------------------------------------- stop
    def stop(self) -> None:
        """Stop in reverse order: the API first (no new work), the final snapshot before moto goes away."""
        # A stop that hangs leaves every thread's stack in the log, so the cause is visible (the e2e restart tests
        # and a service manager give up after a minute).
        faulthandler.dump_traceback_later(STOP_STACK_DUMP_AFTER_S, exit=False)
        try:
            while self._stop_actions:
                name, action = self._stop_actions.pop()
                started = time.monotonic()
                try:
                    action()
                except Exception:
                    logger.exception("error while stopping %s", name)
                logger.info("stopped %s in %.1f s", name, time.monotonic() - started)
        finally:
            faulthandler.cancel_dump_traceback_later()

    def urls(self) -> dict[str, Path | str]:
        return {
            "Web page": self.config.web_url,
            "API": self.config.api_url,
            "S3 (presigned POST gateway)": self.config.s3_url,
            "Model endpoint": self.config.endpoint_url,
            "moto (S3/SQS/DynamoDB)": self.config.moto_url,
            "State": self.config.state_dir,
        }
