"""imagetagger/api/openapi.json (package data, served at GET /openapi.json) is generated from the routers; this fails
when the committed copy is stale."""

from imagetagger.api.app import OPENAPI_PATH, openapi_document, openapi_is_current


def test_committed_openapi_document_is_current():
    assert openapi_is_current(), f"{OPENAPI_PATH} is stale: run `python -m imagetagger.api.app` and commit it"


def test_document_marks_every_route_but_health_as_authenticated():
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            secured = operation.get("security") == [{"bearerAuth": []}]
            assert secured == (path != "/health"), (method, path)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
