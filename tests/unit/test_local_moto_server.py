"""moto's process of its own (imagetagger_local.moto_server): it outlives a Ctrl-C, so the stack's final snapshot can
still read it, stops on SIGTERM, and does not outlive the stack's process."""

import os
import signal
import subprocess
import sys
import time

import boto3
import pytest

from imagetagger_local.config import free_port
from imagetagger_local.servers import wait_until_up

START_TIMEOUT_S = 60


def _start(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "imagetagger_local.moto_server", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command)  # noqa: S603
    wait_until_up(f"http://127.0.0.1:{port}/moto-api/", START_TIMEOUT_S, lambda: process.poll() is None)
    return process


def _gone(pid: int, within_s: float = 0.0) -> bool:
    deadline = time.monotonic() + within_s
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def test_ignores_sigint_serves_with_the_stacks_speedups_and_stops_on_sigterm():
    port = free_port()
    process = _start(port)
    try:
        process.send_signal(signal.SIGINT)  # what a Ctrl-C sends the whole process group
        time.sleep(1)
        assert process.poll() is None
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
        )
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"k": {"S": "a"}}}}])
        assert dynamodb.get_item(TableName="t", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
        process.terminate()
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="re-parenting is observed through getppid")
def test_exits_when_the_process_that_started_it_dies():
    port = free_port()
    parent_code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-m', 'imagetagger_local.moto_server', '--port', sys.argv[1]])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code, str(port)], stdout=subprocess.PIPE)  # noqa: S603
    assert parent.stdout is not None
    moto_pid = int(parent.stdout.readline())
    try:
        wait_until_up(f"http://127.0.0.1:{port}/moto-api/", START_TIMEOUT_S, lambda: not _gone(moto_pid))
        parent.kill()  # no clean stop: as when the stack's process is killed
        parent.wait()
        assert _gone(moto_pid, 10), "moto kept running after the stack's process died"
    finally:
        if not _gone(moto_pid):
            os.kill(moto_pid, signal.SIGKILL)
