"""GET /models: the model versions the training workflow produced, their metrics, and which one serves."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field

from imagetagger import aws
from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.errors import ModelEndpointError
from imagetagger.model_registry import ModelRegistry
from imagetagger.services import services

router = Router()


class ModelVersionOut(BaseModel):
    model_version: str
    status: Literal["SERVING", "RETIRED", "REFUSED", "FAILED"]
    serving: bool = Field(description="True for the version the endpoint serves now")
    metrics: dict[str, Any] = Field(description="Evaluation figures by split, e.g. {'test': {'mAP': 61.2}}")
    reason: str | None = Field(description="Why a version was refused or failed")
    run_id: str | None = Field(description="The training workflow run that produced it")
    created_at: str
    updated_at: str


class ModelList(BaseModel):
    models: list[ModelVersionOut]
    serving: str | None = Field(description="The serving model version, if the registry knows one")


def registry() -> ModelRegistry:
    table = services().settings.models_table
    if not table:
        # A deployment without the registry table is misconfigured; say so rather than answer a 500.
        raise ModelEndpointError("the model registry is not configured in this deployment")
    return ModelRegistry.from_name(aws.dynamodb_resource(), table)


@router.get(
    "/models", summary="Model versions with their metrics; which one serves", tags=["models"], security=SECURITY
)
def list_models() -> ModelList:
    user_id_from_event(router.current_event.raw_event)
    versions = registry().list_versions()
    models = [ModelVersionOut.model_validate(v.to_api()) for v in versions]
    serving = next((m.model_version for m in models if m.serving), None)
    return ModelList(models=models, serving=serving)
