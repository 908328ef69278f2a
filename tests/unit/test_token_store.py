"""TokenStore: keychain when there is one, visible in-memory fallback when there is not.

No OS keychain exists in CI, so `DictKeyring` below is a test double standing in for one
(a real keyring.backend.KeyringBackend subclass that keeps secrets in a dict).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from ravatar_live.token_store import SERVICE_NAME, TokenStore, account_for

ACCOUNT = account_for("project-1", "user-1")


class DictKeyring(KeyringBackend):
    """Test double for an OS keychain."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


class BrokenKeyring(DictKeyring):
    """Test double for a keychain that is present but locked or failing."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


class CountingKeyring(DictKeyring):
    """Test double that counts how often the store asks whether it can keep secrets."""

    asked = 0

    @property
    def priority(self) -> int:  # type: ignore[override]  # a plain attribute in DictKeyring
        CountingKeyring.asked += 1
        return 1


def test_the_keychain_is_looked_for_at_first_use_not_when_the_store_is_made() -> None:
    CountingKeyring.asked = 0
    store = TokenStore(backend=CountingKeyring())
    assert CountingKeyring.asked == 0
    assert store.persistent is True
    assert store.load(ACCOUNT) is None
    assert CountingKeyring.asked == 1


def test_keychain_backed_store_persists_under_the_service_name() -> None:
    backend = DictKeyring()
    store = TokenStore(backend=backend)
    assert store.persistent is True
    store.save(ACCOUNT, "jwt-1")
    assert backend.secrets == {(SERVICE_NAME, "project-1:user-1"): "jwt-1"}
    assert TokenStore(backend=backend).load(ACCOUNT) == "jwt-1"  # a later run reads it back
    store.delete(ACCOUNT)
    store.delete(ACCOUNT)  # deleting twice is fine
    assert store.load(ACCOUNT) is None


def test_no_keychain_falls_back_to_memory_and_says_so() -> None:
    # tests/conftest.py sets PYTHON_KEYRING_BACKEND to keyring's `fail` backend.
    assert isinstance(keyring.get_keyring(), fail.Keyring)
    store = TokenStore()
    assert store.persistent is False
    assert "memory" in store.explanation and "keychain" in store.explanation
    store.save(ACCOUNT, "jwt-2")
    assert store.load(ACCOUNT) == "jwt-2"
    store.delete(ACCOUNT)
    assert store.load(ACCOUNT) is None


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()])
def test_unusable_backends_are_not_trusted(backend: KeyringBackend) -> None:
    assert TokenStore(backend=backend).persistent is False


def test_failing_keychain_switches_to_memory_without_losing_the_token() -> None:
    store = TokenStore(backend=BrokenKeyring())
    assert store.persistent is True
    store.save(ACCOUNT, "jwt-3")
    assert store.persistent is False
    assert "KeyringLocked" in store.explanation
    assert store.load(ACCOUNT) == "jwt-3"


@pytest.mark.skipif(sys.platform == "darwin", reason="the search is spared everywhere but macOS")
def test_looking_for_the_keychain_runs_no_external_program() -> None:
    # A fresh interpreter without tests/conftest.py's backend choice, so that keyring really
    # loads its backends; subprocess.Popen is wrapped to record what would run (ldconfig, gcc
    # and ld, from ctypes.util.find_library). No keychain answers here, so none is touched.
    code = textwrap.dedent("""
        import subprocess, sys
        started = []
        real_init = subprocess.Popen.__init__
        def recording_init(self, args, *rest, **kw):
            started.append(args if isinstance(args, str) else " ".join(map(str, args)))
            real_init(self, args, *rest, **kw)
        subprocess.Popen.__init__ = recording_init
        from ravatar_live.token_store import TokenStore
        store = TokenStore()
        store.load("someone")
        assert "keyring.backends.SecretService" in sys.modules, "keyring looked at its backends"
        print(repr(started))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
