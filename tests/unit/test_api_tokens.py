"""Reading a JWT's expiry without verifying it, and when the cache renews."""

from __future__ import annotations

import jwt

from ravatar_live.api.tokens import CachedToken, token_expiry


def _token(exp: float | None) -> str:
    claims = {"sub": "u"} if exp is None else {"sub": "u", "exp": exp}
    return jwt.encode(claims, "a-secret-this-client-never-knows-0123456789", algorithm="HS256")


def test_expiry_is_read_without_the_secret_even_when_expired() -> None:
    assert token_expiry(_token(1000)) == 1000.0
    assert token_expiry(_token(None)) is None
    assert token_expiry("opaque-token") is None
    assert token_expiry("eyJ.broken.x") is None


def test_refresh_60s_before_exp_for_long_lived_tokens() -> None:
    cached = CachedToken.from_jwt(_token(10_000), now=0.0)
    assert cached.refresh_at == 10_000 - 60
    assert cached.fresh(9_939.0)
    assert not cached.fresh(9_940.0)


def test_short_lived_tokens_renew_at_half_life() -> None:
    cached = CachedToken.from_jwt(_token(100), now=80.0)
    assert cached.refresh_at == 90.0
    expired = CachedToken.from_jwt(_token(50), now=80.0)
    assert not expired.fresh(80.0)


def test_opaque_tokens_never_expire_by_clock() -> None:
    assert CachedToken.from_jwt("opaque", now=0.0).fresh(1e12)
