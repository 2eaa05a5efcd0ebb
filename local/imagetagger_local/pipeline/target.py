"""The running local stack as the workflow sees it: moto's tables and bucket, the endpoint, promoted models' folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.exceptions import EndpointConnectionError

from imagetagger.correction_store import CorrectionStore
from imagetagger.model_registry import ModelRegistry


class StackNotRunningError(RuntimeError):
    """The local stack (`make up`) does not answer; the message says which part and how to start it."""


@dataclass
class LocalTarget:
    moto_url: str
    endpoint_url: str
    state_dir: Path
    images_table: str
    models_table: str
    bucket: str
    environment: dict[str, str] = field(default_factory=dict)  # what template.yaml's Globals give the functions
    region: str = "us-east-1"

    @classmethod
    def connect(cls, moto_url: str, endpoint_url: str, state_dir: Path) -> LocalTarget:
        """Find the stack's resources (template.yaml's names, created by `imagetagger up`) behind a running moto."""
        from imagetagger_local.cfn import create_stack_resources
        from imagetagger_local.config import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, STACK_NAME

        try:
            requests.get(f"{endpoint_url}/ping", timeout=5).raise_for_status()
        except requests.RequestException as exc:
            raise StackNotRunningError(f"the model endpoint at {endpoint_url} does not answer; run `make up`") from exc
        session = boto3.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)
        try:
            # Creation is idempotent: against a running stack this only looks the names up.
            resources = create_stack_resources(STACK_NAME, session=session, endpoint_url=moto_url, region=REGION)
        except EndpointConnectionError as exc:
            raise StackNotRunningError(f"moto at {moto_url} does not answer; run `make up`") from exc
        return cls(
            moto_url=moto_url,
            endpoint_url=endpoint_url,
            state_dir=state_dir,
            images_table=resources.physical_ids["ImagesTable"],
            models_table=resources.physical_ids["ModelsTable"],
            bucket=resources.bucket,
            environment=resources.environment,
            region=REGION,
        )

    def client(self, service: str) -> Any:
        from imagetagger_local.config import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def table(self, name: str) -> Any:
        from imagetagger_local.config import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

        dynamodb = boto3.resource(
            "dynamodb",
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )
        return dynamodb.Table(name)

    @property
    def corrections(self) -> CorrectionStore:
        return CorrectionStore(self.table(self.images_table))

    @property
    def images(self) -> Any:
        return self.table(self.images_table)

    @property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.table(self.models_table))

    @property
    def models_dir(self) -> Path:
        """Where promoted models are kept (the endpoint serves from here after a promotion)."""
        return self.state_dir / "models"

    def serving_version(self) -> str:
        response = requests.get(f"{self.endpoint_url}/ping", timeout=10)
        response.raise_for_status()
        return str(response.json()["model_version"])

    def reload_endpoint(self, model_dir: Path) -> dict[str, Any]:
        """Ask the local endpoint to load `model_dir` and swap it in (it keeps serving meanwhile)."""
        response = requests.post(f"{self.endpoint_url}/admin/reload", json={"model_dir": str(model_dir)}, timeout=300)
        if response.status_code != 200:
            raise RuntimeError(f"the endpoint refused the new model: {response.status_code} {response.text}")
        return response.json()


def promoted_model_dir(state_dir: Path) -> Path | None:
    """The model `imagetagger pipeline run` last promoted in this state folder, if it is still there."""
    pointer = state_dir / "models" / "serving.json"
    if not pointer.exists():
        return None
    model_dir = Path(json.loads(pointer.read_text())["model_dir"])
    return model_dir if (model_dir / "model.onnx").exists() and (model_dir / "model.json").exists() else None
