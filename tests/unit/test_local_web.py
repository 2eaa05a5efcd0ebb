"""The local web server: the page's files, its generated config.json, nothing outside frontend/web/."""

import json

from werkzeug.test import Client

from imagetagger_local.web import web_app, write_web_config


def make_client(tmp_path):
    web_dir = tmp_path / "web"
    web_dir.mkdir()
    (web_dir / "index.html").write_text("<html>imagetagger</html>")
    (tmp_path / "secret.txt").write_text("not for the browser")
    config_path = tmp_path / "state" / "web" / "config.json"
    write_web_config(config_path, "http://127.0.0.1:3999", 1234)
    return Client(web_app(web_dir, config_path))


def test_the_page_and_its_config_are_served(tmp_path):
    client = make_client(tmp_path)
    assert "imagetagger" in client.get("/").get_data(as_text=True)
    response = client.get("/config.json")
    assert response.headers["Cache-Control"] == "no-store"
    assert json.loads(response.data) == {
        "apiBaseUrl": "http://127.0.0.1:3999",
        "authMode": "local",
        "localTokenUrl": "http://127.0.0.1:3999/local/token",
        "maxUploadBytes": 1234,
    }


def test_missing_files_and_paths_outside_the_page_are_not_found(tmp_path):
    client = make_client(tmp_path)
    assert client.get("/nothing.js").status_code == 404
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
        response = client.get(path)
        assert response.status_code == 404 and b"not for the browser" not in response.data


def test_the_page_gets_the_vocabulary_the_api_checks_corrections_against(tmp_path):
    from imagetagger.coco import COCO_PARENTS
    from imagetagger_local.config import REPO_ROOT

    config_path = tmp_path / "config.json"
    write_web_config(config_path, "http://127.0.0.1:3999", 1234)
    client = Client(web_app(REPO_ROOT / "frontend" / "web", config_path))
    response = client.get("/coco_categories.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    categories = sorted(json.loads(response.data), key=lambda c: c["id"])
    assert [c["name"] for c in categories] == list(COCO_PARENTS)
