"""Which backend the endpoint serves with: explicit request, else the choice measured on this machine, else fp32."""

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


def test_a_choice_measured_on_this_machine_is_used_when_its_variant_exists(model_dir):
    cache = selection.cache_dir_for(model_dir)
    selection.write_choice(cache, "ort-int8", {"map_fp32": 44.0})
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


def _record_from_another_machine(cache: Path, maps: dict[str, float]) -> None:
    measured = {name: {"ms_bs1": 1.0, "map": value} for name, value in maps.items()}
    record = {"backend": "ov-bf16", "machine": "the-build-machine", "map_fp32": 67.0, "measured": measured}
    cache.mkdir(parents=True, exist_ok=True)
    (cache / selection.CHOICE_FILE).write_text(json.dumps(record))


def test_elsewhere_the_portable_preference_serves_among_the_recorded_accurate_backends(model_dir, monkeypatch):
    # A SageMaker host: the packed record's speed ranking is another machine's, its accuracy figures still hold.
    monkeypatch.setattr(selection, "backend_available", lambda _dir, name, _cache: name.startswith("ort"))
    cache = selection.cache_dir_for(model_dir)
    _record_from_another_machine(cache, {"ort-fp32": 67.0, "ort-int8": 66.7, "ov-int8": 67.1, "ov-bf16": 66.9})
    assert selection.choose_backend(model_dir, cache) == "ort-int8", "ov-int8 preferred but OpenVINO is absent"

    _record_from_another_machine(cache, {"ort-fp32": 67.0, "ort-int8": 65.9})
    assert selection.choose_backend(model_dir, cache) == "ort-fp32", "int8 lost 1.1 mAP points: not accurate"


def test_elsewhere_openvino_int8_is_preferred_when_it_can_run(model_dir, monkeypatch):
    monkeypatch.setattr(selection, "backend_available", lambda _dir, _name, _cache: True)
    cache = selection.cache_dir_for(model_dir)
    _record_from_another_machine(cache, {"ort-fp32": 67.0, "ort-int8": 66.7, "ov-int8": 67.1, "ov-bf16": 66.9})
    assert selection.choose_backend(model_dir, cache) == "ov-int8"
    assert selection.accurate_backends({"measured": {"ov-int8": {"map": 1.0}}}) == set(), "no fp32 figure: none"
