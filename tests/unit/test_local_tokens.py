"""Local JWTs are checked like API Gateway's JWT authorizer checks Cognito's."""

import time

import jwt
import pytest

from imagetagger_local.config import JWT_AUDIENCE, JWT_ISSUER
from imagetagger_local.tokens import InvalidUserNameError, TokenRejectedError, TokenVerifier, ensure_key, issue_token


def test_a_token_names_its_user_and_is_accepted(tmp_path):
    token = issue_token(tmp_path, "alice")
    claims = TokenVerifier(tmp_path).verify(f"Bearer {token}")
    assert claims["sub"] == "alice" and claims["iss"] == JWT_ISSUER and claims["aud"] == JWT_AUDIENCE
    assert (tmp_path / "private.pem").stat().st_mode & 0o077 == 0  # the signing key is private to its owner


def test_the_key_is_created_once_and_reused(tmp_path):
    first = ensure_key(tmp_path).read_bytes()
    issue_token(tmp_path, "bob")
    assert ensure_key(tmp_path).read_bytes() == first


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer not.a.jwt"])
def test_missing_or_malformed_headers_are_rejected(tmp_path, header):
    with pytest.raises(TokenRejectedError):
        TokenVerifier(tmp_path).verify(header)


def test_a_token_signed_by_another_key_is_rejected(tmp_path):
    forged = issue_token(tmp_path / "other", "alice")
    with pytest.raises(TokenRejectedError):
        TokenVerifier(tmp_path / "mine").verify(f"Bearer {forged}")


def test_expired_tokens_and_foreign_audiences_are_rejected(tmp_path):
    verifier = TokenVerifier(tmp_path)
    with pytest.raises(TokenRejectedError, match="expired"):
        verifier.verify(f"Bearer {issue_token(tmp_path, 'alice', lifetime_s=-10)}")
    private = (tmp_path / "private.pem").read_bytes()
    now = int(time.time())
    other_audience = jwt.encode(
        {"iss": JWT_ISSUER, "aud": "another-app", "sub": "alice", "iat": now, "exp": now + 60}, private, "RS256"
    )
    with pytest.raises(TokenRejectedError, match="(?i)audience"):
        verifier.verify(f"Bearer {other_audience}")


def test_unsigned_tokens_are_rejected(tmp_path):
    now = int(time.time())
    unsigned = jwt.encode(
        {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": "alice", "iat": now, "exp": now + 60}, None, algorithm="none"
    )
    with pytest.raises(TokenRejectedError):
        TokenVerifier(tmp_path).verify(f"Bearer {unsigned}")


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "x" * 65, "-dash", "ünï"])
def test_user_names_that_would_break_s3_keys_are_refused(tmp_path, name):
    with pytest.raises(InvalidUserNameError):
        issue_token(tmp_path, name)
