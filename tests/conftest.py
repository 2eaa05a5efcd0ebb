"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from imagetagger_local.lambda_runtime import LambdaContext

REPO_ROOT = Path(__file__).resolve().parents[1]
COCO_VAL_DIR = REPO_ROOT / "data" / "coco-sample" / "val"

# Tests must never reach a real AWS account, whatever the developer's shell has configured.
_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(autouse=True, scope="session")
def _fake_aws_credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _FAKE_AWS_ENV.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture
def lambda_context() -> LambdaContext:
    """The context object the Lambda runtime passes to a handler (the local stack uses the same class)."""
    return LambdaContext(function_name="imagetagger-test", memory_limit_in_mb=512, timeout_s=30)


# `make pytest` runs the files on two workers (pytest-xdist, one file per worker at a time), in this order: the longest
# files first, so that each worker has one of them from the start and the rest of the suite, many short files, fills
# the workers in until both end together. Started late, one of these would keep one worker busy for minutes after the
# other ran out of work (seen in the full run: the other worker idle during the endpoint backends' last minutes).
# - the local pipeline's test: about a third of the suite on its own (two real training runs);
# - the endpoint backends: int8 quantisation and each backend's accuracy on the val split (fused model, 2 cores).
LONGEST_FIRST = ("tests/e2e/test_pipeline.py", "tests/unit/test_endpoint_backends.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
