"""Where the local stack listens and keeps its state. Defaults are the ports in docs/architecture.md."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "imagetagger-local"
REGION = "us-east-1"
# moto accepts any credentials; the S3 gateway checks presigned POST signatures against exactly these.
ACCESS_KEY_ID = "testing"
# A fixed local-only credential, like moto's own default.
SECRET_ACCESS_KEY = "testing"  # noqa: S105  # nosec B105
JWT_ISSUER = "imagetagger-local"
JWT_AUDIENCE = "imagetagger-local-web"


def default_state_dir() -> Path:
    return Path(os.environ.get("IMAGETAGGER_STATE_DIR", REPO_ROOT / ".local"))


@dataclass(frozen=True)
class Ports:
    moto: int = 5000
    s3: int = 9000
    endpoint: int = 8080
    api: int = 3000
    web: int = 8000


@dataclass(frozen=True)
class LocalConfig:
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    state_dir: Path = field(default_factory=default_state_dir)
    model_dir: Path = REPO_ROOT / "models" / "default"
    template_path: Path = REPO_ROOT / "template.yaml"
    web_dir: Path = REPO_ROOT / "frontend" / "web"
    snapshot_interval_s: float = 10.0
    # Lambda's SQS event source retries a failed message after its visibility timeout; locally we retry sooner,
    # with exponential backoff capped here, so failures reach the DLQ in seconds rather than minutes.
    max_retry_delay_s: int = 8

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def moto_url(self) -> str:
        return self.url(self.ports.moto)

    @property
    def s3_url(self) -> str:
        return self.url(self.ports.s3)

    @property
    def endpoint_url(self) -> str:
        return self.url(self.ports.endpoint)

    @property
    def api_url(self) -> str:
        return self.url(self.ports.api)

    @property
    def web_url(self) -> str:
        return self.url(self.ports.web)

    @property
    def web_origins(self) -> list[str]:
        """The origins the web page is served from: what CORS must allow."""
        return [self.web_url, f"http://localhost:{self.ports.web}"]

    @property
    def jwt_dir(self) -> Path:
        return self.state_dir / "jwt"

    @property
    def snapshot_dir(self) -> Path:
        return self.state_dir / "state"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS considers free right now (for tests that run a second stack next to a developer's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def aws_client_env(config: LocalConfig) -> dict[str, str]:
    """Environment every in-process handler and boto3 client sees: fake credentials, local endpoints."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # moto answers DynamoDB and SQS; S3 goes through the gateway so presigned URLs point at it.
        "AWS_ENDPOINT_URL": config.moto_url,
        "AWS_ENDPOINT_URL_S3": config.s3_url,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": config.endpoint_url,
    }
