"""The local Lambda runtime: concurrent invocations in separate execution environments, bounded, with timeouts."""

import textwrap
import threading
import time

import pytest

from imagetagger_local.lambda_runtime import FunctionError, LocalFunction
from imagetagger_local.template import FunctionSpec

# The handler keeps the invocation's event in a module global, as Powertools' resolver keeps its current event on a
# class attribute: two invocations sharing a process would read each other's.
HANDLER = """
import os
import time

CURRENT = None


def lambda_handler(event, context):
    global CURRENT
    CURRENT = event
    time.sleep(event.get("sleep_s", 0))
    if event.get("boom"):
        raise ValueError("a bug in the handler")
    return {"user": CURRENT["user"], "pid": os.getpid(), "remaining_ms": context.get_remaining_time_in_millis()}
"""


@pytest.fixture
def make_function(tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent(HANDLER))
    made = []

    def make(max_concurrency: int, timeout_s: int = 30) -> LocalFunction:
        function = LocalFunction(
            FunctionSpec("Slow", tmp_path, "app.lambda_handler", timeout_s, 128), {}, max_concurrency
        )
        made.append(function)
        return function

    yield make
    for function in made:
        function.close()


def _in_thread(function: LocalFunction, event: dict, results: dict) -> threading.Thread:
    def run() -> None:
        started = time.monotonic()
        results[event["user"]] = (function.invoke(event), time.monotonic() - started)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_slow_invocation_does_not_block_another_and_each_sees_its_own_event(make_function):
    function = make_function(max_concurrency=2)
    results: dict = {}
    slow = _in_thread(function, {"user": "bob", "sleep_s": 3}, results)
    time.sleep(0.3)  # bob's invocation is running
    fast = _in_thread(function, {"user": "alice"}, results)
    fast.join(timeout=30)
    assert "bob" not in results, "alice waited for bob"
    slow.join(timeout=30)
    (alice, alice_s), (bob, _) = results["alice"], results["bob"]
    assert alice["user"] == "alice" and bob["user"] == "bob"  # no event mixed into the other invocation
    assert alice["pid"] != bob["pid"] and alice_s < 3  # alice's cold start included
    assert 0 < bob["remaining_ms"] <= 30_000


def test_concurrency_is_bounded_like_a_lambda_limit(make_function):
    function = make_function(max_concurrency=1)
    results: dict = {}
    slow = _in_thread(function, {"user": "bob", "sleep_s": 1.5}, results)
    time.sleep(0.3)
    queued = _in_thread(function, {"user": "alice"}, results)
    slow.join(timeout=30)
    queued.join(timeout=30)
    assert results["alice"][1] > 1.0  # waited for the only environment
    assert results["alice"][0]["pid"] == results["bob"][0]["pid"]  # which is reused warm


def test_errors_are_reported_and_a_timed_out_environment_is_replaced(make_function):
    function = make_function(max_concurrency=1, timeout_s=1)
    with pytest.raises(FunctionError, match="ValueError: a bug in the handler"):
        function.invoke({"user": "bob", "boom": True})
    with pytest.raises(FunctionError, match="Task timed out"):
        function.invoke({"user": "bob", "sleep_s": 10})
    assert function.invoke({"user": "alice"})["user"] == "alice"  # a fresh environment answers


def test_a_ctrl_c_in_the_terminal_does_not_kill_an_environment(make_function):
    # Ctrl-C signals the whole process group; the stack, not the signal, stops the environments (after their work)
    import os
    import signal

    function = make_function(max_concurrency=1)
    (environment,) = function._all
    os.kill(environment.process.pid, signal.SIGINT)
    time.sleep(0.5)
    assert function.invoke({"user": "alice"})["pid"] == environment.process.pid


def test_an_environment_killed_while_idle_fails_one_invocation_and_is_replaced(make_function):
    import os
    import signal

    function = make_function(max_concurrency=1)
    (environment,) = function._all
    os.kill(environment.process.pid, signal.SIGKILL)
    environment.process.join(timeout=10)
    with pytest.raises(FunctionError, match="exited"):
        function.invoke({"user": "bob"})
    assert function.invoke({"user": "alice"})["user"] == "alice"
