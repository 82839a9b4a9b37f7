"""The one entry point for callers: plan, write and remove a target's PuTTY saved session.

Ownership (design.md: sshjup never touches what it did not create):

* the caller keeps, per host, the digest :func:`apply_session` returns (in the inventory);
* a session that exists while the caller has no digest for it was not made by sshjup: it is
  never written or deleted (:class:`~sshjup.errors.Conflict`, or ``"foreign"``);
* a session whose content no longer matches the digest was changed by hand (in PuTTY's
  dialog, regedit or an editor): it is not overwritten or deleted without ``force=True``
  (:class:`~sshjup.errors.HandEdited`, with the keys that differ).

Everything that can fail (bad name, missing key file, encrypted key, no puttygen, foreign or
hand-edited session) fails in :func:`plan_session`, before anything is written, so the caller
can plan the ssh config and the PuTTY session and then write both, or neither.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from sshjup.errors import Conflict, HandEdited, PuttyStoreError
from sshjup.models import Target
from sshjup.putty.escape import validate_session_name
from sshjup.putty.keys import KeyPlan, apply_key, plan_key, ppk_path_for
from sshjup.putty.regfile import render_reg
from sshjup.putty.settings import (
    DEFAULT_SSH_PORT,
    KnownHostKey,
    Settings,
    SettingValue,
    known_host_keys,
    session_settings,
)
from sshjup.putty.store import SessionStore, settings_digest
from sshjup.records import dataclass
from sshjup.store.fileio import read_bytes

SessionState = Literal["missing", "foreign", "hand-edited", "managed"]
_MAX_CHANGES_SHOWN = 12


@dataclass(frozen=True)
class SessionPlan:
    """What :func:`apply_session` will do for one target."""

    name: str
    store: SessionStore
    action: Literal["create", "update", "unchanged"]
    settings: Settings  # the full session to write (the user's Default Settings included)
    current: Settings | None  # what the store holds now
    changes: tuple[str, ...]  # "+ Key=value", "- Key=value", "~ Key: old -> new"
    warnings: tuple[str, ...]
    key: KeyPlan | None  # how the identity file becomes a .ppk (None: no identity file)
    digest: str  # the digest of the session once written: store it in the inventory

    @property
    def location(self) -> str:
        return self.store.location(self.name)


@dataclass(frozen=True)
class RegExport:
    """A ``.reg`` export of PuTTY sessions."""

    data: bytes  # the .reg file (UTF-16LE with BOM)
    warnings: tuple[str, ...]


def read_known_host_keys(
    known_hosts_path: Path | None, host: str, port: int | None
) -> list[KnownHostKey]:
    """The host's keys from a known_hosts file (``[]`` when the file is missing)."""
    if known_hosts_path is None:
        return []
    data = read_bytes(Path(os.path.expanduser(known_hosts_path)))
    if data is None:
        return []
    return known_host_keys(data.decode("utf-8", errors="replace"), host, port)


def diff_settings(
    old: Mapping[str, SettingValue] | None, new: Mapping[str, SettingValue]
) -> tuple[str, ...]:
    """Readable changes from ``old`` to ``new``: ``+ K=v``, ``- K=v``, ``~ K: a -> b``."""
    old = old or {}
    lines: list[str] = []
    for key, value in new.items():
        if key not in old:
            lines.append(f"+ {key}={value}")
        elif str(old[key]) != str(value) or type(old[key]) is not type(value):
            lines.append(f"~ {key}: {old[key]!r} -> {value!r}")
    lines.extend(f"- {key}={value}" for key, value in old.items() if key not in new)
    return tuple(lines)


def _summary(changes: Sequence[str]) -> str:
    shown = list(changes[:_MAX_CHANGES_SHOWN])
    if len(changes) > _MAX_CHANGES_SHOWN:
        shown.append(f"... and {len(changes) - _MAX_CHANGES_SHOWN} more")
    return "\n".join("  " + line for line in shown)


def session_state(name: str, store: SessionStore, managed_digest: str | None) -> SessionState:
    """``missing``, ``foreign`` (not sshjup's), ``hand-edited`` or ``managed`` (unchanged)."""
    current = store.read(validate_session_name(name))
    if current is None:
        return "missing"
    if managed_digest is None:
        return "foreign"
    return "managed" if settings_digest(current) == managed_digest else "hand-edited"


def _foreign(name: str, store: SessionStore) -> Conflict:
    msg = (
        f"a PuTTY session named {name!r} already exists ({store.location(name)}) and was not "
        "created by sshjup; it is left as it is"
    )
    hint = "rename or delete it in PuTTY, or choose another --name, or use --no-putty"
    return Conflict(msg, hint=hint)


def plan_session(
    target: Target,
    store: SessionStore,
    *,
    known_hosts_path: Path | None,
    managed_digest: str | None,
    force: bool = False,
    check_key: bool = True,
) -> SessionPlan:
    """Plan the session ``target.alias`` (``jup-NAME``); nothing is written.

    ``managed_digest`` is what :func:`apply_session` returned last time (``None`` if sshjup
    never wrote this session). ``check_key=False`` skips the identity-file checks (for a
    read-only status listing).
    """
    name = validate_session_name(target.alias)
    key: KeyPlan | None = None
    ppk: str | None = None
    if target.identity_file is not None:
        if check_key:
            key = plan_key(target.identity_file)
            ppk = str(key.ppk_path)
        else:
            ppk = str(ppk_path_for(target.identity_file))
    host_keys = read_known_host_keys(known_hosts_path, target.hostname, target.port)
    rendered = session_settings(
        target, ppk_path=ppk, host_keys=host_keys, defaults=store.read_defaults()
    )
    settings = rendered.values
    planned = store.normalize(settings)
    current = store.read(name)
    changes = diff_settings(current, planned)
    if current is None:
        action: Literal["create", "update", "unchanged"] = "create"
    else:
        if managed_digest is None:
            raise _foreign(name, store)
        if settings_digest(current) != managed_digest and not force:
            msg = (
                f"the PuTTY session {name!r} ({store.location(name)}) was changed since sshjup "
                "wrote it; it differs from what sshjup would write in:\n" + _summary(changes)
            )
            hint = "keep your edits by leaving it (--no-putty), or overwrite them with --force"
            raise HandEdited(msg, hint=hint)
        action = "unchanged" if not changes else "update"
    return SessionPlan(
        name=name,
        store=store,
        action=action,
        settings=settings,
        current=current,
        changes=changes,
        warnings=rendered.warnings,
        key=key,
        digest=settings_digest(planned),
    )


def apply_session(plan: SessionPlan) -> str:
    """Convert the key if needed, write the session, and return its digest (to record)."""
    if plan.key is not None:
        apply_key(plan.key)
    if plan.action == "unchanged":
        return plan.digest
    plan.store.write(plan.name, plan.settings)
    written = plan.store.read(plan.name)
    digest = settings_digest(written or {})
    if digest != plan.digest:
        msg = f"the PuTTY session {plan.name!r} reads back differently from what was written"
        raise PuttyStoreError(msg, hint=f"check {plan.location}")
    return digest


def remove_session(
    name: str, store: SessionStore, managed_digest: str | None, *, force: bool = False
) -> Literal["deleted", "missing", "foreign"]:
    """Delete sshjup's session ``name``; a session sshjup did not create is left alone.

    Raises :class:`HandEdited` (nothing deleted) when the session was changed by hand, unless
    ``force``. The ``.ppk`` next to the key is kept (it may serve other sessions).
    """
    state = session_state(name, store, managed_digest)
    if state in ("missing", "foreign"):
        return state
    if state == "hand-edited" and not force:
        where = store.location(name)
        msg = f"the PuTTY session {name!r} ({where}) was changed since sshjup wrote it"
        hint = "delete it in PuTTY yourself, or use --force to delete it anyway"
        raise HandEdited(msg, hint=hint)
    store.delete(name)
    return "deleted"


def export_reg(
    targets: Sequence[Target],
    *,
    known_hosts_path: Path | None,
    ppk_paths: Mapping[str, str] | None = None,
    replace: bool = False,
) -> RegExport:
    """A ``.reg`` file with the sessions of ``targets``, for a Windows machine.

    ``ppk_paths`` maps a target name to the ``.ppk`` path *on that Windows machine*
    (``C:/Users/alice/.ssh/id_ed25519.ppk``); without one, PublicKeyFile is left out and a
    warning says so. The user's Default Settings there are not known, so PuTTY's built-in
    defaults apply to everything sshjup does not set.
    """
    sessions: dict[str, Settings] = {}
    warnings: list[str] = []
    for target in targets:
        ppk = (ppk_paths or {}).get(target.name)
        host_keys = read_known_host_keys(known_hosts_path, target.hostname, target.port)
        rendered = session_settings(target, ppk_path=ppk, host_keys=host_keys)
        sessions[validate_session_name(target.alias)] = rendered.values
        warnings.extend(f"{target.alias}: {w}" for w in rendered.warnings)
        if ppk is None and target.identity_file is not None:
            warnings.append(
                f"{target.alias}: set the key in PuTTY (Connection > SSH > Auth > Credentials) "
                "after the import; the .reg does not know where the .ppk is on Windows"
            )
    return RegExport(render_reg(sessions, replace=replace), tuple(dict.fromkeys(warnings)))


__all__ = [
    "DEFAULT_SSH_PORT",
    "RegExport",
    "SessionPlan",
    "SessionState",
    "apply_session",
    "diff_settings",
    "export_reg",
    "plan_session",
    "read_known_host_keys",
    "remove_session",
    "session_state",
]
