"""Jupyter tokens and passwords in the OS keyring. The only module that imports ``keyring``.

What is stored where (docs/jupyter.md, docs/security.md):

* service ``sshjup``; username = the host alias (``jup-gpu``) for the Jupyter token and
  ``jup-gpu:password`` for the Jupyter password (the plain password, kept for the user's
  convenience; the remote only ever receives its hash).
* ``keyring`` is imported inside the functions: importing it costs about 70 ms, which commands
  that need no secret should not pay. ``--token`` and ``$SSHJUP_TOKEN`` never import it.

Refusals (never a silent fallback to plain text):

* no backend (keyring's ``fail`` backend, a locked or broken keyring, a backend that cannot be
  loaded) -> ``SecretStoreUnavailable`` with the fixes: install and select a backend
  (``PYTHON_KEYRING_BACKEND`` or ``keyringrc.cfg``), or pass the token in ``$SSHJUP_TOKEN``;
* the null backend (``keyring --disable``) stores nothing -> ``SecretStoreUnavailable``, always;
* a plain-text backend (``keyrings.alt`` ``PlaintextKeyring``, which keyring selects silently
  when keyrings.alt is installed and nothing better exists) -> ``SecretStoreUnavailable`` unless
  the user opted in with ``SSHJUP_ALLOW_INSECURE_KEYRING=1``. For keyring's chainer backend the
  backend that receives writes (the first in its chain) is the one judged.

No secret ever appears in an exception message: backend error texts are scrubbed of the secret
before they are quoted.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from sshjup.errors import InvalidInput, SecretStoreError, SecretStoreUnavailable
from sshjup.models import ALIAS_PREFIX, validate_name

if TYPE_CHECKING:
    from collections.abc import Mapping

    from keyring.backend import KeyringBackend

SERVICE = "sshjup"
TOKEN_ENV = "SSHJUP_TOKEN"  # noqa: S105 (the variable's name, not a token)
ALLOW_INSECURE_ENV = "SSHJUP_ALLOW_INSECURE_KEYRING"
PASSWORD_SUFFIX = ":password"  # noqa: S105 (a keyring username suffix)
MAX_SECRET_LENGTH = 1024

SecretKind = Literal["token", "password"]
TokenSource = Literal["cli", "env", "keyring", "none"]

# Backends that keep secrets readable by anyone who can read a file (base64 is not encryption).
_INSECURE_BACKENDS = frozenset(
    {
        "keyrings.alt.file.PlaintextKeyring",
        "keyrings.alt.pyfs.PlaintextKeyring",
    }
)
_NULL_BACKEND = "keyring.backends.null.Keyring"
_FAIL_BACKEND = "keyring.backends.fail.Keyring"
_CHAINER_BACKEND = "keyring.backends.chainer.ChainerBackend"

_FIX_HINT = (
    "install and select a keyring backend (on a desktop: gnome-keyring or KWallet with "
    "SecretStorage; headless: set PYTHON_KEYRING_BACKEND or `default-keyring` in keyringrc.cfg, "
    "see `keyring diagnose`), or pass the token for this run in the SSHJUP_TOKEN environment "
    "variable (not --token: a command line is readable by every account, and shell history "
    "keeps it)"
)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "yes", "true", "on"}


def keyring_username(alias: str, kind: SecretKind = "token") -> str:
    """The keyring username for ``alias``: ``jup-gpu`` (token) or ``jup-gpu:password``."""
    if not alias.startswith(ALIAS_PREFIX):
        msg = f"{alias!r} is not an sshjup alias (it must start with {ALIAS_PREFIX!r})"
        raise InvalidInput(msg, hint=f"use the alias, e.g. {ALIAS_PREFIX}gpu")
    validate_name(alias[len(ALIAS_PREFIX) :], "alias")
    if kind not in ("token", "password"):
        msg = f"unknown secret kind {kind!r}"
        raise InvalidInput(msg, hint="use 'token' or 'password'")
    return alias if kind == "token" else alias + PASSWORD_SUFFIX


def validate_secret(value: str, kind: SecretKind = "token") -> str:
    """Refuse an empty or unusable secret, without ever quoting it.

    A token goes into a URL and an environment variable: printable ASCII without spaces.
    A password may hold any printable character (spaces too), but no line break or control
    character, and neither may be longer than 1024 characters.
    """
    label = "token" if kind == "token" else "password"
    if not value:
        msg = f"the {label} is empty"
        raise InvalidInput(msg, hint=f"give a non-empty {label}")
    if len(value) > MAX_SECRET_LENGTH:
        msg = f"the {label} is longer than {MAX_SECRET_LENGTH} characters"
        raise InvalidInput(msg, hint=f"use a shorter {label}")
    if kind == "token":
        if not all("!" <= ch <= "~" for ch in value):
            msg = "the token may only hold printable ASCII characters without spaces"
            raise InvalidInput(msg, hint="check for a stray newline or space (value not shown)")
    elif not value.isprintable():
        msg = "the password holds a line break or another control character"
        raise InvalidInput(msg, hint="type the password again (value not shown)")
    return value


def _backend_id(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _scrub(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "***")
    return text


class TokenStore:
    """Get, set and delete sshjup's secrets in the keyring (service ``sshjup``).

    ``allow_insecure``: ``None`` reads ``$SSHJUP_ALLOW_INSECURE_KEYRING`` (``1``/``yes``/``true``)
    from ``environ`` (default: ``os.environ``) when the store is first used.
    """

    def __init__(
        self,
        *,
        service: str = SERVICE,
        allow_insecure: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.service = service
        self._allow_insecure = allow_insecure
        self._environ = environ

    @property
    def allow_insecure(self) -> bool:
        if self._allow_insecure is not None:
            return self._allow_insecure
        env = os.environ if self._environ is None else self._environ
        return _truthy(env.get(ALLOW_INSECURE_ENV))

    # -- the backend -------------------------------------------------------------------------

    def backend(self) -> KeyringBackend:
        """The keyring backend that would be used, after checking it may be used."""
        import keyring  # noqa: PLC0415 (lazy: importing keyring costs about 70 ms)

        try:
            backend = keyring.get_keyring()
        except Exception as err:  # a broken PYTHON_KEYRING_BACKEND or keyringrc.cfg
            msg = f"the configured keyring backend cannot be loaded ({type(err).__name__}: {err})"
            raise SecretStoreUnavailable(msg, hint=_FIX_HINT) from err
        self._check_backend(backend)
        return backend

    def backend_name(self) -> str:
        """``module.Class`` of the backend, for ``--debug`` and error messages (not checked)."""
        import keyring  # noqa: PLC0415

        try:
            return _backend_id(keyring.get_keyring())
        except Exception as err:
            return f"(cannot be loaded: {type(err).__name__})"

    def _check_backend(self, backend: KeyringBackend) -> None:
        name = _backend_id(backend)
        judged = backend
        if name == _CHAINER_BACKEND:
            chain = list(getattr(backend, "backends", []))
            if not chain:
                msg = "no keyring backend is available (keyring's chain of backends is empty)"
                raise SecretStoreUnavailable(msg, hint=_FIX_HINT)
            judged = chain[0]
            name = _backend_id(judged)
        if name == _FAIL_BACKEND:
            msg = "no keyring backend is available to store Jupyter tokens and passwords"
            raise SecretStoreUnavailable(msg, hint=_FIX_HINT)
        if name == _NULL_BACKEND:
            msg = (
                "the keyring is disabled (keyring's null backend stores nothing; "
                "`keyring --disable` or PYTHON_KEYRING_BACKEND selected it)"
            )
            raise SecretStoreUnavailable(msg, hint=_FIX_HINT)
        if self._is_insecure(judged) and not self.allow_insecure:
            msg = (
                f"the keyring backend {name} keeps secrets in a plain-text file "
                "(base64 is not encryption); sshjup does not use it unless you opt in"
            )
            hint = (
                f"select a secure backend, or set {ALLOW_INSECURE_ENV}=1 to accept plain-text "
                f"storage, or pass the token in {TOKEN_ENV}"
            )
            raise SecretStoreUnavailable(msg, hint=hint)

    @staticmethod
    def _is_insecure(backend: object) -> bool:
        if _backend_id(backend) in _INSECURE_BACKENDS:
            return True
        # keyrings.alt's MultipartKeyringWrapper and similar wrappers keep the real one here.
        inner = getattr(backend, "_keyring", None)
        return inner is not None and _backend_id(inner) in _INSECURE_BACKENDS

    # -- operations --------------------------------------------------------------------------

    def get(self, alias: str, kind: SecretKind = "token") -> str | None:
        """The stored secret, or ``None`` when there is none."""
        username = keyring_username(alias, kind)
        backend = self.backend()
        try:
            value = backend.get_password(self.service, username)
        except Exception as err:
            raise self._translate(err, "read", username, None) from err
        return value if value else None

    def set(self, alias: str, secret: str, kind: SecretKind = "token") -> None:
        """Store (or replace) the secret for ``alias``."""
        username = keyring_username(alias, kind)
        validate_secret(secret, kind)
        backend = self.backend()
        try:
            backend.set_password(self.service, username, secret)
        except Exception as err:
            raise self._translate(err, "store", username, secret) from None

    def delete(self, alias: str, kind: SecretKind = "token") -> bool:
        """Delete the secret; ``False`` when nothing was stored."""
        username = keyring_username(alias, kind)
        backend = self.backend()
        from keyring.errors import PasswordDeleteError  # noqa: PLC0415

        try:
            if backend.get_password(self.service, username) is None:
                return False
            backend.delete_password(self.service, username)
        except PasswordDeleteError:
            return False
        except Exception as err:
            raise self._translate(err, "delete", username, None) from err
        return True

    def _translate(
        self, err: Exception, action: str, username: str, secret: str | None
    ) -> SecretStoreUnavailable | SecretStoreError:
        from keyring.errors import InitError, KeyringLocked, NoKeyringError  # noqa: PLC0415

        detail = _scrub(f"{type(err).__name__}: {err}", secret)
        where = f"{self.service}/{username}"
        if isinstance(err, KeyringLocked):
            msg = f"the keyring is locked; cannot {action} {where} ({detail})"
            hint = f"unlock the keyring (log in to the desktop session), or {_FIX_HINT}"
            return SecretStoreUnavailable(msg, hint=hint)
        if isinstance(err, (NoKeyringError, InitError)):
            msg = f"no usable keyring backend; cannot {action} {where} ({detail})"
            return SecretStoreUnavailable(msg, hint=_FIX_HINT)
        msg = f"the keyring could not {action} {where} ({detail})"
        return SecretStoreError(msg, hint="check the keyring with `keyring diagnose`, then retry")


def resolve_token(
    alias: str,
    *,
    cli_value: str | None,
    env_value: str | None,
    store: TokenStore | None,
) -> tuple[str | None, TokenSource]:
    """The token to use and where it came from: ``--token`` > ``$SSHJUP_TOKEN`` > keyring.

    Surrounding whitespace is stripped (a token pasted with its newline still works); an empty
    ``--token``/``$SSHJUP_TOKEN`` counts as not given. The keyring is only asked (and
    ``keyring`` only imported) when neither is given; ``store=None`` skips it. Errors from the
    keyring (``SecretStoreUnavailable``/``SecretStoreError``) propagate: the caller decides
    whether the command can go on without a token.
    """
    if cli_value is not None and cli_value.strip():
        return validate_secret(cli_value.strip(), "token"), "cli"
    if env_value is not None and env_value.strip():
        return validate_secret(env_value.strip(), "token"), "env"
    if store is None:
        return None, "none"
    value = store.get(alias, "token")
    if value is None:
        return None, "none"
    return value, "keyring"


__all__ = [
    "ALLOW_INSECURE_ENV",
    "MAX_SECRET_LENGTH",
    "PASSWORD_SUFFIX",
    "SERVICE",
    "TOKEN_ENV",
    "SecretKind",
    "TokenSource",
    "TokenStore",
    "keyring_username",
    "resolve_token",
    "validate_secret",
]
