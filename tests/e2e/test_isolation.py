"""Authentication and isolation over HTTP against the local stack: tokens, users, CORS, body limits."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from imagetagger_local.config import JWT_AUDIENCE, JWT_ISSUER

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZEBRA = ROOT / "data" / "coco-sample" / "val" / "000000244592.jpg"
SOME_ID = "0192a3b4c5d6e7f80912a3b4c5d6e7f8"


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def routes() -> list[tuple[str, str]]:
    document = json.loads((ROOT / "layers/imagetagger/imagetagger/api/openapi.json").read_text())
    return sorted((m.upper(), p.replace("{image_id}", SOME_ID)) for p, ops in document["paths"].items() for m in ops)


def forged_tokens(stack) -> dict[str, str]:
    """Tokens API Gateway's JWT authorizer must refuse, each wrong in one way."""
    key = serialization.load_pem_private_key((stack.state_dir / "jwt" / "private.pem").read_bytes(), password=None)
    now = int(time.time())
    claims = {"sub": "alice", "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now, "exp": now + 600}
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsigned = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return {
        "alg none": f"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{unsigned}.",
        "other key": jwt.encode(claims, other_key, algorithm="RS256"),
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, key, algorithm="RS256"),
        "other issuer": jwt.encode({**claims, "iss": "https://evil.example"}, key, algorithm="RS256"),
        "other audience": jwt.encode({**claims, "aud": "someone-else"}, key, algorithm="RS256"),
        "no sub": jwt.encode({k: v for k, v in claims.items() if k != "sub"}, key, algorithm="RS256"),
        "garbage": "not.a.jwt",
    }


def test_every_route_but_health_refuses_missing_and_forged_tokens(local_stack):
    api = local_stack.api_url
    forged = forged_tokens(local_stack)
    for method, path in routes():
        expected = 200 if path == "/health" else 401
        assert requests.request(method, f"{api}{path}", timeout=30).status_code == expected, (method, path)
        if path == "/health":
            continue
        for name, token in forged.items():
            response = requests.request(
                method, f"{api}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            assert response.status_code == 401, (method, path, name, response.text)


def _wait_tagged(stack, user: str, image_id: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        image = requests.get(f"{stack.api_url}/images/{image_id}", headers=stack.auth(user), timeout=30).json()
        if image["status"] != "PENDING":
            return image
        time.sleep(0.3)
    raise AssertionError(f"{image_id} still PENDING")


def test_another_user_can_neither_see_search_correct_delete_nor_overwrite(local_stack):
    api = local_stack.api_url
    alice, mallory = new_user("alice"), new_user("mallory")
    image_id = local_stack.upload(alice, ZEBRA)
    image = _wait_tagged(local_stack, alice, image_id)
    assert image["status"] == "TAGGED" and "zebra" in [t["name"] for t in image["tags"]]
    as_mallory = local_stack.auth(mallory)

    assert requests.get(f"{api}/images/{image_id}", headers=as_mallory, timeout=30).status_code == 404
    assert requests.get(f"{api}/images", headers=as_mallory, timeout=30).json()["items"] == []
    assert requests.get(f"{api}/images", params={"tag": "zebra"}, headers=as_mallory, timeout=30).json()["items"] == []
    assert requests.get(f"{api}/tags", headers=as_mallory, timeout=30).json()["tags"] == []
    correction = requests.put(
        f"{api}/images/{image_id}/tags", json={"reject": ["zebra"]}, headers=as_mallory, timeout=30
    )
    assert correction.status_code == 404
    assert requests.delete(f"{api}/images/{image_id}", headers=as_mallory, timeout=30).status_code == 404

    # Mallory's own upload form cannot be pointed at alice's key.
    created = requests.post(
        f"{api}/uploads",
        json={"filename": "x.jpg", "content_type": "image/jpeg", "size": 100},
        headers=as_mallory,
        timeout=30,
    ).json()
    fields = {**created["upload"]["fields"], "key": f"uploads/{alice}/{image_id}"}
    hijack = requests.post(created["upload"]["url"], data=fields, files={"file": ("x.jpg", b"\xff" * 100)}, timeout=30)
    assert hijack.status_code == 403

    # Alice's image is as it was.
    after = requests.get(f"{api}/images/{image_id}", headers=local_stack.auth(alice), timeout=30).json()
    assert after["status"] == "TAGGED" and after["tags"] == image["tags"]


def test_cors_allows_only_the_configured_origins(local_stack):
    api = local_stack.api_url
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    allowed = requests.options(f"{api}/images", headers={"Origin": local_stack.web_url, **preflight}, timeout=30)
    assert allowed.headers.get("Access-Control-Allow-Origin") == local_stack.web_url
    for origin in ("https://evil.example", "null", f"{local_stack.web_url}.evil.example"):
        foreign = requests.options(f"{api}/images", headers={"Origin": origin, **preflight}, timeout=30)
        assert "Access-Control-Allow-Origin" not in foreign.headers, origin
        answer = requests.get(f"{api}/health", headers={"Origin": origin}, timeout=30)
        assert "Access-Control-Allow-Origin" not in answer.headers, origin


def test_a_body_over_the_api_limit_is_refused_before_any_function_runs(local_stack):
    too_big = b"\xff" * (10 * 1024 * 1024 + 1)
    response = requests.post(
        f"{local_stack.api_url}/tag",
        data=too_big,
        headers={**local_stack.auth(new_user("big")), "Content-Type": "image/jpeg"},
        timeout=60,
    )
    assert response.status_code == 413
