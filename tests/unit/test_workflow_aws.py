"""`imagetagger aws train` / `aws deploy` (SageMaker SDK, in .venv-aws) against moto's SageMaker and S3 in server mode:
what the SDK submits is read back from moto, so the job and endpoint configuration are checked without AWS."""

import io
import os
import subprocess
import tarfile
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from imagetagger_local.config import free_port

ROOT = Path(__file__).resolve().parents[2]
AWS_PYTHON = ROOT / ".venv-aws" / "bin" / "python"
ROLE = "arn:aws:iam::123456789012:role/imagetagger-sagemaker"

pytestmark = pytest.mark.skipif(not AWS_PYTHON.exists(), reason="SageMaker SDK venv missing (make aws-tools)")


@pytest.fixture(scope="module")
def moto_url():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _client(service, url):
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _imagetagger_aws(url, *args):
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    }
    command = [str(AWS_PYTHON), "-m", "imagetagger_cli.main", "aws", "--region", "us-east-1", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_train_submits_a_spot_job_with_checkpoints_and_the_real_training_code(moto_url):
    s3 = _client("s3", moto_url)
    s3.create_bucket(Bucket="artifacts")
    result = _imagetagger_aws(
        moto_url, "train", "--role", ROLE, "--bucket", "artifacts", "--train-uri", "s3://artifacts/runs/r1/data/train/",
        "--instance-type", "ml.g4dn.xlarge", "--job-name", "it-test-train", "--hyperparameter", "epochs=5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    job = _client("sagemaker", moto_url).describe_training_job(TrainingJobName="it-test-train")
    assert job["EnableManagedSpotTraining"] is True
    assert job["CheckpointConfig"]["S3Uri"] == "s3://artifacts/checkpoints/it-test-train"
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 14400}
    assert job["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge"
    assert job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://artifacts/runs/r1/data/train/"
    assert job["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert job["HyperParameters"]["recipe"] == '"head"' and job["HyperParameters"]["epochs"] == '"5"'
    # the uploaded source is the repository's training script with the packages it imports and pinned requirements
    archive = s3.get_object(Bucket="artifacts", Key="code/it-test-train/source/sourcedir.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = set(tar.getnames())
        requirements = tar.extractfile("requirements.txt").read().decode()
    assert {"train.py", "imagetagger_training/train.py", "imagetagger/preprocessing.py"} <= names
    # what the Evaluate job needs to pack the candidate for serving
    assert {
        "imagetagger_workflow/evaluation.py",
        "imagetagger_endpoint/packaging.py",
        "serving_code/inference.py",
    } <= names
    assert "pycocotools==" in requirements and "onnx==" in requirements


def test_train_refuses_a_spot_wait_shorter_than_the_run(moto_url):
    result = _imagetagger_aws(
        moto_url, "train", "--role", ROLE, "--bucket", "artifacts", "--train-uri", "s3://artifacts/x/",
        "--max-run", "7200", "--max-wait", "600",
    )  # fmt: skip
    assert result.returncode == 2 and "--max-wait must be at least --max-run" in result.stdout


def test_deploy_creates_a_serverless_endpoint_with_the_requested_memory_and_concurrency(moto_url):
    result = _imagetagger_aws(
        moto_url, "deploy", "--role", ROLE, "--model-data", "s3://artifacts/runs/r1/output/model.tar.gz",
        "--memory-size", "4096", "--max-concurrency", "7", "--endpoint-name", "it-endpoint", "--model-name", "it-model",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    sagemaker = _client("sagemaker", moto_url)
    endpoint = sagemaker.describe_endpoint(EndpointName="it-endpoint")
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])[
        "ProductionVariants"
    ][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 4096, "MaxConcurrency": 7}
    assert variant["ModelName"] == "it-model"
    container = sagemaker.describe_model(ModelName="it-model")["PrimaryContainer"]
    assert container["ModelDataUrl"] == "s3://artifacts/runs/r1/output/model.tar.gz"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert "pytorch-inference" in container["Image"]


@pytest.mark.parametrize(("flag", "value"), [("--memory-size", "1000"), ("--max-concurrency", "500")])
def test_deploy_refuses_sizes_serverless_does_not_offer(moto_url, flag, value):
    args = ["deploy", "--role", ROLE, "--model-data", "s3://a/m.tar.gz", flag, value]
    result = _imagetagger_aws(moto_url, *args)
    assert result.returncode == 2
