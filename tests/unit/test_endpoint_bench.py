"""The benchmark's decisions (no timing here: timings live only in `imagetagger bench`)."""

from __future__ import annotations

from imagetagger_bench.run import best_backend


def speeds(**img_per_s: float) -> dict:
    return {name.replace("_", "-"): {"ms_bs1": 1.0, "img_per_s": v, "batch": 8} for name, v in img_per_s.items()}


def test_best_is_the_fastest_serving_backend_and_speedup_is_over_the_eager_baseline():
    measured = speeds(torch_fp32_eager=10.0, torch_bf16_channels_last=500.0, ort_fp32=40.0, ov_int8=150.0)

    best = best_backend(measured, set(measured))

    assert best == {"backend": "ov-int8", "speedup": 15.0}, "torch backends are measured but never served"


def test_backends_outside_the_accuracy_budget_are_not_chosen():
    measured = speeds(torch_fp32_eager=10.0, ort_fp32=40.0, ort_int8=90.0, ov_int8=150.0)

    best = best_backend(measured, allowed={"torch-fp32-eager", "ort-fp32", "ort-int8"})

    assert best == {"backend": "ort-int8", "speedup": 9.0}


def test_the_reported_speedup_is_the_one_measured_in_alternating_rounds(monkeypatch):
    from imagetagger_bench import run

    measured = speeds(torch_fp32_eager=10.0, ov_int8=150.0)
    monkeypatch.setattr(run, "interleaved_speedup", lambda *_: {"speedup": 9.2, "round_ratios": [9.0, 9.2, 17.8]})

    best = run.with_interleaved_speedup("resnet50", run.RESNET50_DIR, measured, best_backend(measured, set(measured)))

    assert best == {"backend": "ov-int8", "speedup": 9.2, "speedup_rounds": [9.0, 9.2, 17.8], "speedup_separate": 15.0}
    assert run.with_interleaved_speedup("m", run.RESNET50_DIR, speeds(ov_int8=1.0), {"backend": "ov-int8"}) == {
        "backend": "ov-int8"
    }, "no baseline measured: nothing to compare with"


def test_the_report_names_the_cpu_class_it_was_measured_on(monkeypatch):
    from imagetagger_bench import run
    from imagetagger_endpoint import selection

    selection.cpu_class.cache_clear()
    try:
        monkeypatch.setenv(selection.ONEDNN_ISA_ENV, "AVX2")
        summary = run.cpu_summary()
    finally:
        selection.cpu_class.cache_clear()

    hardware = selection.hardware_cpu_class(selection.cpu_flags())
    assert summary["class"] == f"{hardware}+onednn-avx2", "figures measured under a oneDNN limit say so"
    assert summary["onednn_max_cpu_isa"] == "AVX2"
    assert selection.hardware_cpu_class(set(summary["isa"])) == hardware, "the ISA list alone tells the class"
    assert summary["model"] and summary["cpus"] >= 1
