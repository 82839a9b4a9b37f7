"""``sshjup doctor``: find out why a tunnel does not work. A library: it never prints.

:func:`run_checks` returns one :class:`Check` per finding, in a fixed order. Each has a
stable ``id`` (``openssh``, ``config.parse``, ``resolve:gpu``...), a ``status`` (``pass``,
``warn`` or ``fail``), a one-line ``summary``, a ``fix`` for anything that does not pass,
and ``details`` (plain JSON values) for scripts. ``Check.to_json`` is the documented shape
(docs/json.md); docs/troubleshooting.md explains every check.

* ``fail``: something that stops the tunnel (or PuTTY's session) from working;
* ``warn``: it works, but not the way sshjup intends (older OpenSSH, a hand edit, no keyring);
* a check whose prerequisite failed (no ``ssh``, an unreadable inventory) is left out.

Every check is best effort and read-only: nothing here writes a file or a keyring entry, and
no secret is ever put into a summary, a fix or the details.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sshjup import hosts, proc
from sshjup.errors import ConfigParseError, SshjupError, ToolMissing
from sshjup.models import Target, name_from_alias
from sshjup.ssh import openssh, sshconfig
from sshjup.store import fileio, paths

if TYPE_CHECKING:
    from sshjup.ssh.tunnel import TunnelStatus
    from sshjup.store.inventory import Inventory

Status = Literal["pass", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail")
REMOTE_TIMEOUT = 30.0
_SS_TIMEOUT = 5.0

_SECTION_LINES = (
    "sshjup's section (from `# >>> sshjup managed section` to `# <<< sshjup end of managed "
    "section`)"
)
_REWRITE_FIX = (
    "rewrite it from the inventory: `sshjup export > tunnels.yaml && sshjup apply tunnels.yaml`"
)


@dataclass(frozen=True)
class Check:
    """One finding. ``to_json()`` is the stable shape of ``sshjup doctor --json``."""

    id: str
    status: Status
    summary: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "fix": self.fix,
            "details": self.details,
        }


# The keys of ``details`` for each kind of check (the part of ``id`` before ``:``): always all
# of them, ``null`` (or empty) when not known. docs/json.md documents them; a test checks both.
DETAIL_KEYS: dict[str, tuple[str, ...]] = {
    "openssh": ("version", "version_text", "features", "debian_patched"),
    "inventory": ("path", "hosts"),
    "config.read": ("path",),
    "config.parse": ("path", "exists", "command", "error"),
    "config.permissions": ("path", "mode", "owner_uid", "verdict", "checked_by_ssh"),
    "ssh_dir.permissions": ("path", "mode", "owner_uid"),
    "section": ("path", "begin_line", "end_line", "state"),
    "resolve": ("host", "alias", "expected", "resolved", "overrides", "error"),
    "key": ("host", "path", "mode"),
    "control": (
        "host",
        "alias",
        "control_path",
        "control_master",
        "socket_exists",
        "running",
        "pid",
        "port_open",
    ),
    "port": ("host", "ports"),
    "putty": ("host", "session", "location", "state", "changes"),
    "ppk": ("host", "ppk", "identity_file"),
    "keyring": ("backend", "tokens"),
    "remote": ("host", "alias"),
    "jupyter": ("host", "alias", "kind", "path", "server_version", "app_version"),
    "server": ("host", "alias", "remote_port", "running", "servers"),
    "host": ("host",),
}
_EMPTY_LISTS = {"hosts", "overrides", "changes", "servers", "ports"}
_EMPTY_DICTS = {"features", "tokens"}


def kind_of(check_id: str) -> str:
    """``resolve:gpu`` -> ``resolve``; ``config.parse`` -> ``config.parse``."""
    return check_id.partition(":")[0]


def _normalised(check: Check) -> Check:
    """Every documented details key present; a fix for everything that does not pass."""
    keys = DETAIL_KEYS.get(kind_of(check.id), ())
    details: dict[str, Any] = {}
    for key in keys:
        default: Any = [] if key in _EMPTY_LISTS else {} if key in _EMPTY_DICTS else None
        details[key] = check.details.get(key, default)
    details.update({k: v for k, v in check.details.items() if k not in details})
    host = check.id.partition(":")[2]
    if "host" in keys and details["host"] is None and host:
        details["host"] = host
    fix = check.fix
    if check.status != "pass" and not fix:
        fix = f"see the `{kind_of(check.id)}` check in docs/troubleshooting.md"
    return replace(check, fix=fix, details=details)


def report_json(checks: list[Check]) -> dict[str, Any]:
    """The whole ``sshjup doctor --json`` document."""
    counts = {s: sum(1 for c in checks if c.status == s) for s in STATUSES}
    return {
        "ok": counts["fail"] == 0,
        "counts": counts,
        "checks": [c.to_json() for c in checks],
    }


Progress = Callable[[str], None]


def run_checks(
    where: hosts.Where,
    name: str | None = None,
    *,
    remote: bool = False,
    progress: Progress | None = None,
) -> list[Check]:
    """Every check for every managed host (or only ``name``'s), in a fixed order.

    ``remote``: also log in to each host and look at Jupyter there (slow, needs the network).
    ``progress`` hears a line before each remote step. Raises ``NotFound`` for an unknown
    ``name``; every other problem becomes a failing :class:`Check`.
    """
    checks: list[Check] = []
    version_text, caps = _openssh(checks)
    inv = _inventory(checks, where)
    targets: list[Target] = []
    if inv is not None:
        targets = [hosts.get_target(where, name)] if name is not None else inv.targets()
    doc = _read_doc(checks, where)
    if caps is not None:
        checks.append(_config_parses(where, doc, targets))
    checks.extend(_config_permissions(where.ssh_config, version_text))
    if doc is not None and inv is not None and caps is not None:
        checks.append(_section(where, doc, inv, caps))
    parse_ok = all(c.status != "fail" for c in checks if c.id == "config.parse")
    rows: dict[str, dict[str, Any]] | SshjupError = {}
    if targets:
        try:
            rows = _putty_rows(where)
        except SshjupError as err:
            rows = err
    for target in targets:
        try:
            checks.extend(_host_checks(where, doc, inv, target, caps, rows, parse_ok=parse_ok))
        except SshjupError as err:  # e.g. ssh timing out: one failing check, then go on
            summary = f"{target.alias}: {err.message}"
            checks.append(Check(f"host:{target.name}", "fail", summary, err.hint, {}))
    checks.append(_keyring(targets))
    if remote and caps is not None and parse_ok:
        for target in targets:
            checks.extend(_remote(where, target, progress))
    return [_normalised(c) for c in checks]


def _host_checks(
    where: hosts.Where,
    doc: sshconfig.ConfigDoc | None,
    inv: Inventory | None,
    target: Target,
    caps: sshconfig.Capabilities | None,
    putty_rows: dict[str, dict[str, Any]] | SshjupError,
    *,
    parse_ok: bool,
) -> list[Check]:
    checks: list[Check] = []
    tunnel_status = None
    if caps is not None and doc is not None and parse_ok:
        resolved = openssh.resolve(
            where.ssh_config,
            target.alias,
            use_default=paths.is_default_ssh_config(where.ssh_config),
        )
        checks.append(_resolves(where, doc, target, resolved))
        tunnel_status = _control(checks, where, doc, target, resolved, caps)
    checks.extend(_key_permissions(target))
    checks.append(_local_ports(target, tunnel_status, inv))
    checks.extend(_putty(where, target, putty_rows))
    return checks


# --- OpenSSH -----------------------------------------------------------------------------------


def _openssh(checks: list[Check]) -> tuple[str, sshconfig.Capabilities | None]:
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
            "`ssh jup-NAME` opens a shell and stays in the foreground: use `sshjup up NAME` "
            "(or `ssh -N -f jup-NAME`), or upgrade OpenSSH to 8.7 or later"
        )
    elif not caps.fork_after_authentication:
        missing.append("ForkAfterAuthentication")
        fixes.append("`ssh jup-NAME` keeps the terminal: leave it open, or use `sshjup up NAME`")
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


def _inventory(checks: list[Check], where: hosts.Where) -> Inventory | None:
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


def _read_doc(checks: list[Check], where: hosts.Where) -> sshconfig.ConfigDoc | None:
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


def _config_parses(
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


def _config_permissions(config: Path, version_text: str) -> list[Check]:
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


def _key_permissions(target: Target) -> list[Check]:
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


def _section(
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
        return Check("section", "fail", summary, _REWRITE_FIX, details)
    where_text = f"{path}, lines {section.begin_line}-{section.end_line}"
    if section.hand_edited:
        details["state"] = "hand-edited"
        summary = f"{_SECTION_LINES} was changed by hand ({where_text})"
        fix = (
            "put the change into sshjup (`sshjup edit NAME ...`) and run it with --force to "
            "overwrite the hand edit, or keep your own Host block outside the section"
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
        return Check("section", "warn", summary, _REWRITE_FIX, details)
    details["state"] = "ok"
    return Check("section", "pass", f"sshjup's section is intact ({where_text})", None, details)


# --- each alias as ssh resolves it -------------------------------------------------------------


def _resolves(
    where: hosts.Where, doc: sshconfig.ConfigDoc, target: Target, resolved: openssh.Resolved
) -> Check:
    check_id = f"resolve:{target.name}"
    forwards = [
        openssh.expected_forward(f.bind, f.local_port, f.remote_host, f.remote_port)
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
            f"OpenSSH keeps the first value it reads: move {_SECTION_LINES} above line "
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


# --- the control socket and the local port -----------------------------------------------------


def _control(
    checks: list[Check],
    where: hosts.Where,
    doc: sshconfig.ConfigDoc,
    target: Target,
    resolved: openssh.Resolved,
    caps: sshconfig.Capabilities,
) -> TunnelStatus | None:
    check_id = f"control:{target.name}"
    details: dict[str, Any] = {"host": target.name, "alias": target.alias}
    if not caps.control_master:
        summary = f"{target.alias}: no control socket on this platform (ControlMaster)"
        checks.append(Check(check_id, "pass", summary, None, details))
        return None
    if not resolved.ok:
        return None
    control_path = resolved.get("controlpath")
    master = resolved.get("controlmaster")
    details.update({"control_path": control_path, "control_master": master})
    if not control_path or control_path == "none" or master not in ("auto", "autoask"):
        over = sshconfig.earlier_settings(doc, target.alias, ["ControlPath", "ControlMaster"])
        place = "; ".join(f"line {o.line}: `{o.keyword} {o.value}`" for o in over)
        summary = (
            f"{target.alias}: ssh resolves ControlMaster {master}, ControlPath {control_path}: "
            "`sshjup status` and `sshjup down` cannot reach the tunnel"
            + (f" ({place} of {where.ssh_config} sets it first)" if place else "")
        )
        fix = f"move {_SECTION_LINES} above the block that sets ControlMaster/ControlPath"
        checks.append(Check(check_id, "warn", summary, fix, details))
        return None
    from sshjup.ssh import tunnel  # noqa: PLC0415 (only needed once the alias resolves)

    socket_dir = Path(control_path).parent
    if not socket_dir.is_dir():
        summary = (
            f"{target.alias}: the control socket directory {socket_dir} does not exist, so ssh "
            "cannot share or stop the tunnel"
        )
        fix = f"mkdir -m 700 {shlex.quote(str(socket_dir))}"
        checks.append(Check(check_id, "warn", summary, fix, details))
        return None
    try:
        st = tunnel.status(target.alias, where.ssh_config, target.local_port)
    except SshjupError as err:
        checks.append(Check(check_id, "warn", f"{target.alias}: {err.message}", err.hint, details))
        return None
    details.update({"running": st.running, "pid": st.pid, "port_open": st.port_open})
    socket_exists = Path(control_path).exists()
    details["socket_exists"] = socket_exists
    if st.running and st.port_open:
        checks.append(Check(check_id, "pass", f"{target.alias}: {st.detail}", None, details))
    elif st.running:
        fix = f"restart it: `sshjup down {target.name} && sshjup up {target.name}`"
        checks.append(Check(check_id, "warn", f"{target.alias}: {st.detail}", fix, details))
    elif socket_exists:
        summary = (
            f"{target.alias}: not running, but a stale control socket {control_path} is left "
            "(ssh then cannot become the master)"
        )
        fix = f"remove it: rm {shlex.quote(control_path)}"
        checks.append(Check(check_id, "warn", summary, fix, details))
    else:
        summary = f"{target.alias}: tunnel not running (open it with `ssh {target.alias}`)"
        checks.append(Check(check_id, "pass", summary, None, details))
    return st


@dataclass(frozen=True)
class Listener:
    """A process listening on a TCP port, as far as this machine lets us see it."""

    address: str
    port: int
    pid: int | None
    command: str | None


_SS_USER_RE = re.compile(r'\("([^"]*)",pid=(\d+),fd=\d+\)')


def parse_ss(text: str, port: int) -> list[Listener]:
    """Listeners on ``port`` from ``ss -H -ltnp`` output (pure)."""
    found: list[Listener] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5:  # noqa: PLR2004 (State Recv-Q Send-Q Local Peer [Process])
            continue
        local = fields[3]
        address, _, port_text = local.rpartition(":")
        if port_text != str(port):
            continue
        users = _SS_USER_RE.findall(line)
        if not users:
            found.append(Listener(address, port, None, None))
        for command, pid in users:
            found.append(Listener(address, port, int(pid), command))
    return found


def parse_proc_net_tcp(text: str, port: int) -> list[tuple[str, int]]:
    """(local address as hex, socket inode) of LISTEN sockets on ``port`` (pure)."""
    out: list[tuple[str, int]] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:  # noqa: PLR2004
            continue
        address, _, port_hex = fields[1].partition(":")
        if fields[3] != "0A":  # TCP_LISTEN
            continue
        try:
            if int(port_hex, 16) != port:
                continue
            out.append((address, int(fields[9])))
        except ValueError:
            continue
    return out


def _proc_listeners(port: int) -> list[Listener]:
    """Best effort from /proc: the sockets' inodes, then the processes holding them."""
    inodes: dict[int, str] = {}
    for name in ("tcp", "tcp6"):
        try:
            text = Path(f"/proc/net/{name}").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        for address, inode in parse_proc_net_tcp(text, port):
            inodes[inode] = address
    if not inodes:
        return []
    found: list[Listener] = []
    for pid, inode in _socket_owners(set(inodes)):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            comm = None
        found.append(Listener(inodes[inode], port, pid, comm))
        inodes.pop(inode, None)
    found.extend(Listener(address, port, None, None) for address in inodes.values())
    return found


def _socket_owners(inodes: set[int]) -> Iterator[tuple[int, int]]:
    try:
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                link = str(fd.readlink())
            except OSError:
                continue
            if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                yield pid, int(link[8:-1])


def port_owners(port: int) -> list[Listener]:
    """Who listens on ``port``: ``ss -ltnp`` if it exists, else /proc. Never raises."""
    try:
        if proc.which("ss") is not None:
            result = proc.run(["ss", "-H", "-ltnp", "sport", "=", f":{port}"], timeout=_SS_TIMEOUT)
            if result.returncode == 0:
                found = parse_ss(result.stdout, port)
                if any(f.pid is not None for f in found):
                    return found
        if Path("/proc/net/tcp").exists():
            return _proc_listeners(port)
    except (SshjupError, OSError, ValueError):
        return []
    return []


def _local_ports(target: Target, st: TunnelStatus | None, inv: Inventory | None) -> Check:
    from sshjup.ssh import tunnel  # noqa: PLC0415

    check_id = f"port:{target.name}"
    ports: list[dict[str, Any]] = []
    busy: list[str] = []
    fixes: list[str] = []
    running_pid = st.pid if st is not None and st.running else None
    for fwd in target.forwards:
        entry: dict[str, Any] = {
            "bind": fwd.bind,
            "port": fwd.local_port,
            "in_use": False,
            "by_tunnel": False,
            "owners": [],
        }
        ports.append(entry)
        if not tunnel.port_in_use(fwd.local_port, host=fwd.bind):
            continue
        entry["in_use"] = True
        owners = port_owners(fwd.local_port)
        entry["owners"] = [{"pid": o.pid, "command": o.command} for o in owners]
        pids = {o.pid for o in owners if o.pid is not None}
        if running_pid is not None and (not pids or running_pid in pids):
            entry["by_tunnel"] = True
            continue
        who = (
            ", ".join(f"{o.command or '?'} (pid {o.pid})" for o in owners if o.pid is not None)
            or "another program (run `ss -ltnp` as root to see which)"
        )
        busy.append(f"{fwd.bind}:{fwd.local_port} is in use by {who}")
        free = hosts.suggest_free_port(inv, fwd.local_port) if inv is not None else None
        stop = f"stop {who}" if pids else "stop the program that listens there"
        if fwd == target.forwards[0]:
            other = f"`sshjup edit {target.name} --local-port {free}`"
        else:
            other = f"`sshjup edit {target.name} --forward ...` with another local port"
        fixes.append(f"{stop}, or give {target.alias} another local port: {other}")
    details = {"host": target.name, "ports": ports}
    if busy:
        summary = f"{target.alias}: {'; '.join(busy)}, so `ssh {target.alias}` fails"
        return Check(check_id, "fail", summary, "; ".join(fixes), details)
    listed = ", ".join(f"{p['bind']}:{p['port']}" for p in ports)
    if any(p["in_use"] for p in ports):
        summary = f"{target.alias}: {listed} in use by the running tunnel"
    else:
        summary = f"{target.alias}: local port{'s' * (len(ports) > 1)} {listed} free"
    return Check(check_id, "pass", summary, None, details)


# --- PuTTY ---------------------------------------------------------------------------------


def _putty_rows(where: hosts.Where) -> dict[str, dict[str, Any]]:
    """``hosts.putty_sessions`` by host name (the same states as ``sshjup putty list``)."""
    return {row["name"]: row for row in hosts.putty_sessions(where)}


def _putty(
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
    digest = state.load().digests.get(managed.digest_key(store, target.alias))
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


# --- the keyring -----------------------------------------------------------------------------


def _keyring(targets: list[Target]) -> Check:
    from sshjup.store import tokens  # noqa: PLC0415 (imports keyring lazily itself)

    store = tokens.TokenStore()
    details: dict[str, Any] = {"backend": None, "tokens": {}}
    try:
        backend = store.backend()
    except SshjupError as err:
        details["backend"] = store.backend_name()
        summary = f"keyring: {err.message} (tunnels work; Jupyter tokens cannot be kept)"
        return Check("keyring", "warn", summary, err.hint, details)
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    details["backend"] = name
    stored: dict[str, bool] = {}
    try:
        for target in targets:
            stored[target.alias] = store.get(target.alias) is not None
    except SshjupError as err:
        details["tokens"] = stored
        return Check("keyring", "warn", f"keyring {name}: {err.message}", err.hint, details)
    details["tokens"] = stored
    have = [alias for alias, ok in stored.items() if ok]
    note = f"; tokens stored for {', '.join(have)}" if have else ""
    return Check("keyring", "pass", f"keyring backend {name} works{note}", None, details)


# --- the remote (--remote) -------------------------------------------------------------------


def _remote(where: hosts.Where, target: Target, progress: Progress | None) -> list[Check]:
    from sshjup.jupyter import remote  # noqa: PLC0415 (only with --remote)

    alias = target.alias
    base = {"host": target.name, "alias": alias}
    if progress is not None:
        progress(f"logging in to {alias} ...")
    try:
        cp = remote.run_script(alias, where.ssh_config, "exit 0\n", timeout=REMOTE_TIMEOUT)
    except SshjupError as err:
        return [Check(f"remote:{target.name}", "fail", err.message, err.hint, base)]
    if cp.returncode != 0:
        summary = f"{alias}: the remote shell failed (exit {cp.returncode})"
        return [
            Check(f"remote:{target.name}", "fail", summary, f"run `ssh {alias}` to see why", base)
        ]
    checks = [
        Check(f"remote:{target.name}", "pass", f"{alias}: the remote is reachable", None, base)
    ]
    if progress is not None:
        progress(f"checking Jupyter on {alias} ...")
    try:
        info = remote.check_jupyter(alias, where.ssh_config, target.jupyter, timeout=REMOTE_TIMEOUT)
    except SshjupError as err:
        checks.append(Check(f"jupyter:{target.name}", "fail", err.message, err.hint, base))
        return checks
    version = info.app_version or info.server_version
    jdetails = base | {
        "kind": info.kind,
        "path": info.path,
        "server_version": info.server_version,
        "app_version": info.app_version,
    }
    summary = f"{alias}: Jupyter {info.kind} {version} is installed ({info.path})"
    checks.append(Check(f"jupyter:{target.name}", "pass", summary, None, jdetails))
    try:
        st = remote.status(
            alias, where.ssh_config, target.jupyter, target.remote_port, timeout=REMOTE_TIMEOUT
        )
    except SshjupError as err:
        checks.append(Check(f"server:{target.name}", "fail", err.message, err.hint, base))
        return checks
    # Never the tokens: ports and pids only.
    sdetails = base | {
        "remote_port": target.remote_port,
        "running": st.server is not None,
        "servers": [{"port": s.port, "pid": s.pid} for s in st.servers],
    }
    if st.server is not None:
        summary = f"{alias}: {st.server.describe()}"
        checks.append(Check(f"server:{target.name}", "pass", summary, None, sdetails))
    else:
        others = ", ".join(str(s.port) for s in st.servers)
        summary = f"{alias}: no Jupyter server on remote port {target.remote_port}" + (
            f" (yours run on {others})" if others else ""
        )
        fix = f"start it: `sshjup jupyter start {target.name}`"
        checks.append(Check(f"server:{target.name}", "warn", summary, fix, sdetails))
    return checks


def host_of(check: Check) -> str | None:
    """The managed host a check is about (``None`` for the global checks)."""
    _, sep, name = check.id.partition(":")
    return name_from_alias(name) if sep else None


__all__ = [
    "DETAIL_KEYS",
    "STATUSES",
    "Check",
    "Listener",
    "Status",
    "classify_config_mode",
    "group_is_private",
    "host_of",
    "kind_of",
    "openssh_check",
    "parse_proc_net_tcp",
    "parse_ss",
    "port_owners",
    "report_json",
    "run_checks",
]
