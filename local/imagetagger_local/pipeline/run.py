"""`imagetagger pipeline run`: the state machine's steps against the local stack.

prepare (manifests) -> train (the real training code, on CPU, in a subprocess) -> evaluate (candidate and serving model
on the same test manifest) -> gate -> promote (copy into the stack's models folder, hot-swap the endpoint, registry) or
refuse (registry, with the reason) -> outcome.json. Any step failing records a FAILED outcome with the step and reason;
the serving model is never touched unless the gate passed and the new model loaded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imagetagger.errors import NotFoundError
from imagetagger.model_registry import ModelStatus, ModelVersion
from imagetagger.modelspec import load_model_spec
from imagetagger_local.pipeline.prepare import prepare
from imagetagger_local.pipeline.target import LocalTarget
from imagetagger_workflow.gate import decide

# A cheap head-recipe configuration: one view, few folds. `--train-arg` overrides any of it.
DEFAULT_TRAIN_ARGS = ("--recipe", "head", "--views", "1", "--folds", "3", "--epochs", "40", "--loss", "asymmetric")


class StepFailedError(RuntimeError):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step} failed: {reason}")
        self.step, self.reason = step, reason


@dataclass
class PipelineOptions:
    coco_dir: Path
    runs_dir: Path
    serving_model_dir: Path  # the model the endpoint serves now, when the registry does not know it yet
    test_fraction: float = 0.2
    seed: int = 0
    max_train_images: int | None = None
    train_args: list[str] = field(default_factory=list)
    min_gain: float = 0.0
    train_timeout_s: int = 3600


@dataclass
class Outcome:
    run_id: str
    status: str  # PROMOTED, REFUSED or FAILED
    reason: str
    candidate_version: str | None = None
    serving_version: str | None = None
    comparison: dict[str, Any] | None = None
    counts: dict[str, int] | None = None
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def run_pipeline(target: LocalTarget, options: PipelineOptions, say: Callable[[str], None] = print) -> Outcome:
    run_id = time.strftime("run-%Y%m%d-%H%M%S", time.gmtime())
    run_dir = options.runs_dir / run_id
    outcome = Outcome(run_id=run_id, status="FAILED", reason="")
    step = "prepare"
    try:
        say(f"[{run_id}] prepare: COCO sample + corrections -> manifests")
        data = prepare(
            target, options.coco_dir, run_dir / "data", options.test_fraction, options.seed, options.max_train_images
        )
        outcome.counts = data.counts
        outcome.steps.append(step)

        step = "train"
        say(f"[{run_id}] train: {data.counts['train']} images (test: {data.counts['test']})")
        candidate_dir = train(data.train_manifest, run_dir, options)
        outcome.candidate_version = load_model_spec(candidate_dir).model_version
        outcome.steps.append(step)

        step = "evaluate"
        serving_dir = serving_model_dir(target, options)
        say(f"[{run_id}] evaluate: {outcome.candidate_version} vs serving {load_model_spec(serving_dir).model_version}")
        from imagetagger_workflow.evaluation import compare  # torch: imported when the step runs

        comparison = compare(candidate_dir, serving_dir, data.test_manifest)
        (run_dir / "comparison.json").write_text(json.dumps(comparison, indent=1) + "\n")
        outcome.comparison = comparison
        outcome.steps.append(step)

        ensure_serving_registered(target, serving_dir, comparison["production"], run_id)
        decision = decide(comparison["candidate"], comparison["production"], min_gain=options.min_gain)
        outcome.reason = decision.reason
        candidate = ModelVersion(
            model_version=outcome.candidate_version,
            status=ModelStatus.REFUSED,
            metrics={"test": comparison["candidate"]},
            reason=decision.reason,
            run_id=run_id,
        )
        if decision.promote:
            step = "promote"
            say(f"[{run_id}] promote: {decision.reason}")
            promote(target, candidate_dir, candidate)
            outcome.status = "PROMOTED"
        else:
            say(f"[{run_id}] refuse: {decision.reason}")
            target.registry.record(candidate)
            outcome.status = "REFUSED"
        outcome.steps.append(step if decision.promote else "refuse")
    except StepFailedError as exc:
        outcome.reason = str(exc)
        _record_failure(target, outcome)
    except Exception as exc:  # any other failure is reported as this step's, with its message
        outcome.reason = f"{step} failed: {type(exc).__name__}: {exc}"
        _record_failure(target, outcome)
    outcome.serving_version = target.serving_version()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "outcome.json").write_text(json.dumps(outcome.to_dict(), indent=1) + "\n")
    say(f"[{run_id}] {outcome.status}: {outcome.reason} (serving: {outcome.serving_version})")
    return outcome


def train(train_manifest: Path, run_dir: Path, options: PipelineOptions) -> Path:
    """Run `imagetagger train` (the real training code) on the manifest; returns the exported model folder."""
    out_dir = run_dir / "candidate"
    command = [
        sys.executable, "-m", "imagetagger_cli.main", "train",
        *DEFAULT_TRAIN_ARGS,
        "--annotations", str(train_manifest),
        "--images", str(train_manifest.parent),  # unused for a .jsonl manifest; the head recipe wants a folder
        "--output-dir", str(out_dir),
        "--seed", str(options.seed),
        *options.train_args,
    ]  # fmt: skip
    log_path = run_dir / "train.log"
    with log_path.open("wb") as log:
        try:
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=options.train_timeout_s)  # noqa: S603
        except subprocess.TimeoutExpired as exc:
            raise StepFailedError("train", f"no model after {options.train_timeout_s} s (log: {log_path})") from exc
    if result.returncode != 0 or not (out_dir / "model.onnx").exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise StepFailedError("train", f"exit {result.returncode}: {' | '.join(tail)} (log: {log_path})")
    return out_dir


def serving_model_dir(target: LocalTarget, options: PipelineOptions) -> Path:
    """The folder of the model the endpoint serves: the registry's artifact for that version, else the stack's own."""
    version = target.serving_version()
    try:
        known = target.registry.get(version)
    except NotFoundError:  # not registered yet: the folder the stack was started with
        known = None
    if known is not None and known.artifact and Path(known.artifact).is_dir():
        return Path(known.artifact)
    if load_model_spec(options.serving_model_dir).model_version != version:
        raise StepFailedError(
            "evaluate",
            f"the endpoint serves {version}, which is neither registered nor in {options.serving_model_dir}; "
            "pass --serving-model-dir",
        )
    return options.serving_model_dir


def ensure_serving_registered(
    target: LocalTarget, serving_dir: Path, test_metrics: dict[str, Any], run_id: str
) -> None:
    """The first run registers the model the stack started with, so GET /models shows which one serves."""
    if target.registry.serving() is None:
        spec = load_model_spec(serving_dir)
        target.registry.promote(
            ModelVersion(
                spec.model_version,
                ModelStatus.SERVING,
                {**spec.metrics, "test": test_metrics},
                str(serving_dir),
                run_id=run_id,
            )
        )


def promote(target: LocalTarget, candidate_dir: Path, candidate: ModelVersion) -> None:
    """Copy the model next to the stack's others, hot-swap the endpoint, then record it as serving."""
    destination = target.models_dir / candidate.model_version
    if not destination.exists():
        staging = destination.with_name(destination.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(candidate_dir, staging, ignore=shutil.ignore_patterns("checkpoint.pt", "*.log"))
        staging.rename(destination)  # a folder either is complete or does not exist
    answer = target.reload_endpoint(destination)
    if answer.get("model_version") != candidate.model_version:
        raise StepFailedError("promote", f"the endpoint reports {answer.get('model_version')} after the reload")
    serving = ModelVersion(**{**vars(candidate), "status": ModelStatus.SERVING, "artifact": str(destination)})
    target.registry.promote(serving)
    (target.models_dir / "serving.json").write_text(json.dumps({"model_dir": str(destination)}) + "\n")


def _record_failure(target: LocalTarget, outcome: Outcome) -> None:
    outcome.status = "FAILED"
    if outcome.candidate_version:
        target.registry.record(
            ModelVersion(outcome.candidate_version, ModelStatus.FAILED, reason=outcome.reason, run_id=outcome.run_id)
        )
