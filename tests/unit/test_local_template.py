"""The local stack serves template.yaml's own routes, handlers and queue source."""

import json

import pytest

from imagetagger_local.config import REPO_ROOT
from imagetagger_local.template import function_specs, http_api_cors, http_routes, load_template, queue_sources

TEMPLATE = REPO_ROOT / "template.yaml"
pytestmark = pytest.mark.skipif(not TEMPLATE.exists(), reason="template.yaml not written yet")


def route_for(method, path):
    for route in http_routes(load_template(TEMPLATE)):
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None, None


def test_image_routes_map_to_the_api_function_with_path_parameters():
    route, params = route_for("GET", "/images/01HXYZ")
    assert route.function == "ApiFunction" and params == {"image_id": "01HXYZ"} and route.authorized
    route, _ = route_for("DELETE", "/images/01HXYZ")
    assert route.route_key == "DELETE /images/{image_id}"


def test_uploads_go_to_the_presign_function_and_health_is_open():
    assert route_for("POST", "/uploads")[0].function == "PresignFunction"
    health, _ = route_for("GET", "/health")
    assert health is not None and not health.authorized


def test_unknown_paths_and_methods_match_nothing():
    assert route_for("GET", "/images/a/b")[0] is None
    assert route_for("PUT", "/images/a")[0] is None
    assert route_for("GET", "/admin")[0] is None


def test_functions_resolve_to_their_code_directories():
    specs = function_specs(load_template(TEMPLATE), REPO_ROOT)
    assert specs["ProcessFunction"].code_dir == REPO_ROOT / "functions" / "process"
    assert specs["ProcessFunction"].handler == "app.lambda_handler"
    assert specs["ProcessFunction"].timeout_s >= specs["ApiFunction"].timeout_s > 0


def test_the_upload_queue_feeds_the_process_function_with_partial_batch_failures():
    sources = {source.function: source for source in queue_sources(load_template(TEMPLATE))}
    source = sources["ProcessFunction"]
    assert source.queue_logical_id == "UploadQueue"
    assert 1 <= source.batch_size <= 10 and source.partial_batch_failures


def test_api_cors_comes_from_the_http_api_configuration():
    cors = http_api_cors(load_template(TEMPLATE))
    assert "authorization" in cors.allow_headers and "content-type" in cors.allow_headers
    assert {"GET", "POST", "DELETE"} <= set(cors.allow_methods) and cors.max_age_s > 0


def test_the_local_reader_reads_template_yaml_as_cfn_lints_decoder_does():
    # The local stack parses template.yaml with a small SafeLoader (imagetagger_local.cfn) because cfn-lint (and its
    # sympy and networkx, ~140 MB) is not part of the runtime `make up` installs; this holds it to cfn-lint's reading.
    cfn_yaml = pytest.importorskip("cfnlint.decode.cfn_yaml")

    expected = cfn_yaml.loads(TEMPLATE.read_text(), str(TEMPLATE))
    assert json.loads(json.dumps(load_template(TEMPLATE))) == json.loads(json.dumps(expected))
