"""moto (S3, SQS, DynamoDB) in a process of its own: `python -m imagetagger_local.moto_server --host H --port P`.

The stack's process runs the API emulator, the S3 gateway, the SQS workers and the snapshots on one interpreter;
with moto there too, every request of every part queued for the same GIL, and during a bulk import that process was
the bottleneck (about one core busy while the endpoint waited for work: docs/benchmark.md, "System overhead").
Here moto has an interpreter, and a core, of its own. It answers the same HTTP API as before, so nothing that talks to
it changes.

The stack stops this process itself (SIGTERM) after its final snapshot, which reads moto; so SIGINT, which a Ctrl-C
in the terminal sends to the whole process group, is ignored. If the stack's process dies without stopping it, this
one exits too rather than keep the port and the state of a stack that is gone.

Its garbage collector runs less often than Python's default (imagetagger_local.gc_tuning: a Query of 79 image items
cost moto 76 ms of handling at the default, 30 ms so).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from imagetagger_local import moto_speedups
from imagetagger_local.gc_tuning import collect_less_often

PARENT_CHECK_INTERVAL_S = 1.0


def serve(host: str, port: int) -> None:
    from moto.server import ThreadedMotoServer

    moto_speedups.install()  # transactions otherwise copy whole tables: quadratic under load
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request otherwise
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    collect_less_often()
    server.start()
    try:
        while not stop.wait(PARENT_CHECK_INTERVAL_S):
            if os.getppid() != parent:  # re-parented: the stack's process is gone
                break
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="moto's server for the local stack")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
