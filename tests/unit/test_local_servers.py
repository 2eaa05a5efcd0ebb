"""Stopping a local server lets the requests in progress finish (the stack snapshots its state right after)."""

import threading

import requests

from imagetagger_local.config import free_port
from imagetagger_local.servers import BackgroundServer


def test_stop_waits_for_a_request_in_progress_to_finish():
    entered, release = threading.Event(), threading.Event()
    written: list[str] = []

    def slow_app(environ, start_response):
        entered.set()
        release.wait(10)
        written.append("record")  # what a handler stores before it answers
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"created"]

    port = free_port()
    server = BackgroundServer("test", "127.0.0.1", port, slow_app)
    server.start()
    answers: list[int] = []
    client = threading.Thread(
        target=lambda: answers.append(requests.post(f"http://127.0.0.1:{port}/", timeout=10).status_code)
    )
    client.start()
    assert entered.wait(10)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(timeout=2)  # longer than shutdown() takes by itself (its 0.5 s poll interval)
    assert stopper.is_alive(), "stop() returned while a request was still being handled"
    release.set()
    stopper.join(timeout=10)
    client.join(timeout=10)
    assert not stopper.is_alive()
    assert written == ["record"]
    assert answers == [201]
