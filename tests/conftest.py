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


# `make pytest` runs the files on two workers (pytest-xdist, one file per worker at a time). The local pipeline's test
# alone takes about a third of the suite (two real training runs), so it starts first and the other worker works
# through everything else meanwhile; started last, it would leave that worker idle at the end.
LONGEST_FIRST = ("tests/e2e/test_pipeline.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in LONGEST_FIRST)  # stable: the rest keep their order
