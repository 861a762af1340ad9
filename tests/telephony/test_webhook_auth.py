"""The carriers' webhook credentials: the generic HMAC signature, the ACS shared secret and Entra ID JWTs."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import jwt
import pytest

from answer_ninja.telephony import webhook_auth
from answer_ninja.telephony.webhook_auth import WebhookAuthError

BODY = b'{"from": "+8613800138000", "to": "+8610012345678"}'


def test_body_signature() -> None:
    signature = webhook_auth.sign_body("s3cret", BODY)
    assert signature.startswith("sha256=")
    webhook_auth.check_body_signature("s3cret", BODY, signature)
    for bad in (None, "", "sha256=00", webhook_auth.sign_body("other", BODY)):
        with pytest.raises(WebhookAuthError):
            webhook_auth.check_body_signature("s3cret", BODY, bad)
    with pytest.raises(WebhookAuthError):  # the body was changed after signing
        webhook_auth.check_body_signature("s3cret", BODY.replace(b"138", b"139"), signature)


def test_shared_secret() -> None:
    webhook_auth.check_shared_secret("acs-secret", "acs-secret")
    for bad in (None, "", "acs-secre", "acs-secret2"):
        with pytest.raises(WebhookAuthError) as refused:
            webhook_auth.check_shared_secret("acs-secret", bad)
        assert "acs-secret" not in str(refused.value)


def _rsa_pair() -> tuple[str, str]:
    crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = crypto.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _hs256_with(secret: str, claims: dict[str, object]) -> str:
    """Signed by hand: PyJWT itself refuses to sign HS256 with a PEM key, which is what the attack does."""
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), header + b"." + payload, hashlib.sha256).digest()
    return b".".join([header, payload, jwt.utils.base64url_encode(signature)]).decode()


def test_entra_jwt() -> None:
    private, public = _rsa_pair()
    other_private, _ = _rsa_pair()
    issuer = "https://login.example/tenant/v2.0"
    claims: dict[str, object] = {"aud": "api://answer-ninja", "iss": issuer, "exp": int(time.time()) + 300}
    good = jwt.encode(claims, private, algorithm="RS256")
    checked = webhook_auth.check_entra_jwt(good, public, audience="api://answer-ninja", issuer=issuer)
    assert checked["aud"] == "api://answer-ninja"
    refused = [
        jwt.encode(claims, other_private, algorithm="RS256"),  # someone else's key
        jwt.encode({**claims, "aud": "api://other"}, private, algorithm="RS256"),  # another application
        jwt.encode({**claims, "exp": int(time.time()) - 600}, private, algorithm="RS256"),  # expired
        jwt.encode({**claims, "iss": "https://evil.example"}, private, algorithm="RS256"),  # another issuer
        _hs256_with(public, claims),  # the public key used as an HMAC secret (algorithm confusion)
    ]
    for token in refused:
        with pytest.raises(WebhookAuthError):
            webhook_auth.check_entra_jwt(token, public, audience="api://answer-ninja", issuer=issuer)
