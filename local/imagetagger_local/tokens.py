"""Local sign-in: an RS256 key pair under .local/jwt/ stands in for the Cognito user pool.

Tokens look like Cognito ID tokens (iss, aud, sub, cognito:username, token_use) so the handlers read the user the
same way in AWS and locally: from the `sub` claim that API Gateway's JWT authorizer passes on.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from imagetagger_local.config import JWT_AUDIENCE, JWT_ISSUER

KEY_ID = "imagetagger-local-1"
USER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_TOKEN_LIFETIME_S = 12 * 3600


class InvalidUserNameError(ValueError):
    """A user name the local sign-in refuses (it becomes part of S3 keys)."""


class TokenRejectedError(Exception):
    """The token is missing, malformed, badly signed, expired or for another issuer/audience."""


def ensure_key(jwt_dir: Path) -> Path:
    """Create the signing key on first use; return the private key's path."""
    private_path = jwt_dir / "private.pem"
    if private_path.exists():
        return private_path
    jwt_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Write to a temporary name, then rename: two processes racing on first use both end with one valid key.
    tmp_path = jwt_dir / f".private.{os.getpid()}.pem"
    tmp_path.write_bytes(pem)
    tmp_path.chmod(0o600)
    if private_path.exists():
        tmp_path.unlink()
    else:
        tmp_path.replace(private_path)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (jwt_dir / "public.pem").write_bytes(public)
    return private_path


def issue_token(jwt_dir: Path, user: str, lifetime_s: int = DEFAULT_TOKEN_LIFETIME_S) -> str:
    if not USER_NAME_PATTERN.match(user):
        raise InvalidUserNameError(
            f"user name {user!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    private_pem = ensure_key(jwt_dir).read_bytes()
    now = int(time.time())
    claims = {
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "sub": user,
        "cognito:username": user,
        "token_use": "id",  # nosec B105 - a claim name, not a password
        "iat": now,
        "exp": now + lifetime_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": KEY_ID})


class TokenVerifier:
    """Checks tokens the way API Gateway's JWT authorizer does: signature, expiry, issuer and audience."""

    def __init__(self, jwt_dir: Path) -> None:
        ensure_key(jwt_dir)
        self._public_pem = (jwt_dir / "public.pem").read_bytes()

    def verify(self, authorization_header: str | None) -> dict[str, Any]:
        if not authorization_header:
            raise TokenRejectedError("missing Authorization header")
        scheme, _, token = authorization_header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRejectedError("the Authorization header must be 'Bearer <token>'")
        try:
            return jwt.decode(
                token.strip(),
                self._public_pem,
                algorithms=["RS256"],
                audience=JWT_AUDIENCE,
                issuer=JWT_ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejectedError(f"invalid token: {exc}") from exc
