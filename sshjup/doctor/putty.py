"""Doctor checks of the PuTTY side: each host's saved session and its ``.ppk`` key."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sshjup import hosts
from sshjup.doctor.check import Check
from sshjup.errors import SshjupError
from sshjup.models import Target

if TYPE_CHECKING:
    pass


def putty_rows(where: hosts.Where) -> dict[str, dict[str, Any]]:
    """``hosts.putty_sessions`` by host name (the same states as ``sshjup putty list``)."""
    return {row["name"]: row for row in hosts.putty_sessions(where)}


def check_putty(
    where: hosts.Where, target: Target, rows: dict[str, dict[str, Any]] | SshjupError
) -> list[Check]:
    """The PuTTY session ``jup-NAME`` against the inventory, and the ``.ppk`` it names."""
    from sshjup.putty import managed  # noqa: PLC0415 (only when PuTTY is in play)

    if not managed.putty_enabled(target):
        return []
    check_id = f"putty:{target.name}"
    details: dict[str, Any] = {"host": target.name, "session": target.alias}
    if isinstance(rows, SshjupError):
        return [Check(check_id, "fail", rows.message, rows.hint, details)]
    row = rows.get(target.name)
    if row is None or row["state"] == "off":
        return []
    state_now = str(row["state"])
    details.update({"location": row["location"], "state": state_now})
    where_text = row["location"] or "PuTTY's saved sessions"
    name, alias = target.name, target.alias
    if state_now == "in-sync":
        summary = f"{alias}: the PuTTY session matches the inventory ({where_text})"
        checks = [Check(check_id, "pass", summary, None, details)]
    elif state_now == "missing":
        summary = f"{alias}: the PuTTY session is missing ({where_text})"
        fix = f"write it again from the inventory: `sshjup edit {name}`"
        checks = [Check(check_id, "warn", summary, fix, details)]
    elif state_now == "out-of-date":
        details["changes"] = _putty_changes(where, target)
        changes = details["changes"]
        shown = ", ".join(changes[:4]) + (" ..." if len(changes) > 4 else "")  # noqa: PLR2004
        summary = f"{alias}: the PuTTY session differs from the inventory" + (
            f" ({shown})" if shown else ""
        )
        fix = f"write it again from the inventory: `sshjup edit {name}`"
        checks = [Check(check_id, "warn", summary, fix, details)]
    elif state_now == "hand-edited":
        summary = f"{alias}: the PuTTY session was changed in PuTTY since sshjup wrote it"
        fix = (
            f"overwrite the changes from the inventory: `sshjup edit {name} --force`; to keep "
            "them, first save the session under another name in PuTTY (Load, rename, Save)"
        )
        checks = [Check(check_id, "warn", summary, fix, details)]
    else:  # foreign
        summary = (
            f"{alias}: a PuTTY session of that name exists that sshjup did not write, so "
            "sshjup leaves it alone and writes none"
        )
        fix = (
            f"rename or delete it in PuTTY (then `sshjup edit {name}` writes sshjup's), or turn "
            f"PuTTY off for {name}: "
            f"`sshjup edit {name} --no-putty`"
        )
        return [Check(check_id, "warn", summary, fix, details)]
    if state_now != "missing":
        checks.extend(_ppk(target))
    return checks


def _putty_changes(where: hosts.Where, target: Target) -> list[str]:
    """What differs from the session sshjup would write (host keys left aside, as in
    ``sshjup putty list``: they come from known_hosts)."""
    from sshjup.putty import managed, sync  # noqa: PLC0415
    from sshjup.putty.store import get_store  # noqa: PLC0415
    from sshjup.store import state  # noqa: PLC0415

    store = get_store()
    digest = managed.recorded_digest(state.load(), store, target.alias)
    try:
        full, _ = managed.as_ssh_sees_it(where.ssh_config, target)  # as apply writes it
        planned = sync.plan_session(
            full, store, known_hosts_path=None, managed_digest=digest, check_key=False
        )
    except SshjupError:
        return []
    return [c for c in planned.changes if "SSHManualHostKeys" not in c and "HostKey=" not in c]


def _ppk(target: Target) -> list[Check]:
    """PuTTY reads only .ppk keys: the one the session names must exist."""
    from sshjup.putty.keys import ppk_path_for  # noqa: PLC0415
    from sshjup.putty.store import get_store  # noqa: PLC0415

    try:
        session = get_store().read(target.alias) or {}
    except SshjupError:
        return []
    value = session.get("PublicKeyFile")
    if value:
        ppk = Path(str(value))
    elif target.identity_file is not None:
        ppk = ppk_path_for(target.identity_file)
    else:
        return []
    identity = target.identity_file
    if identity is None and ppk.name.endswith(".sshjup.ppk"):
        identity = str(ppk)[: -len(".sshjup.ppk")]
    details = {"host": target.name, "ppk": str(ppk), "identity_file": identity}
    check_id = f"ppk:{target.name}"
    if ppk.is_file():
        summary = f"{target.alias}: PuTTY's key {ppk} is present"
        return [Check(check_id, "pass", summary, None, details)]
    summary = (
        f"{target.alias}: the PuTTY session uses the key {ppk}, which does not exist, so PuTTY "
        "cannot log in"
    )
    if identity is not None and identity != str(ppk):
        key = Path(os.path.expanduser(identity))
        command = shlex.join(["puttygen", str(key), "-o", str(ppk), "-O", "private"])
        fix = (
            f"convert the key again: `{command}` (puttygen asks for the passphrase if the key "
            f"has one), or let sshjup do it: `sshjup edit {target.name}`"
        )
    else:
        fix = (
            "put the .ppk back, or point the host at another key: "
            f"`sshjup edit {target.name} --identity-file PATH`"
        )
    return [Check(check_id, "fail", summary, fix, details)]
