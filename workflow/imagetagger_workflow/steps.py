"""The state machines' own steps as functions of their input and their settings; the Lambda handlers (handlers.py)
only build the clients and call these.

Settings are environment variables template.yaml sets on each step's function (`StepSettings.from_env`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imagetagger.model_registry import ModelRegistry, ModelStatus, ModelVersion
from imagetagger_workflow.aws_prepare import PrepareConfig
from imagetagger_workflow.gate import decide


@dataclass(frozen=True)
class StepSettings:
    artifact_bucket: str | None  # PrepareData's: where runs and datasets live
    poll_seconds: int  # how often the state machine polls the endpoint's status
    test_fraction: float  # the share of the examples held out for the gate
    min_gain: float  # Decide's: test mAP the candidate must gain over the serving model

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> StepSettings:
        return cls(
            artifact_bucket=environ.get("ARTIFACT_BUCKET"),
            poll_seconds=int(environ.get("ENDPOINT_POLL_SECONDS", "60")),
            test_fraction=float(environ.get("TEST_FRACTION", "0.2")),
            min_gain=float(environ.get("MIN_GAIN", "0")),
        )

    def prepare_config(self, upload_bucket: str) -> PrepareConfig:
        if not self.artifact_bucket:
            raise KeyError("ARTIFACT_BUCKET")  # the PrepareData function's template entry sets it
        return PrepareConfig(
            artifact_bucket=self.artifact_bucket,
            upload_bucket=upload_bucket,
            poll_seconds=self.poll_seconds,
            test_fraction=self.test_fraction,
        )


def read_comparison(s3: Any, evaluation_s3_uri: str) -> dict[str, Any]:
    """comparison.json of the Evaluate job's output folder."""
    bucket, _, prefix = evaluation_s3_uri.removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/comparison.json")["Body"].read()
    return dict(json.loads(body))


def gate(comparison: dict[str, Any], min_gain: float) -> dict[str, Any]:
    """Decide's output: promote or not, why, and the figures both models were judged on."""
    decision = decide(comparison["candidate"], comparison["production"], min_gain=min_gain)
    return {
        "promote": decision.promote,
        "reason": decision.reason,
        "candidate_version": comparison["candidate"]["model_version"],
        "metrics": {"candidate": comparison["candidate"], "production": comparison["production"]},
    }


def record_outcome(event: dict[str, Any], registry: ModelRegistry) -> dict[str, Any]:
    """The outcome in the model registry: PROMOTED -> serving, REFUSED -> with the reason, FAILED -> with the cause."""
    outcome = event["outcome"]
    state = event.get("input", event)  # FAILED passes the whole state; the others pass the parts
    decision = state.get("decision") or {}
    version = decision.get("candidate_version")
    run = (state.get("prepared") or {}).get("run") or state.get("run") or {}
    if not version:
        return {"recorded": False, "outcome": outcome}
    metrics = {"test": (decision.get("metrics") or {}).get("candidate", {})}
    run_id = (state.get("prepared") or {}).get("run", {}).get("run_id") or (state.get("run") or {}).get("run_id", "")
    # The servable archive (model + code/) once Evaluate wrote it; the next run stages it as the production model.
    artifact = f"{run['serving_s3_uri']}model.tar.gz" if run.get("serving_s3_uri") else ""
    if outcome == "PROMOTED":
        registry.promote(ModelVersion(version, ModelStatus.SERVING, metrics, artifact, decision["reason"], run_id))
    else:
        status = ModelStatus.REFUSED if outcome == "REFUSED" else ModelStatus.FAILED
        reason = (
            decision.get("reason", "") if outcome == "REFUSED" else str((state.get("error") or {}).get("Cause", ""))
        )
        registry.record(ModelVersion(version, status, metrics, artifact, reason[:1000], run_id))
    return {"recorded": True, "outcome": outcome, "model_version": version}
