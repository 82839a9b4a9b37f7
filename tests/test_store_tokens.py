"""Tokens and passwords in the keyring: where they go, what is refused, the precedence chain.

Every test sets the keyring backend explicitly with ``keyring.set_keyring`` and restores the
previous one; conftest already points PYTHON_KEYRING_BACKEND at keyring's fail backend and
XDG_DATA_HOME at a temp dir, so nothing reaches the real keyring.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import KeyringLocked, PasswordSetError

from sshjup.errors import InvalidInput, SecretStoreError, SecretStoreUnavailable
from sshjup.store.tokens import (
    ALLOW_INSECURE_ENV,
    SERVICE,
    TokenStore,
    keyring_username,
    resolve_token,
    validate_secret,
)
from tests.support.memkeyring import MemoryKeyring

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef"


@pytest.fixture
def use_backend() -> Iterator[Callable[[KeyringBackend], KeyringBackend]]:
    """Select a keyring backend for the test; the previous one is restored afterwards."""
    prev = keyring.get_keyring()

    def use(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    try:
        yield use
    finally:
        keyring.set_keyring(prev)


@pytest.fixture
def memory(use_backend: Callable[[KeyringBackend], KeyringBackend]) -> MemoryKeyring:
    backend = MemoryKeyring()
    use_backend(backend)
    return backend


class _Plaintext(MemoryKeyring):
    """Stands in for keyrings.alt's PlaintextKeyring when keyrings.alt is not installed."""

    priority = 0.5


_Plaintext.__module__ = "keyrings.alt.file"
_Plaintext.__qualname__ = "PlaintextKeyring"


def _plaintext_backend() -> KeyringBackend:
    """keyrings.alt's real PlaintextKeyring (its file under the test's XDG_DATA_HOME) if
    installed, else a class with the same name and module."""
    try:
        from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return _Plaintext()
    backend: KeyringBackend = PlaintextKeyring()
    return backend


class _Raising(MemoryKeyring):
    """A backend whose every call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


# -- where secrets go -------------------------------------------------------------------------


def test_token_and_password_live_under_service_sshjup_keyed_by_alias(memory: MemoryKeyring) -> None:
    store = TokenStore()
    store.set("jup-gpu", TOKEN)
    store.set("jup-gpu", "correct horse battery staple", "password")

    assert memory.store == {
        (SERVICE, "jup-gpu"): TOKEN,
        (SERVICE, "jup-gpu:password"): "correct horse battery staple",
    }
    assert store.get("jup-gpu") == TOKEN
    assert store.get("jup-gpu", "password") == "correct horse battery staple"
    assert keyring_username("jup-gpu", "password") == "jup-gpu:password"


def test_get_of_a_missing_secret_is_none_and_delete_reports_whether_it_deleted(
    memory: MemoryKeyring,
) -> None:
    store = TokenStore()
    assert store.get("jup-gpu") is None
    assert store.delete("jup-gpu") is False
    store.set("jup-gpu", TOKEN)
    assert store.delete("jup-gpu") is True
    assert store.get("jup-gpu") is None
    assert memory.store == {}


def test_setting_again_replaces_the_secret(memory: MemoryKeyring) -> None:
    store = TokenStore()
    store.set("jup-gpu", "first-token")
    store.set("jup-gpu", "second-token")
    assert store.get("jup-gpu") == "second-token"


@pytest.mark.parametrize("alias", ["gpu", "jup-", "jup-GPU", "jup-a b", "jup-x\nProxyCommand"])
def test_only_sshjup_aliases_name_a_secret(memory: MemoryKeyring, alias: str) -> None:
    with pytest.raises(InvalidInput):
        TokenStore().set(alias, TOKEN)


@pytest.mark.parametrize(
    ("value", "kind"),
    [("", "token"), ("s3cr3t x9", "token"), ("s3cr3t9\n", "token"), ("s3c\nr3t", "password")],
)
def test_unusable_secrets_are_refused_without_quoting_them(value: str, kind: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_secret(value, kind)  # type: ignore[arg-type]
    for part in value.split():
        assert part not in str(info.value)
        assert part not in (info.value.hint or "")


def test_a_password_may_hold_spaces_and_any_printable_character() -> None:
    assert validate_secret("pässwörd with spaces ✓", "password")


# -- refusals: no backend, disabled keyring, plain text ---------------------------------------


def test_fail_backend_means_unavailable_with_the_documented_fixes(
    use_backend: Callable[[KeyringBackend], KeyringBackend],
) -> None:
    use_backend(fail.Keyring())  # type: ignore[no-untyped-call]
    store = TokenStore()
    for action in (
        lambda: store.get("jup-gpu"),
        lambda: store.set("jup-gpu", TOKEN),
        lambda: store.delete("jup-gpu"),
    ):
        with pytest.raises(SecretStoreUnavailable) as info:
            action()
        err = info.value
        assert err.exit_code == 7
        assert str(err) == "no keyring backend is available to store Jupyter tokens and passwords"
        assert err.hint is not None
        for fix in ("PYTHON_KEYRING_BACKEND", "keyringrc.cfg", "SSHJUP_TOKEN", "--token"):
            assert fix in err.hint
        assert TOKEN not in str(err)


def test_the_null_backend_is_refused_even_with_the_insecure_opt_in(
    use_backend: Callable[[KeyringBackend], KeyringBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_backend(null.Keyring())  # type: ignore[no-untyped-call]
    monkeypatch.setenv(ALLOW_INSECURE_ENV, "1")
    with pytest.raises(SecretStoreUnavailable, match="keyring is disabled"):
        TokenStore().set("jup-gpu", TOKEN)


def test_a_plaintext_backend_is_refused_unless_the_user_opts_in(
    use_backend: Callable[[KeyringBackend], KeyringBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = use_backend(_plaintext_backend())
    monkeypatch.delenv(ALLOW_INSECURE_ENV, raising=False)
    with pytest.raises(SecretStoreUnavailable) as info:
        TokenStore().set("jup-gpu", TOKEN)
    assert "plain-text" in str(info.value)
    assert ALLOW_INSECURE_ENV in (info.value.hint or "")
    assert backend.get_password(SERVICE, "jup-gpu") is None  # nothing was written

    monkeypatch.setenv(ALLOW_INSECURE_ENV, "1")
    store = TokenStore()
    store.set("jup-gpu", TOKEN)
    assert store.get("jup-gpu") == TOKEN
    assert store.delete("jup-gpu") is True


def test_the_opt_in_can_be_given_in_code_instead_of_the_environment(
    use_backend: Callable[[KeyringBackend], KeyringBackend],
) -> None:
    use_backend(_plaintext_backend())
    TokenStore(allow_insecure=True, environ={}).set("jup-gpu", TOKEN)
    with pytest.raises(SecretStoreUnavailable):
        TokenStore(environ={ALLOW_INSECURE_ENV: "0"}).get("jup-gpu")


def test_a_chain_whose_first_backend_is_plaintext_is_refused(
    use_backend: Callable[[KeyringBackend], KeyringBackend],
) -> None:
    class ChainerBackend(MemoryKeyring):
        backends: list[KeyringBackend] = []  # noqa: RUF012 (mirrors keyring's classproperty)

    ChainerBackend.__module__ = "keyring.backends.chainer"
    ChainerBackend.__qualname__ = "ChainerBackend"
    chain = ChainerBackend()
    chain.backends = [_plaintext_backend(), MemoryKeyring()]
    use_backend(chain)
    with pytest.raises(SecretStoreUnavailable, match="plain-text"):
        TokenStore(environ={}).get("jup-gpu")
    chain.backends = [MemoryKeyring(), _plaintext_backend()]
    TokenStore(environ={}).set("jup-gpu", TOKEN)  # writes go to the secure first backend


def test_a_backend_that_cannot_be_loaded_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no_such_module.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with pytest.raises(SecretStoreUnavailable, match="cannot be loaded") as info:
        TokenStore().get("jup-gpu")
    assert "PYTHON_KEYRING_BACKEND" in (info.value.hint or "")


def test_a_locked_keyring_is_unavailable_with_a_hint_to_unlock(
    use_backend: Callable[[KeyringBackend], KeyringBackend],
) -> None:
    use_backend(_Raising(KeyringLocked("collection is locked")))
    with pytest.raises(SecretStoreUnavailable, match="locked") as info:
        TokenStore().get("jup-gpu")
    assert "unlock" in (info.value.hint or "")


def test_backend_errors_never_quote_the_secret(
    use_backend: Callable[[KeyringBackend], KeyringBackend],
) -> None:
    use_backend(_Raising(PasswordSetError(f"could not save {TOKEN} for jup-gpu")))
    with pytest.raises(SecretStoreError) as info:
        TokenStore().set("jup-gpu", TOKEN)
    assert not isinstance(info.value, SecretStoreUnavailable)
    assert TOKEN not in str(info.value)
    assert "***" in str(info.value)
    assert info.value.__cause__ is None  # the original exception (and its text) is not chained


def test_unexpected_backend_failures_become_secret_store_errors(
    use_backend: Callable[[KeyringBackend], KeyringBackend],
) -> None:
    use_backend(_Raising(OSError("D-Bus went away")))
    with pytest.raises(SecretStoreError, match="D-Bus went away"):
        TokenStore().get("jup-gpu")


# -- the precedence chain ---------------------------------------------------------------------


def test_precedence_is_cli_then_environment_then_keyring(memory: MemoryKeyring) -> None:
    store = TokenStore()
    store.set("jup-gpu", "from-keyring")
    assert resolve_token("jup-gpu", cli_value="from-cli", env_value="from-env", store=store) == (
        "from-cli",
        "cli",
    )
    assert resolve_token("jup-gpu", cli_value=None, env_value="from-env", store=store) == (
        "from-env",
        "env",
    )
    assert resolve_token("jup-gpu", cli_value=None, env_value=None, store=store) == (
        "from-keyring",
        "keyring",
    )
    store.delete("jup-gpu")
    assert resolve_token("jup-gpu", cli_value=None, env_value=None, store=store) == (None, "none")


def test_empty_values_count_as_not_given_and_whitespace_is_stripped(
    memory: MemoryKeyring,
) -> None:
    store = TokenStore()
    store.set("jup-gpu", "from-keyring")
    assert resolve_token("jup-gpu", cli_value="", env_value="  ", store=store) == (
        "from-keyring",
        "keyring",
    )
    assert resolve_token("jup-gpu", cli_value=None, env_value="tok\n", store=store) == (
        "tok",
        "env",
    )


def test_cli_and_environment_tokens_never_touch_a_broken_keyring(
    use_backend: Callable[[KeyringBackend], KeyringBackend],
) -> None:
    use_backend(fail.Keyring())  # type: ignore[no-untyped-call]
    store = TokenStore()
    assert resolve_token("jup-gpu", cli_value="t1", env_value=None, store=store)[1] == "cli"
    assert resolve_token("jup-gpu", cli_value=None, env_value="t2", store=store)[1] == "env"
    assert resolve_token("jup-gpu", cli_value=None, env_value=None, store=None) == (None, "none")
    with pytest.raises(SecretStoreUnavailable):
        resolve_token("jup-gpu", cli_value=None, env_value=None, store=store)


def test_keyring_is_not_imported_when_the_token_comes_from_the_command_line() -> None:
    code = (
        "import sys\n"
        "from sshjup.store.tokens import TokenStore, resolve_token\n"
        "resolve_token('jup-gpu', cli_value='t', env_value=None, store=TokenStore())\n"
        "resolve_token('jup-gpu', cli_value=None, env_value='t', store=TokenStore())\n"
        "print('keyring' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "False"
