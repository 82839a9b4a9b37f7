"""Doctor checks of OpenSSH, the inventory and the ssh config.

The client's version, the inventory, whether ssh parses the config, OpenSSH's permission
rules, sshjup's section, and what each alias resolves to.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sshjup import hosts, proc
from sshjup.doctor.check import REWRITE_FIX, SECTION_LINES, Check
from sshjup.errors import ConfigParseError, SshjupError, ToolMissing
from sshjup.models import Target
from sshjup.ssh import openssh, sshconfig
from sshjup.store import fileio, paths

if TYPE_CHECKING:
    from sshjup.store.inventory import Inventory


def check_openssh(checks: list[Check]) -> tuple[str, sshconfig.Capabilities | None]:
    try:
        result = proc.run(["ssh", "-V"], timeout=10.0)
    except ToolMissing as err:
        checks.append(Check("openssh", "fail", err.message, err.hint, {"version": None}))
        return "", None
    text = ((result.stderr or "") + (result.stdout or "")).strip()
    caps = openssh.capabilities_from_version(text, windows=sys.platform == "win32")
    checks.append(openssh_check(text, caps))
    return text, caps


def openssh_check(version_text: str, caps: sshconfig.Capabilities) -> Check:
    """Pure: what the Host block gets from this client, and what it must do without."""
    features = {
        "SessionType": caps.session_type,
        "ForkAfterAuthentication": caps.fork_after_authentication,
        "ControlMaster": caps.control_master,
    }
    details = {
        "version": caps.version or None,
        "version_text": version_text,
        "features": features,
        "debian_patched": _debian_patched(version_text),
    }
    have = [k for k, v in features.items() if v]
    label = f"OpenSSH {caps.version}" if caps.version else "ssh (version not recognised)"
    if all(features.values()):
        return Check(
            "openssh", "pass", f"{label}: the Host block uses {', '.join(have)}", None, details
        )
    missing = []
    fixes = []
    if not caps.session_type:
        missing.append("SessionType/ForkAfterAuthentication (OpenSSH 8.7+)")
        fixes.append(
            "plain `ssh` to a tunnel alias opens a shell and stays in the foreground: use "
            "`sshjup up` with the tunnel's name (or `ssh -N -f` with its alias), or upgrade "
            "OpenSSH to 8.7 or later"
        )
    elif not caps.fork_after_authentication:
        missing.append("ForkAfterAuthentication")
        fixes.append(
            "plain `ssh` to a tunnel alias keeps the terminal: leave it open, or use `sshjup up` "
            "with the tunnel's name"
        )
    if not caps.control_master:
        missing.append("ControlMaster (not on Windows)")
        fixes.append(
            "there is no control socket: `sshjup status` and `sshjup down` cannot reach the "
            "tunnel; close it by closing its ssh window"
        )
    summary = f"{label}: the Host block leaves out {', '.join(missing)}"
    return Check("openssh", "warn", summary, "; ".join(fixes), details)


def _debian_patched(version_text: str) -> bool:
    """Debian and Ubuntu builds accept a config group-writable by a one-member group."""
    return re.search(r"\b(Debian|Ubuntu|Raspbian)\b", version_text) is not None


# --- inventory and the config file -------------------------------------------------------------


def check_inventory(checks: list[Check], where: hosts.Where) -> Inventory | None:
    details: dict[str, Any]
    try:
        inv = hosts.load_inventory(where)
    except ConfigParseError:
        _adopt_failed(checks, where)
        return None
    except SshjupError as err:
        details = {"path": str(where.inventory), "hosts": []}
        checks.append(Check("inventory", "fail", err.message, err.hint, details))
        return None
    count = len(inv.hosts)
    details = {"path": str(where.inventory), "hosts": list(inv.hosts)}
    if count == 0:
        summary = "no managed hosts yet (add one with `sshjup add HOST`)"
    else:
        summary = f"{count} managed host{'s' * (count != 1)}: {', '.join(inv.hosts)}"
    checks.append(Check("inventory", "pass", summary, None, details))
    return inv


def _adopt_failed(checks: list[Check], where: hosts.Where) -> None:
    # No inventory file, and the section it would be rebuilt from is damaged: the section
    # check (below) reports the damage; the inventory itself is simply missing.
    details: dict[str, Any] = {"path": str(where.inventory), "hosts": []}
    summary = f"no inventory at {where.inventory}, and the ssh config's section is damaged"
    checks.append(Check("inventory", "fail", summary, "see the `section` check", details))


def read_doc(checks: list[Check], where: hosts.Where) -> sshconfig.ConfigDoc | None:
    """The ssh config, or None (with a failing ``section`` check) when its section is damaged."""
    try:
        data = fileio.read_bytes(fileio.real_path(where.ssh_config))
    except SshjupError as err:
        checks.append(
            Check("config.read", "fail", err.message, err.hint, {"path": str(where.ssh_config)})
        )
        return None
    try:
        return sshconfig.decode(data)
    except ConfigParseError as err:
        details: dict[str, Any] = {"path": str(where.ssh_config), "state": "damaged"}
        if data is not None:
            details["begin_line"] = _marker_line(data)
        summary = f"sshjup's section of {where.ssh_config} is damaged: {err.message}"
        checks.append(Check("section", "fail", summary, err.hint, details))
        return None


def _marker_line(data: bytes) -> int | None:
    index = data.find(sshconfig.BEGIN_MARK.encode())
    return None if index < 0 else data.count(b"\n", 0, index) + 1


def check_config_parses(
    where: hosts.Where, doc: sshconfig.ConfigDoc | None, targets: list[Target]
) -> Check:
    path = where.ssh_config
    details: dict[str, Any] = {"path": str(path), "exists": doc is not None and doc.exists}
    if doc is not None and not doc.exists:
        return Check("config.parse", "pass", f"{path} does not exist yet", None, details)
    alias = targets[0].alias if targets else "jup-sshjup-doctor"
    resolved = openssh.resolve(path, alias, use_default=paths.is_default_ssh_config(path))
    argv = [*openssh.base_argv(path), "-G", alias]
    details["command"] = shlex.join(argv)
    if resolved.ok:
        return Check("config.parse", "pass", f"ssh parses {path}", None, details)
    details["error"] = resolved.error
    summary = f"ssh cannot parse {path}: {resolved.error}"
    fix = (
        f"fix the line ssh names (`{shlex.join(argv)}` shows the error); until then ssh "
        "refuses every host in the file, not only sshjup's"
    )
    return Check("config.parse", "fail", summary, fix, details)


# --- permissions (OpenSSH's rules) -------------------------------------------------------------


Resolver = Callable[..., openssh.Resolved]


def check_home(
    where: hosts.Where,
    targets: list[Target],
    *,
    chosen: bool = False,
    resolve: Resolver = openssh.resolve,
) -> Check:
    """Does plain ``ssh`` (no ``-F``) read the file sshjup writes?

    OpenSSH takes ``~`` from the password database, not ``$HOME``: when the two differ (``sudo``
    keeping ``$HOME``, a container, a changed ``HOME``), sshjup writes ``$HOME/.ssh/config`` and
    ssh reads another file. One ``ssh -G`` without ``-F`` tells whether ssh sees the tunnel anyway
    (an ``Include``, a link). ``chosen``: the user named the config (``--ssh-config``,
    ``$SSHJUP_SSH_CONFIG``) and knows it needs ``-F``.
    """
    home, ssh_home = paths.home().absolute(), paths.ssh_home().absolute()
    reads = paths.default_ssh_config()
    details: dict[str, Any] = {
        "home": str(home),
        "ssh_home": str(ssh_home),
        "ssh_reads": str(reads),
    }
    if home == ssh_home or paths.is_default_ssh_config(where.ssh_config):
        return Check("home", "pass", f"ssh reads the file sshjup writes ({reads})", None, details)
    mismatch = (
        f"$HOME is {home}, but ssh takes ~ from the password database ({ssh_home}) and reads "
        f"{reads}"
    )
    if chosen or where.ssh_config.absolute() != paths.user_ssh_config().absolute():
        summary = (
            f"{mismatch}; sshjup writes {where.ssh_config} as you chose, which ssh reads only "
            "with -F (sshjup's hints include it)"
        )
        return Check("home", "pass", summary, None, details)
    fix = (
        f"run sshjup with HOME={ssh_home}, or write that file: "
        f"`sshjup --ssh-config {shlex.quote(str(reads))} ...`"
    )
    if not targets:
        return Check("home", "warn", f"{mismatch}, not {where.ssh_config}", fix, details)
    target = targets[0]
    resolved = resolve(where.ssh_config, target.alias, use_default=True)
    details |= {"alias": target.alias, "resolved_hostname": resolved.get("hostname")}
    if resolved.ok and resolved.get("hostname") == target.hostname:
        summary = f"{mismatch}, but ssh sees {target.alias} there too (an Include or a link)"
        return Check("home", "pass", summary, None, details)
    summary = (
        f"plain `ssh {target.alias}` does not see the tunnel: {mismatch}, not "
        f"{where.ssh_config}, which sshjup wrote"
    )
    fix += f"; or open it with `{paths.ssh_command(target.alias, where.ssh_config)}`"
    return Check("home", "fail", summary, fix, details)


def classify_config_mode(
    mode: int,
    uid: int,
    gid: int,
    my_uid: int,
    *,
    debian: bool,
    group_is_private: Callable[[int, int], bool],
) -> tuple[str, str]:
    """OpenSSH's check of the user config, as (verdict, reason).

    Upstream readconf.c refuses ``~/.ssh/config`` when its owner is neither root nor the user,
    or when it is group- or world-writable ("Bad owner or permissions"). Debian's
    ``secure_permissions`` accepts group-writable when that group has exactly one member, the
    owner (a user-private group). Verdicts: ``ok``, ``relaxed`` (only Debian accepts it),
    ``refused``.
    """
    if uid not in (0, my_uid):
        return "refused", f"it is owned by uid {uid}, not by you (uid {my_uid}) or root"
    if mode & stat.S_IWOTH:
        return "refused", "anyone on this machine can write it"
    if mode & stat.S_IWGRP:
        if debian and group_is_private(gid, uid):
            return "relaxed", "it is group-writable (Debian's ssh accepts that for your own group)"
        return "refused", "its group can write it"
    return "ok", ""


def group_is_private(gid: int, owner_uid: int) -> bool:
    """Debian's rule: the group's only member (primary or supplementary) is the file's owner."""
    import grp  # noqa: PLC0415 (POSIX only)
    import pwd  # noqa: PLC0415

    try:
        group = grp.getgrgid(gid)
        owner = pwd.getpwuid(owner_uid).pw_name
    except KeyError:
        return False
    members = 0
    for entry in pwd.getpwall():
        if entry.pw_gid == gid:
            members += 1
            if entry.pw_uid != owner_uid:
                return False
    if group.gr_mem:
        members += 1
        if group.gr_mem[0] != owner or len(group.gr_mem) > 1:
            return False
    return members > 0


def check_config_permissions(config: Path, version_text: str) -> list[Check]:
    if os.name != "posix":
        return []
    real = fileio.real_path(config)
    checks: list[Check] = []
    uid = os.getuid()
    default = paths.is_default_ssh_config(config)
    details: dict[str, Any]
    try:
        st = real.stat()
    except FileNotFoundError:
        st = None
    except OSError as err:
        summary = f"cannot read the permissions of {real}: {err.strerror}"
        details = {"path": str(real)}
        return [Check("config.permissions", "fail", summary, "check the file's owner", details)]
    if st is not None:
        verdict, reason = classify_config_mode(
            st.st_mode,
            st.st_uid,
            st.st_gid,
            uid,
            debian=_debian_patched(version_text),
            group_is_private=group_is_private,
        )
        details = {
            "path": str(real),
            "mode": f"{stat.S_IMODE(st.st_mode):04o}",
            "owner_uid": st.st_uid,
            "verdict": verdict,
            "checked_by_ssh": default,
        }
        fix = f"chmod 600 {shlex.quote(str(real))}"
        if st.st_uid not in (0, uid):
            fix = f"chown {pwd_name(uid)} {shlex.quote(str(real))} && {fix}"
        if verdict == "ok":
            checks.append(
                Check("config.permissions", "pass", f"{real} has safe permissions", None, details)
            )
        elif verdict == "relaxed":
            summary = f"{real}: {reason}; upstream OpenSSH (macOS, other distributions) refuses it"
            checks.append(Check("config.permissions", "warn", summary, fix, details))
        elif default:
            summary = f"ssh refuses {real} (Bad owner or permissions): {reason}"
            checks.append(Check("config.permissions", "fail", summary, fix, details))
        else:
            summary = (
                f"{real}: {reason}; ssh refuses such a file as ~/.ssh/config "
                "(with -F it does not check)"
            )
            checks.append(Check("config.permissions", "warn", summary, fix, details))
    checks.append(_ssh_dir_permissions(real.parent, uid))
    return checks


def pwd_name(uid: int) -> str:
    import pwd  # noqa: PLC0415 (POSIX only)

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _ssh_dir_permissions(directory: Path, uid: int) -> Check:
    try:
        st = directory.stat()
    except FileNotFoundError:
        return Check(
            "ssh_dir.permissions",
            "pass",
            f"{directory} does not exist yet (sshjup creates it with mode 0700)",
            None,
            {"path": str(directory), "mode": None, "owner_uid": None},
        )
    except OSError as err:
        summary = f"cannot read the permissions of {directory}: {err.strerror}"
        return Check("ssh_dir.permissions", "warn", summary, None, {"path": str(directory)})
    mode = stat.S_IMODE(st.st_mode)
    details = {"path": str(directory), "mode": f"{mode:04o}", "owner_uid": st.st_uid}
    quoted = shlex.quote(str(directory))
    problems = []
    if st.st_uid not in (0, uid):
        problems.append(f"it is owned by uid {st.st_uid}, not by you")
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        problems.append("anyone on this machine can write it")
    if not problems:
        summary = f"{directory} is writable only by its owner ({mode:04o})"
        if mode & stat.S_IWGRP:
            summary = f"{directory} is group-writable ({mode:04o}); 0700 is safer"
        return Check("ssh_dir.permissions", "pass", summary, None, details)
    summary = (
        f"{directory}: {'; '.join(problems)}, so others can replace your ssh config, keys "
        "and control sockets (and sshd's StrictModes refuses logins with such a directory)"
    )
    fix = f"chmod 700 {quoted}"
    if st.st_uid not in (0, uid):
        fix = f"chown {pwd_name(uid)} {quoted} && {fix}"
    return Check("ssh_dir.permissions", "warn", summary, fix, details)


def check_key_permissions(target: Target) -> list[Check]:
    """ssh ignores a private key that others can read ("UNPROTECTED PRIVATE KEY FILE")."""
    if target.identity_file is None or os.name != "posix":
        return []
    check_id = f"key:{target.name}"
    path = Path(os.path.expanduser(target.identity_file))
    details: dict[str, Any] = {"host": target.name, "path": str(path)}
    try:
        st = path.stat()
    except FileNotFoundError:
        summary = f"{target.alias}: the identity file {path} does not exist"
        fix = (
            f"create it (ssh-keygen -t ed25519 -f {shlex.quote(str(path))}), or point the host "
            f"at another key: `sshjup edit {target.name} --identity-file PATH`"
        )
        return [Check(check_id, "fail", summary, fix, details)]
    except OSError as err:
        summary = f"{target.alias}: cannot read {path}: {err.strerror}"
        return [Check(check_id, "warn", summary, None, details)]
    mode = stat.S_IMODE(st.st_mode)
    details["mode"] = f"{mode:04o}"
    if st.st_uid == os.getuid() and mode & 0o077:
        summary = (
            f"{target.alias}: ssh ignores the key {path}: others can access it ({mode:04o}, "
            "UNPROTECTED PRIVATE KEY FILE)"
        )
        return [Check(check_id, "fail", summary, f"chmod 600 {shlex.quote(str(path))}", details)]
    return [
        Check(check_id, "pass", f"{target.alias}: {path} is private ({mode:04o})", None, details)
    ]


# --- the managed section -----------------------------------------------------------------------


def check_section(
    where: hosts.Where,
    doc: sshconfig.ConfigDoc,
    inv: Inventory,
    caps: sshconfig.Capabilities,
) -> Check:
    path = where.ssh_config
    section = doc.section
    details: dict[str, Any] = {"path": str(path), "begin_line": None, "end_line": None}
    if section is not None:
        details["begin_line"] = section.begin_line
        details["end_line"] = section.end_line
    if section is None:
        if not inv.hosts:
            details["state"] = "absent"
            return Check(
                "section", "pass", f"{path} has no sshjup section (no hosts)", None, details
            )
        details["state"] = "missing"
        summary = f"{path} has no sshjup section, but the inventory has {len(inv.hosts)} host(s)"
        return Check("section", "fail", summary, REWRITE_FIX, details)
    where_text = f"{path}, lines {section.begin_line}-{section.end_line}"
    if section.hand_edited:
        details["state"] = "hand-edited"
        summary = f"{SECTION_LINES} was changed by hand ({where_text})"
        fix = (
            "put the change into sshjup (`sshjup edit` with the host's name) and run it with "
            "--force to overwrite the hand edit, or keep your own Host block outside the section"
        )
        return Check("section", "warn", summary, fix, details)
    try:
        control_dir, _ = paths.control_dir(path)
        wanted = sshconfig.render_body(inv.targets(), caps, control_dir)
    except SshjupError as err:
        details["state"] = "unrenderable"
        return Check("section", "fail", err.message, err.hint, details)
    body = list(section.body)
    if body and body[-1] == sshconfig.TERMINATOR:
        body = body[:-1]
    if body != wanted:
        details["state"] = "out-of-date"
        written = sshconfig.managed_aliases(doc)
        summary = (
            f"sshjup's section ({where_text}) does not match the inventory "
            f"(it has {', '.join(written) or 'no hosts'}; an older sshjup, another OpenSSH "
            "version, or another machine's inventory wrote it)"
        )
        return Check("section", "warn", summary, REWRITE_FIX, details)
    details["state"] = "ok"
    return Check("section", "pass", f"sshjup's section is intact ({where_text})", None, details)


# --- each alias as ssh resolves it -------------------------------------------------------------


def check_resolves(
    where: hosts.Where, doc: sshconfig.ConfigDoc, target: Target, resolved: openssh.Resolved
) -> Check:
    check_id = f"resolve:{target.name}"
    forwards = [
        openssh.expected_forward(
            f.bind, f.local_port, f.remote_host, f.remote_port, f.remote_socket
        )
        for f in target.forwards
    ]
    expected: dict[str, Any] = {
        "hostname": target.hostname,
        "user": target.user,
        "port": target.port,
        "localforward": forwards,
    }
    details: dict[str, Any] = {"host": target.name, "alias": target.alias, "expected": expected}
    if not resolved.ok:
        details["error"] = resolved.error
        summary = f"{target.alias}: ssh -G failed: {resolved.error}"
        return Check(check_id, "fail", summary, "see the `config.parse` check", details)
    details["resolved"] = {
        "hostname": resolved.get("hostname"),
        "user": resolved.get("user"),
        "port": resolved.get("port"),
        "localforward": list(resolved.local_forwards),
    }
    problems = hosts.check_resolved(doc, target, resolved, where.ssh_config)
    keywords = []
    if resolved.get("hostname") != target.hostname.lower():
        keywords.append("HostName")
    if target.user is not None and resolved.get("user") != target.user:
        keywords.append("User")
    if target.port is not None and resolved.get("port") != str(target.port):
        keywords.append("Port")
    if sorted(resolved.local_forwards) != sorted(forwards):
        keywords.append("LocalForward")
    overrides = sshconfig.earlier_settings(doc, target.alias, keywords)
    details["overrides"] = [
        {
            "file": str(where.ssh_config),
            "line": o.line,
            "keyword": o.keyword,
            "value": o.value,
            "context": o.context,
            "certain": o.certain,
        }
        for o in overrides
    ]
    if not problems:
        summary = f"{target.alias}: ssh -G shows the intended host, user, port and forwards"
        return Check(check_id, "pass", summary, None, details)
    summary = "; ".join(p.split(". OpenSSH keeps")[0] for p in problems)
    if overrides:
        lines = ", ".join(str(o.line) for o in overrides)
        fix = (
            f"OpenSSH keeps the first value it reads: move {SECTION_LINES} above line "
            f"{lines} of {where.ssh_config} (sshjup keeps it where you put it), or remove the "
            "setting there"
        )
    elif doc.section is not None and doc.section.hand_edited:
        fix = (
            f"sshjup's section itself was edited by hand (lines {doc.section.begin_line}-"
            f"{doc.section.end_line}): put the change into sshjup with `sshjup edit "
            f"{target.name} ...`, or rewrite the section from the inventory with "
            f"`sshjup edit {target.name} --force`"
        )
    else:
        fix = (
            "something ssh reads before sshjup's section sets these (an Include, a Match, or "
            f"/etc/ssh/ssh_config): run `ssh -G {target.alias}` and move sshjup's section "
            "above the block that sets them"
        )
    return Check(check_id, "fail", summary, fix, details)
