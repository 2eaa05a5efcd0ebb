"""The system benchmark's CPU accounting per process and over time (imagetagger_bench.system_cpu, .cpu_timeline;
issue 13)."""

import os
import subprocess
import sys

import pytest

from imagetagger_bench.cpu_timeline import CpuTimeline
from imagetagger_bench.system_cpu import cpu_by_process, cpu_ms_per_image


def test_cpu_per_image_is_the_difference_per_kind_with_the_client():
    before = {1: ("stack", 1.0), 2: ("endpoint", 2.0)}
    after = {1: ("stack", 1.5), 2: ("endpoint", 4.0), 3: ("environments", 0.25)}  # 3 started in between
    assert cpu_ms_per_image(before, after, client_s=0.25, images=10) == {
        "endpoint": 200.0,
        "stack": 50.0,
        "client": 25.0,
        "environments": 25.0,
        "total": 300.0,
    }


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")
def test_a_busy_child_process_is_counted_under_its_root():
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    busy += "print(flush=True)\ntime.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", busy], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        child.stdout.readline()  # it has spent its 0.3 s of CPU
        found = cpu_by_process(os.getpid())
        assert found[os.getpid()][0] == "stack"
        kind, seconds = found[child.pid]
        assert kind == "environments" and seconds >= 0.2
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")
def test_the_timeline_shows_when_a_child_was_busy():
    busy = "import time\ntime.sleep(0.6)\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
    with CpuTimeline(os.getpid()) as timeline:
        subprocess.run([sys.executable, "-c", busy], check=True)
    cores = timeline.cores(bucket_s=0.5)["cores"]
    busiest = max(range(len(cores["environments"])), key=cores["environments"].__getitem__)
    assert busiest >= 1, "the child spun after its first half second, not in it"
    assert sum(cores["environments"]) * 0.5 >= 0.35  # most of its 0.5 s of CPU (start-up before the sampler's view)
    assert all(machine >= child - 0.05 for machine, child in zip(cores["machine"], cores["environments"]))
