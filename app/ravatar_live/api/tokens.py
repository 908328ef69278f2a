"""The cached JWT and when to renew it. The token's `exp` is read WITHOUT verifying the
signature: we only need to know when it runs out, and only the server can verify it."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

# Renew this long before `exp`, so a request never leaves with a token about to lapse.
DEFAULT_REFRESH_MARGIN_S = 60.0


def token_expiry(token: str) -> float | None:
    """The `exp` claim (Unix seconds) of a JWT, or None for an opaque or unreadable token."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return float(exp)
    return None


@dataclass(frozen=True)
class CachedToken:
    """A token and the wall-clock time after which we fetch a new one (None: never)."""

    value: str
    refresh_at: float | None

    @classmethod
    def from_jwt(cls, token: str, now: float,
                 margin_s: float = DEFAULT_REFRESH_MARGIN_S) -> CachedToken:
        """Cache `token`; short-lived tokens renew at half their remaining life instead."""
        exp = token_expiry(token)
        if exp is None:
            return cls(token, None)
        margin = min(margin_s, max(0.0, (exp - now) / 2))
        return cls(token, exp - margin)

    def fresh(self, now: float) -> bool:
        """True while the token can still be sent."""
        return self.refresh_at is None or now < self.refresh_at
