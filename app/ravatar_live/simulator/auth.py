"""JWT issuing and checking for the simulator (HS256 via PyJWT), with bulk revocation for tests."""

from __future__ import annotations

import math
import re
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass

import jwt

USER_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
PROJECT_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
RECENT_TOKENS_KEPT = 100


class TokenRejectedError(Exception):
    """A JWT that is missing, malformed, badly signed, expired or revoked; str() says which."""


@dataclass(frozen=True)
class TokenClaims:
    """What the simulator needs from a verified token."""

    user_id: str
    project_id: str
    expires_at: float


class TokenAuthority:
    """Issues and verifies tokens. `revoke_all()` invalidates every token issued so far.

    Revocation works by generation: each token carries the generation current when it was issued;
    revoking bumps the generation, so older tokens fail while tokens issued afterwards still work.
    """

    def __init__(self, ttl_s: float, secret: str | None = None) -> None:
        self._ttl_s = ttl_s
        self._secret = secret or secrets.token_hex(32)
        self._generation = 0
        self.issued = 0
        #: The latest tokens issued, for tests that prove no token leaks into logs or files.
        self.recent: deque[str] = deque(maxlen=RECENT_TOKENS_KEPT)

    def issue(self, user_id: str, project_id: str, ttl_s: float | None = None) -> str:
        """Sign a token for this user and project; `ttl_s` overrides the configured lifetime."""
        now = time.time()
        lifetime = self._ttl_s if ttl_s is None else ttl_s
        claims = {
            "sub": user_id,
            "user_id": user_id,
            "project_id": project_id,
            "iat": int(now),
            # JWT NumericDate is whole seconds; round up so a 1 s token lives at least 1 s.
            "exp": math.ceil(now + lifetime),
            "jti": uuid.uuid4().hex,
            "gen": self._generation,
        }
        self.issued += 1
        token = jwt.encode(claims, self._secret, algorithm="HS256")
        self.recent.append(token)
        return token

    def verify(self, token: str | None) -> TokenClaims:
        """Return the token's claims or raise TokenRejectedError saying why."""
        if not token:
            raise TokenRejectedError("missing token")
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"],
                                options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejectedError("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenRejectedError("invalid token") from exc
        if claims.get("gen") != self._generation:
            raise TokenRejectedError("token revoked")
        return TokenClaims(user_id=str(claims["sub"]), project_id=str(claims.get("project_id", "")),
                           expires_at=float(claims["exp"]))

    def revoke_all(self) -> None:
        """Invalidate every token issued so far."""
        self._generation += 1


def bearer_token(authorization: str | None) -> str | None:
    """The token in an `Authorization: Bearer <JWT>` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
