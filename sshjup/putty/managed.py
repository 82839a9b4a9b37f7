"""Keep each managed host's PuTTY saved session in step with the inventory.

Called by ``hosts._change``: :func:`plan` runs before anything is written (every error, such as a
foreign or hand-edited session, an encrypted key or a missing puttygen, is raised there, so the
ssh config and the sessions are written together or not at all); :func:`apply` runs after the
ssh config is in place. The digests of what sshjup wrote live in the machine-local state file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sshjup.errors import InvalidInput
from sshjup.models import Target
from sshjup.records import dataclass, field
from sshjup.ssh import openssh
from sshjup.store import paths, state

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from sshjup.putty.store import SessionStore
    from sshjup.putty.sync import SessionPlan
    from sshjup.store.inventory import Inventory


def putty_enabled(target: Target) -> bool:
    """``putty: true/false`` in the inventory (``--putty``), else on for Windows only.

    A ``~/.putty`` that appears (any PuTTY run makes one) does not turn PuTTY on for every host.
    """
    if target.putty is not None:
        return target.putty
    return sys.platform == "win32"


def digest_key(store: SessionStore, name: str) -> str:
    return f"putty:{store.location(name)}"


def recorded_digest(st: state.State, store: SessionStore, name: str) -> str | None:
    """The digest sshjup recorded for the session ``name``.

    After a run killed while writing sessions, a session not rewritten yet still has the
    digest it had before (``st.pending``): that one is sshjup's too.
    """
    key = digest_key(store, name)
    digest = st.digests.get(key)
    old = st.pending.get(key)
    if old is not None and old != digest:
        from sshjup.putty.store import settings_digest  # noqa: PLC0415

        current = store.read(name)
        if current is not None and settings_digest(current) == old:
            return old
    return digest


@dataclass
class PuttyPlan:
    """The session writes and deletes one change needs."""

    store: SessionStore | None = None
    writes: list[SessionPlan] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.deletes) or any(
            p.action != "unchanged" or (p.key is not None and p.key.action == "convert")
            for p in self.writes
        )


def plan(ssh_config: Path, before: dict[str, Target], inv: Inventory, *, force: bool) -> PuttyPlan:
    """What to write and delete in PuTTY's store; raises before anything is written."""
    default: list[bool] = []  # for hosts without `putty:`, the same answer: ask the store once

    def enabled(target: Target) -> bool:
        if target.putty is not None:
            return target.putty
        if not default:
            default.append(putty_enabled(target))
        return default[0]

    wanted = [t for t in inv.targets() if enabled(t)]
    dropped = [
        t
        for name, t in before.items()
        if (name not in inv.hosts or not enabled(inv.hosts[name])) and enabled(t)
    ]
    result = PuttyPlan()
    if not wanted and not dropped:
        return result
    from sshjup.putty import sync  # noqa: PLC0415
    from sshjup.putty.store import get_store  # noqa: PLC0415

    store = get_store()
    result.store = store
    st = state.load()
    for target in wanted:
        digest = recorded_digest(st, store, target.alias)
        unchanged = before.get(target.name) == target
        if (
            unchanged
            and digest is not None
            and sync.session_state(target.alias, store, digest) == "managed"
            and "SSHManualHostKeys" in (store.read(target.alias) or {})
        ):
            continue  # up to date, host key pinned: nothing to ask ssh or puttygen
        if (
            unchanged
            and not force
            and sync.session_state(target.alias, store, digest) == "hand-edited"
        ):
            # Nothing of this host changes: its hand edit must not block other hosts' changes.
            result.warnings.append(
                f"PuTTY {target.alias}: the session was edited by hand; left as it is "
                f"(`sshjup edit {target.name} --force` writes sshjup's version)"
            )
            continue
        full, known_hosts = as_ssh_sees_it(ssh_config, target)
        session = sync.plan_session(
            full, store, known_hosts_path=known_hosts, managed_digest=digest, force=force
        )
        result.writes.append(session)
        result.warnings.extend(f"PuTTY {session.name}: {w}" for w in session.warnings)
        if session.action != "unchanged":
            result.messages.append(f"PuTTY: {session.action} session {session.location}")
            result.messages.extend(f"    {c}" for c in session.changes)
        if session.key is not None and session.key.action == "convert":
            result.messages.append(f"PuTTY: convert the key: {session.key.command_text}")
    for target in dropped:
        digest = recorded_digest(st, store, target.alias)
        state_now = sync.session_state(target.alias, store, digest)
        if state_now == "hand-edited" and not force:
            sync.remove_session(target.alias, store, digest)  # raises HandEdited
        if state_now in ("managed", "hand-edited"):
            result.deletes.append(target.alias)
            result.messages.append(f"PuTTY: delete session {store.location(target.alias)}")
    return result


def apply(putty_plan: PuttyPlan, *, force: bool) -> None:
    """Write and delete the planned sessions; record the digests of what was written."""
    store = putty_plan.store
    if store is None or not (putty_plan.writes or putty_plan.deletes):
        return
    from sshjup.putty import sync  # noqa: PLC0415

    st = state.load()
    # First record what is about to be written (and what was there before), so a run killed
    # or failing half-way (SIGKILL, a full disk) leaves sessions the next run still owns.
    for session in putty_plan.writes:
        key = digest_key(store, session.name)
        if session.current is not None:
            from sshjup.putty.store import settings_digest  # noqa: PLC0415

            st.pending[key] = settings_digest(session.current)
        st.digests[key] = session.digest
    if any(p.action != "unchanged" for p in putty_plan.writes):
        state.save(st)
    for session in putty_plan.writes:
        st.digests[digest_key(store, session.name)] = sync.apply_session(session)
    for name in putty_plan.deletes:
        key = digest_key(store, name)
        digest = recorded_digest(st, store, name)
        sync.remove_session(name, store, digest, force=force)
        st.digests.pop(key, None)
        st.pending.pop(key, None)
    for session in putty_plan.writes:
        st.pending.pop(digest_key(store, session.name), None)
    state.save(st)
    # The plan's lines read as what to do; once done, they say what was done.
    done = {
        "PuTTY: create session ": "PuTTY: created session ",
        "PuTTY: update session ": "PuTTY: updated session ",
        "PuTTY: delete session ": "PuTTY: deleted session ",
        "PuTTY: convert the key: ": "PuTTY: converted the key with: ",
    }
    for i, line in enumerate(putty_plan.messages):
        for planned, did in done.items():
            if line.startswith(planned):
                putty_plan.messages[i] = did + line.removeprefix(planned)


def as_ssh_sees_it(ssh_config: Path, target: Target) -> tuple[Target, Path | None]:
    """Fill what the Host block leaves to ssh (user, key) from ``ssh -G``, and find known_hosts.

    PuTTY has no ``Host *``: a user or key that the user's other ssh config supplies must be
    written into the session, or PuTTY would prompt for it.
    """
    resolved = openssh.resolve(
        ssh_config, target.alias, use_default=paths.is_default_ssh_config(ssh_config)
    )
    if not resolved.ok:
        return target, _default_known_hosts()
    changes: dict[str, object] = {}
    if target.user is None and resolved.get("user"):
        changes["user"] = resolved.get("user")
    if target.identity_file is None:
        existing = [f for f in resolved.identity_files if Path(_expand(f)).is_file()]
        if existing:
            changes["identity_file"] = existing[0]
    known = (resolved.get("userknownhostsfile") or "").split()
    known_hosts = Path(_expand(known[0])) if known else _default_known_hosts()
    try:
        filled = target.with_changes(**changes) if changes else target
    except InvalidInput:
        filled = target  # a value sshjup cannot write stays unset; PuTTY will ask for it
    return filled, known_hosts


def _expand(path: str) -> str:
    if path == "~" or path.startswith("~/"):
        return str(paths.ssh_home()) + path[1:]
    return os.path.expanduser(path)


def _default_known_hosts() -> Path:
    return paths.ssh_home() / ".ssh" / "known_hosts"


__all__ = [
    "PuttyPlan",
    "apply",
    "as_ssh_sees_it",
    "digest_key",
    "plan",
    "putty_enabled",
    "recorded_digest",
]
