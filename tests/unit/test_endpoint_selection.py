"""Which backend the endpoint serves with: explicit request, else a backend measured accurate on this CPU class (the
choice measured on this machine, else the fastest of a record from the same class), else fp32."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagetagger_endpoint import selection
from imagetagger_endpoint.backends import INT8_FILE


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(selection.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(selection.BACKEND_ENV, raising=False)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"not really onnx, only hashed")
    return folder


def test_without_a_measured_choice_fp32_serves(model_dir):
    assert selection.choose_backend(model_dir, selection.cache_dir_for(model_dir)) == "ort-fp32"


def _evidence(**maps: float) -> dict:
    # fp32 the slowest; the others as fast as they come first
    measured = {
        name.replace("_", "-"): {"ms_bs1": 10.0 if name == "ort_fp32" else 1.0 + index, "map": value}
        for index, (name, value) in enumerate(maps.items())
    }
    return {"map_fp32": maps["ort_fp32"], "max_map_loss": 0.5, "measured": measured}


def test_a_choice_measured_on_this_machine_is_used_when_its_variant_exists(model_dir):
    cache = selection.cache_dir_for(model_dir)
    selection.write_choice(cache, "ort-int8", _evidence(ort_fp32=44.0, ort_int8=43.8))
    assert selection.choose_backend(model_dir, cache) == "ort-fp32", "no int8 file yet: fall back"

    (cache / INT8_FILE).write_bytes(b"int8 graph")
    assert selection.choose_backend(model_dir, cache) == "ort-int8"


def test_a_choice_measured_on_another_machine_is_ignored(model_dir):
    cache = selection.cache_dir_for(model_dir)
    (cache / INT8_FILE).parent.mkdir(parents=True)
    (cache / INT8_FILE).write_bytes(b"int8 graph")
    (cache / selection.CHOICE_FILE).write_text(json.dumps({"backend": "ort-int8", "machine": "another-cpu"}))
    assert selection.choose_backend(model_dir, cache) == "ort-fp32"


def test_the_environment_overrides_and_unknown_names_are_refused(model_dir, monkeypatch):
    cache = selection.cache_dir_for(model_dir)
    monkeypatch.setenv(selection.BACKEND_ENV, "ov-bf16")
    assert selection.choose_backend(model_dir, cache) == "ov-bf16"
    monkeypatch.setenv(selection.BACKEND_ENV, "tensorrt")
    with pytest.raises(ValueError, match="tensorrt"):
        selection.choose_backend(model_dir, cache)


def test_the_cache_is_per_model_content(model_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.onnx").write_bytes(b"a retrained model")
    assert selection.cache_dir_for(model_dir) != selection.cache_dir_for(other)


def test_the_cache_is_per_variant_recipe(model_dir, monkeypatch):
    before = selection.cache_dir_for(model_dir)
    monkeypatch.setattr(selection, "VARIANT_RECIPE", "a-newer-recipe")
    assert selection.cache_dir_for(model_dir) != before


def _record_from_another_machine(cache: Path, maps: dict[str, float], cpu_class: str | None = None) -> None:
    measured = {name: {"ms_bs1": 1.0 + index, "map": value} for index, (name, value) in enumerate(maps.items())}
    record = {"backend": "ov-bf16", "machine": "the-build-machine", "map_fp32": 67.0, "measured": measured}
    record["cpu_class"] = cpu_class or selection.cpu_class()
    cache.mkdir(parents=True, exist_ok=True)
    (cache / selection.CHOICE_FILE).write_text(json.dumps(record))


def test_elsewhere_on_the_same_cpu_class_the_fastest_recorded_accurate_backend_serves(model_dir, monkeypatch):
    # A SageMaker host of the build machine's class: the record's figures were measured on this kind of CPU.
    monkeypatch.setattr(selection, "backend_available", lambda _dir, name, _cache: name.startswith("ort"))
    cache = selection.cache_dir_for(model_dir)
    # measured in this order, each slower than the one before: ov-int8 fastest, but OpenVINO is absent here
    _record_from_another_machine(cache, {"ov-int8": 67.1, "ort-int8": 66.7, "ov-bf16": 66.9, "ort-fp32": 67.0})
    assert selection.choose_backend(model_dir, cache) == "ort-int8"

    _record_from_another_machine(cache, {"ort-int8": 65.9, "ort-fp32": 67.0})
    assert selection.choose_backend(model_dir, cache) == "ort-fp32", "int8 lost 1.1 mAP points: not accurate"


def test_elsewhere_the_fastest_accurate_backend_serves_when_it_can_run(model_dir, monkeypatch):
    monkeypatch.setattr(selection, "backend_available", lambda _dir, _name, _cache: True)
    cache = selection.cache_dir_for(model_dir)
    _record_from_another_machine(cache, {"ov-int8": 67.1, "ort-int8": 66.7, "ov-bf16": 66.9, "ort-fp32": 67.0})
    assert selection.choose_backend(model_dir, cache) == "ov-int8"
    record = {"cpu_class": selection.cpu_class(), "measured": {"ov-int8": {"map": 1.0}}}
    assert selection.accurate_backends(record) == set(), "no fp32 figure: none"


@pytest.mark.parametrize("recorded_on", ["avx2", "amx", "avx512-vnni", "other", None])
def test_accuracy_measured_on_another_cpu_class_never_serves(model_dir, monkeypatch, recorded_on):
    # int8 accurate on an AMX build machine is not evidence for an AVX2-only host (16-bit saturation), nor the
    # other way round; a record that does not say its class is evidence for none.
    monkeypatch.setattr(selection, "backend_available", lambda _dir, _name, _cache: True)
    monkeypatch.setattr(selection, "cpu_class", lambda: "avx2-vnni")
    cache = selection.cache_dir_for(model_dir)
    _record_from_another_machine(cache, {"ov-int8": 67.1, "ort-int8": 66.7, "ort-fp32": 67.0}, "avx2-vnni")
    assert selection.choose_backend(model_dir, cache) == "ov-int8", "the same class: its evidence holds"

    record = json.loads((cache / selection.CHOICE_FILE).read_text())
    if recorded_on is None:
        del record["cpu_class"]
    else:
        record["cpu_class"] = recorded_on
    (cache / selection.CHOICE_FILE).write_text(json.dumps(record))
    assert selection.choose_backend(model_dir, cache) == "ort-fp32"


def test_a_choice_measured_here_is_not_served_unless_its_accuracy_passed_here(model_dir, monkeypatch):
    monkeypatch.setattr(selection, "backend_available", lambda _dir, _name, _cache: True)
    cache = selection.cache_dir_for(model_dir)
    selection.write_choice(cache, "ov-int8", _evidence(ort_fp32=67.0, ov_int8=66.9, ort_int8=60.0))
    assert selection.choose_backend(model_dir, cache) == "ov-int8"

    # a record whose choice is inaccurate (edited, or written by an older version without the check) ...
    record = json.loads((cache / selection.CHOICE_FILE).read_text())
    (cache / selection.CHOICE_FILE).write_text(json.dumps({**record, "backend": "ort-int8"}))
    # ... falls through to the fastest accurate backend of the record, never to the inaccurate one
    assert selection.choose_backend(model_dir, cache) == "ov-int8"

    # a choice whose accuracy was not measured at all is not served either
    del record["measured"]["ov-int8"]
    (cache / selection.CHOICE_FILE).write_text(json.dumps(record))
    assert selection.choose_backend(model_dir, cache) == "ort-fp32"


def test_an_inaccurate_backend_cannot_be_recorded_as_the_choice(model_dir):
    cache = selection.cache_dir_for(model_dir)
    with pytest.raises(ValueError, match="ort-int8"):
        selection.write_choice(cache, "ort-int8", _evidence(ort_fp32=67.0, ort_int8=66.0))
    with pytest.raises(ValueError, match="ov-int8"):
        selection.write_choice(cache, "ov-int8", _evidence(ort_fp32=67.0))
    assert not (cache / selection.CHOICE_FILE).exists()
    selection.write_choice(cache, "ort-fp32", _evidence(ort_fp32=67.0))  # fp32 is the reference: always allowed


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8"}, "amx"),
        ({"avx2", "avx512f", "avx512_vnni"}, "avx512-vnni"),
        ({"avx2", "avx_vnni"}, "avx2-vnni"),
        ({"avx2", "fma", "avx512f"}, "avx2"),  # AVX-512 without VNNI (Skylake-SP): int8 as on AVX2
        ({"avx2", "fma"}, "avx2"),  # AMD EPYC Rome/Milan
        ({"sse4_2", "avx"}, "other"),
        (set(), "other"),
    ],
)
def test_cpu_classes_from_the_kernels_flag_names(flags, expected):
    assert selection.hardware_cpu_class(flags) == expected


def test_a_onednn_isa_limit_is_a_cpu_class_of_its_own(monkeypatch):
    selection.cpu_class.cache_clear()
    try:
        monkeypatch.setenv(selection.ONEDNN_ISA_ENV, "AVX2")
        limited = selection.cpu_class()
        assert limited == f"{selection.hardware_cpu_class(selection.cpu_flags())}+onednn-avx2"
        selection.cpu_class.cache_clear()
        monkeypatch.delenv(selection.ONEDNN_ISA_ENV)
        assert selection.cpu_class() != limited
    finally:
        selection.cpu_class.cache_clear()
