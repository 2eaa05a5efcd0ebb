"""Python's cyclic garbage collector, run less often in the local stack's long-lived processes (moto's, the functions'
execution environments, and the stack's own with its gateways and workers).

A request there builds and drops tens of thousands of objects (moto copies and converts every item of a Query;
botocore parses every response through its shapes, boto3 converts every attribute), and at Python's default
threshold a collection runs every 700 allocations. Measured on a Query of 79 image items in one process, moto and
boto3 together: 133-160 ms at the default, 87-91 ms with collections every 10,000 allocations (docs/benchmark.md,
"System overhead"). Nearly all of those objects are freed by reference counting anyway; the collector only looks for
cycles, which a larger threshold leaves a little longer. What the process imported before serving (modules, botocore's
service models) lives as long as the process and is moved out of the collector's reach (gc.freeze).
"""

from __future__ import annotations

import gc

ALLOCATIONS_PER_COLLECTION = 10_000  # Python's default: 700


def collect_less_often() -> None:
    """Call once the process has imported what it serves with, before it serves."""
    gc.freeze()
    _, *older = gc.get_threshold()
    gc.set_threshold(ALLOCATIONS_PER_COLLECTION, *older)
