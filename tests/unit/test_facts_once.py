"""Each fact of issue 14 is defined once: these tests find its users, and fail when a second definition appears.

Where a copy cannot import the definition (the mobile app is packaged alone by `flet build`; the web page has no build
step), the copy is checked against it here."""

import ast
import json
import re
from pathlib import Path

import pytest

from imagetagger.coco import CATEGORIES_FILE, COCO_PARENTS, categories_json
from imagetagger.media import ACCEPTED_FORMATS, MEDIA_TYPES
from imagetagger.modelspec import SERVING_INPUT_SIZE, load_model_spec

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "imagetagger" / "imagetagger"
# The shipped Python code (tests, data and model artifacts are not).
SHIPPED = ["layers", "functions", "endpoint", "bench", "training", "local", "cli", "workflow", "frontend/mobile"]
WEB = ROOT / "frontend" / "web"


def shipped_python() -> list[Path]:
    return sorted(path for folder in SHIPPED for path in (ROOT / folder).rglob("*.py"))


def files_containing(needle: str, paths: list[Path]) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in paths if needle in p.read_text(encoding="utf-8", errors="ignore"))


# ------------------------------------------------------------------------------------------------------ media types


def test_media_types_are_defined_in_imagetagger_media_only():
    # "image/webp" stands for the list: any module spelling it out keeps a list of its own
    assert files_containing('"image/webp"', shipped_python()) == [
        "frontend/mobile/imagetagger_mobile/api_client.py",  # packaged alone: checked below
        "layers/imagetagger/imagetagger/media.py",
    ]
    assert {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"} == ACCEPTED_FORMATS


def test_the_mobile_app_and_the_web_page_accept_exactly_the_media_types():
    from imagetagger_mobile.api_client import ACCEPTED_TYPES

    assert list(ACCEPTED_TYPES) == list(MEDIA_TYPES)
    config_js = (WEB / "js" / "config.js").read_text()
    (web_default,) = re.findall(r"DEFAULT_ACCEPTED_TYPES = (\[[^\]]*\])", config_js)
    assert json.loads(web_default) == list(MEDIA_TYPES)
    (accept,) = re.findall(r'accept="(image/jpeg[^"]*)"', (WEB / "index.html").read_text())  # (the camera: image/*)
    assert accept.split(",") == list(MEDIA_TYPES)
    (names,) = re.findall(r"const TYPE_NAMES = \{([^}]*)\}", (WEB / "js" / "upload.js").read_text())
    assert re.findall(r'"([^"]+)":', names) == list(MEDIA_TYPES)


def test_the_endpoint_and_uploads_use_the_one_list():
    from imagetagger.uploads import normalise_content_type
    from imagetagger_endpoint.handler import IMAGE_TYPES

    assert (*MEDIA_TYPES, "application/x-image") == IMAGE_TYPES
    assert [normalise_content_type(t.upper() + "; q=1") for t in MEDIA_TYPES] == list(MEDIA_TYPES)


# ------------------------------------------------------------------------------------------------- COCO vocabulary


def test_coco_vocabulary_is_the_packaged_file_only():
    # "toothbrush" is COCO's last category: a module naming it keeps a copy of the vocabulary
    web_files = sorted(WEB.rglob("*.js")) + sorted(WEB.rglob("*.html"))
    assert files_containing('"toothbrush"', shipped_python() + web_files) == []
    categories = json.loads(categories_json())
    assert len(categories) == len(COCO_PARENTS) == 80
    assert (LAYER / CATEGORIES_FILE).read_text() == categories_json()


def test_the_web_page_fetches_the_packaged_vocabulary():
    vocabulary_js = (WEB / "js" / "vocabulary.js").read_text()
    assert f'fetch("{CATEGORIES_FILE}")' in vocabulary_js
    # next to the page (every static host serves it, publish-web uploads it): a link to the packaged file, no copy
    assert (WEB / CATEGORIES_FILE).is_symlink() and (WEB / CATEGORIES_FILE).resolve() == LAYER / CATEGORIES_FILE
    assert f'"{CATEGORIES_FILE}"' in (WEB / "sw.js").read_text()  # cached with the shell, for offline use


# -------------------------------------------------------------------------------------------------------- input size


def test_the_served_input_size_is_the_default_models_own():
    assert load_model_spec(ROOT / "models" / "default").size == SERVING_INPUT_SIZE
    for path in shipped_python():
        assert (
            not re.search(r"\b\w*_SIZE = 300\b", path.read_text())
            or path.name == "modelspec.py"
            or (
                "fused" in path.parts  # the detector graph's own input, checked equal in test_fused_model.py
            )
        ), path


def test_export_writes_the_size_it_exported_for(tmp_path):
    pytest.importorskip("torch")
    from imagetagger_training.export import model_card, model_spec

    onnx_path = tmp_path / "model.onnx"
    onnx_path.write_bytes(b"graph")
    checkpoint = {
        "args": {"backbone": "efficientnet_lite0"},
        "normalisation": {"mean": [0.5] * 3, "std": [0.5] * 3},
        "classes": [{"name": "dog", "coco_id": 18, "parent": "animal"}],
        "thresholds": [0.5],
        "git_commit": "abc",
    }
    spec = model_spec(checkpoint, onnx_path, size=257)
    assert spec["preprocessing"]["size"] == 257
    assert "[N, 257, 257, 3]" in model_card(spec, checkpoint)


# ------------------------------------------------------------------------------------------ DynamoDB attribute names


def test_only_the_shared_package_writes_dynamodb_expressions():
    outside = [p for p in shipped_python() if LAYER not in p.parents and "moto_speedups" not in p.name]
    for needle in ("boto3.dynamodb.conditions", "Expression=", 'Expression"', "#status"):
        assert files_containing(needle, outside) == [], needle


# ------------------------------------------------------------------------------------------------------ router list


def test_each_router_is_listed_once_and_each_function_serves_its_list():
    from imagetagger.api import app

    modules = sorted(p.stem for p in (LAYER / "api").glob("*.py") if "router = Router()" in p.read_text())
    listed = [r for r in app.ALL_ROUTERS]
    assert len(listed) == len(set(map(id, listed))) == len(modules)
    assert not set(map(id, app.PRESIGN_ROUTERS)) & set(map(id, app.API_ROUTERS))
    for function, routers in (("presign", "PRESIGN_ROUTERS"), ("api", "API_ROUTERS")):
        tree = ast.parse((ROOT / "functions" / function / "app.py").read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert routers in imported and "router" not in {n.split(".")[-1] for n in imported}, function


# ------------------------------------------------------------------------------------------------------ upload flow


def test_one_upload_flow_the_api_clients():
    # POST /uploads then the presigned form: only the mobile package's ImageTaggerClient does it
    users = files_containing('"/uploads"', shipped_python())
    assert users == [
        "frontend/mobile/imagetagger_mobile/api_client.py",
        "layers/imagetagger/imagetagger/api/uploads.py",  # the route itself
    ]
    for module in ("workflow/imagetagger_workflow/importer.py", "local/imagetagger_local/load.py"):
        assert "ImageTaggerClient" in (ROOT / module).read_text(), module
