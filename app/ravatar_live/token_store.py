"""Where the JWT is kept between runs: the OS keychain through `keyring`, else memory only.

Never in plain settings files. When no usable keychain exists (keyring's `fail` or `null`
backend, or any keychain error), the store keeps tokens in memory, sets `persistent = False`
and puts a sentence for the UI in `explanation`. The keychain is looked for at first use:
keyring and its backends take ~0.1 s to load, which the window need not wait for.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

SERVICE_NAME = "ravatar-live"


def account_for(project_id: str, user_id: str) -> str:
    """The keychain account name of one project/user pair (a JWT belongs to exactly one)."""
    return f"{project_id}:{user_id}"


def _unusable_reason(backend: KeyringBackend) -> str | None:
    """Why this backend cannot keep secrets, or None when it can."""
    module = type(backend).__module__
    if module.startswith("keyring.backends.fail") or module.startswith("keyring.backends.null"):
        return "no system keychain is available"
    try:
        priority = float(backend.priority)
    except Exception:  # a backend whose priority probe fails is not one to trust with secrets
        return "the system keychain could not be checked"
    if priority <= 0:
        return "no system keychain is available"
    return None


def _spare_the_macos_library_search() -> None:
    """keyring's macOS backend looks for three macOS frameworks when keyring loads its backends,
    on every system; on Linux each `ctypes.util.find_library` runs ldconfig, gcc and ld (~0.1 s
    before the first sign-in). The backend works on macOS only, so elsewhere its framework
    module is marked absent: the backend then reports itself unusable, as it would anyway."""
    if sys.platform != "darwin":
        # None in sys.modules is the import system's own "absent" mark (typeshed omits it).
        sys.modules.setdefault("keyring.backends.macOS.api", None)  # type: ignore[arg-type]


class TokenStore:
    """Save, load and delete tokens by account name (see `account_for`)."""

    def __init__(self, service: str = SERVICE_NAME,
                 backend: KeyringBackend | None = None) -> None:
        self.service = service
        self._memory: dict[str, str] = {}
        self._given = backend
        self._resolved = False
        self._backend: KeyringBackend | None = None
        self._persistent = False
        self._explanation = ""

    @property
    def persistent(self) -> bool:
        """Tokens outlive this run (kept in the system keychain)."""
        self._resolve()
        return self._persistent

    @property
    def explanation(self) -> str:
        """Where tokens are kept, in a sentence for the UI."""
        self._resolve()
        return self._explanation

    def _resolve(self) -> None:
        if self._resolved:
            return
        self._resolved = True
        _spare_the_macos_library_search()
        import keyring  # noqa: PLC0415 - see the module's docstring

        try:
            chosen = self._given if self._given is not None else keyring.get_keyring()
        except Exception as exc:  # keyring's own configuration can be broken in many ways
            self._fall_back(f"the system keychain could not be opened ({type(exc).__name__})")
            return
        reason = _unusable_reason(chosen)
        if reason is not None:
            self._fall_back(reason)
            return
        self._backend = chosen
        self._persistent = True
        self._explanation = "Sign-in tokens are kept in the system keychain."

    def _fall_back(self, reason: str) -> None:
        if self._backend is not None or not self._explanation:
            log.warning("token store: %s; tokens are kept in memory for this run only", reason)
        self._backend = None
        self._persistent = False
        self._explanation = (f"Sign-in tokens are kept in memory only, because {reason}. "
                            "You will be signed in again on the next start.")

    def load(self, account: str) -> str | None:
        """The stored token for `account`, or None."""
        self._resolve()
        if self._backend is not None:
            try:
                return self._backend.get_password(self.service, account)
            except Exception as exc:
                self._fall_back(f"the system keychain failed ({type(exc).__name__})")
        return self._memory.get(account)

    def save(self, account: str, token: str) -> None:
        """Store `token` for `account` (in the keychain, or in memory after a fallback)."""
        self._resolve()
        self._memory[account] = token
        if self._backend is not None:
            try:
                self._backend.set_password(self.service, account, token)
            except Exception as exc:
                self._fall_back(f"the system keychain failed ({type(exc).__name__})")

    def delete(self, account: str) -> None:
        """Forget the token for `account`; deleting a missing one is fine."""
        import keyring.errors  # noqa: PLC0415 - see the module's docstring

        self._resolve()
        self._memory.pop(account, None)
        if self._backend is not None:
            try:
                self._backend.delete_password(self.service, account)
            except keyring.errors.PasswordDeleteError:
                pass
            except Exception as exc:
                self._fall_back(f"the system keychain failed ({type(exc).__name__})")
