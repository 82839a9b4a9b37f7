"""The library façade: one function per user action. Never prints, never exits.

Every change follows one path (``_change``): lock, read the inventory and the ssh config, apply
the change to the inventory, render the managed section, verify the candidate file with
``ssh -G`` *before* it replaces the real one, save the inventory, rename the config into place.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from sshjup.errors import (
    ConcurrentEdit,
    Conflict,
    HandEdited,
    HostExists,
    InvalidInput,
    NotFound,
    PortTaken,
    SshjupError,
    VerificationFailed,
)
from sshjup.models import (
    ALIAS_PREFIX,
    DEFAULT_REMOTE_PORT,
    Forward,
    HostArg,
    Target,
    name_from_alias,
    validate_hostname,
    validate_key_path,
    validate_port,
    validate_proxy_jump,
    validate_user,
)
from sshjup.records import dataclass, field, replace
from sshjup.store import fileio, inventory, paths, state
from sshjup.store.inventory import Inventory

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import Any

    # openssh, sshconfig and putty.managed are imported where they are used: `sshjup list` and
    # `sshjup url` read the inventory only, and these (with the PuTTY store) cost them ~10 ms.
    from sshjup import proc
    from sshjup.ssh import openssh, sshconfig


# How many changed aliases one write checks with `ssh -G` (each run reads the whole file).
# The rest are covered by the static check of the lines above the section.
MAX_SSH_G_CHECKS = 3
_LOCK_NAME = "sshjup.lock"
_DEFAULT_IDENTITIES = {
    f"~/.ssh/{n}"
    for n in (
        "id_rsa",
        "id_ecdsa",
        "id_ecdsa_sk",
        "id_ed25519",
        "id_ed25519_sk",
        "id_xmss",
        "id_dsa",
    )
}


@dataclass(frozen=True)
class Where:
    """The files one command works on."""

    ssh_config: Path
    inventory: Path
    # The one inventory older versions kept for every config: hosts of this config's section
    # are taken from it while this config has no inventory of its own yet (see docs/inventory.md).
    legacy_inventory: Path | None = None

    @classmethod
    def locate(cls, ssh_config: str | os.PathLike[str] | None = None) -> Where:
        config = paths.ssh_config_path(ssh_config)
        inv = paths.inventory_path(config)
        legacy = paths.app_dir() / paths.LEGACY_INVENTORY
        return cls(config, inv, None if inv == legacy else legacy)


@dataclass
class ChangeResult:
    """What a change did (or, with ``dry_run``, would do)."""

    action: str
    ssh_config: Path
    dry_run: bool = False
    changed: bool = False
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    putty: list[str] = field(default_factory=list)
    tunnel: list[str] = field(default_factory=list)  # what reached the running tunnels
    config_changed: bool = False
    # (old text, new text) of the ssh config: the unified diff is made only when asked for.
    _texts: tuple[str, str] = field(default=("", ""), repr=False)

    @functools.cached_property
    def diff(self) -> str:
        """The unified diff of the ssh config (empty when it does not change)."""
        old, new = self._texts
        return _diff(old, new, str(self.ssh_config)) if old != new else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "ssh_config": str(self.ssh_config),
            "dry_run": self.dry_run,
            "changed": self.changed,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "verified": self.verified,
            "warnings": self.warnings,
            "putty": self.putty,
            "tunnel": self.tunnel,
            "diff": self.diff,
        }


# --- reading ---------------------------------------------------------------------------------


def load_inventory(where: Where, doc: sshconfig.ConfigDoc | None = None) -> Inventory:
    """The inventory; when it is missing but the ssh config has a section, adopt its hosts.

    ``doc``: the ssh config, when the caller has read it already (it is not read again).
    """
    inv = inventory.load(where.inventory)
    if inv is not None:
        return inv
    from sshjup.ssh import sshconfig  # noqa: PLC0415 (only without an inventory)

    if doc is None:
        doc = sshconfig.decode(
            fileio.read_bytes(fileio.real_path(where.ssh_config), fileio.MAX_CONFIG_BYTES)
        )
    adopted = _adopt_section(doc)
    legacy = inventory.load(where.legacy_inventory) if where.legacy_inventory else None
    if legacy is None or doc.section is None:
        return adopted
    # Migration: this config's hosts, with everything the old shared inventory knew of them.
    mine = set(sshconfig.managed_aliases(doc))
    migrated = Inventory({n: t for n, t in legacy.hosts.items() if t.alias in mine})
    for name, target in adopted.hosts.items():
        migrated.hosts.setdefault(name, target)
    return migrated


def _adopt_section(doc: sshconfig.ConfigDoc) -> Inventory:
    """Rebuild the inventory from a section sshjup wrote (e.g. a config synced from elsewhere)."""
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    inv = Inventory()
    if doc.section is None:
        return inv
    parsed = sshconfig.parse_section(doc.section.body)
    companions = {h.alias for h in parsed if not h.alias.startswith(ALIAS_PREFIX)}
    for host in parsed:
        if not host.alias.startswith(ALIAS_PREFIX):
            continue
        opts = host.options
        forwards = []
        for spec in opts.get("localforward", []):
            bind_port, _, dest = spec.partition(" ")
            bind, _, lport = bind_port.rpartition(":")
            if dest.startswith("/"):  # a Unix socket on the remote (--remote-socket)
                forwards.append(
                    Forward(
                        int(lport),
                        DEFAULT_REMOTE_PORT,
                        bind=bind or "127.0.0.1",
                        remote_socket=dest,
                    )
                )
                continue
            rhost, _, rport = dest.rpartition(":")
            forwards.append(Forward(int(lport), int(rport), rhost, bind or "127.0.0.1"))
        name = name_from_alias(host.alias)
        try:
            inv.hosts[name] = Target(
                companion=name in companions,
                name=name,
                hostname=opts["hostname"][0],
                forwards=tuple(forwards),
                user=opts.get("user", [None])[0],
                port=int(opts["port"][0]) if "port" in opts else None,
                identity_file=_unquoted(opts.get("identityfile", [None])[0]),
                proxy_jump=opts.get("proxyjump", [None])[0],
            )
        except (InvalidInput, KeyError, ValueError):
            continue  # a damaged block is shown in the diff, not adopted
    return inv


def _unquoted(value: str | None) -> str | None:
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    return None if value is None else sshconfig.unquote_arg(value)


def not_found(name: str, known: Iterable[str]) -> NotFound:
    """No managed host ``name``: the message lists the managed ones, the hint the closest."""
    import difflib  # noqa: PLC0415 (only on this error)

    known = list(known)
    key = name_from_alias(name)
    msg = f"no managed host named {name!r} (managed: {', '.join(known) or 'none yet'})"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    if close:
        return NotFound(msg, hint=f"did you mean {close[0]!r}?")
    return NotFound(msg, hint=f"add it with: sshjup add HOST --name {key}")


def get_target(where: Where, name: str) -> Target:
    inv = load_inventory(where)
    key = name_from_alias(name)
    if key not in inv.hosts:
        raise not_found(name, inv.hosts)
    return inv.hosts[key]


def list_targets(where: Where) -> list[Target]:
    return load_inventory(where).targets()


def export_inventory(where: Where) -> str:
    return inventory.dumps(load_inventory(where))


@dataclass(frozen=True)
class ShowResult:
    """What ``sshjup show`` reports: the block sshjup writes and what ``ssh -G`` resolves."""

    target: Target
    block: str
    resolved: openssh.Resolved
    problems: list[str]


def show_target(where: Where, name: str) -> ShowResult:
    """The Host block sshjup writes for NAME (and its companion's), and what ``ssh -G``
    resolves for the tunnel alias now."""
    from sshjup.ssh import openssh, sshconfig  # noqa: PLC0415

    target = get_target(where, name)
    caps = openssh.capabilities()
    control_dir, _ = paths.control_dir(where.ssh_config)
    lines = sshconfig.render_block(target, caps, control_dir)
    if target.companion:
        lines += ["", *sshconfig.render_companion(target)]
    block = "\n".join(lines) + "\n"
    resolved = openssh.resolve(
        where.ssh_config, target.alias, use_default=paths.is_default_ssh_config(where.ssh_config)
    )
    doc = sshconfig.decode(fileio.read_bytes(fileio.real_path(where.ssh_config)))
    return ShowResult(
        target, block, resolved, check_resolved(doc, target, resolved, where.ssh_config)
    )


# --- changing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AliasDefaults:
    """What an existing alias contributes to a new target."""

    host: HostArg
    identity_file: str | None = None
    proxy_jump: str | None = None
    alias: str | None = None  # HOST was this alias of the ssh config


# The ssh config as alias_defaults read it, before the lock: the change that follows takes it
# again while the file's size, mtime, inode and device are the same (what the concurrent-edit
# check before the rename compares too) instead of reading and decoding it a second time.
_READ_AHEAD: list[tuple[Path, fileio.Snapshot, sshconfig.ConfigDoc]] = []


def _read_config(
    real: Path, *, again: bool = False
) -> tuple[fileio.Snapshot | None, sshconfig.ConfigDoc]:
    """The config's snapshot and its text (held once: the snapshot keeps the text, not the
    bytes too). ``again``: the read-ahead copy, once, when the file is still that version."""
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    if again and _READ_AHEAD:
        ahead_real, ahead, doc = _READ_AHEAD.pop()
        try:
            same = ahead_real == real and ahead.same_stat(real.stat())
        except OSError:
            same = False
        if same:
            return ahead, doc
    snapshot = fileio.read_snapshot(real, fileio.MAX_CONFIG_BYTES)
    if snapshot is None:
        return None, sshconfig.decode(None)
    return snapshot, sshconfig.from_text(snapshot.to_text())


def alias_defaults(where: Where, host: str) -> AliasDefaults:
    """What HOST contributes: ``[user@]ALIAS[:port]`` with ALIAS a Host of the ssh config is
    resolved with ``ssh -G`` (the user and port given win); anything else is taken as it is."""
    from sshjup.ssh import openssh, sshconfig  # noqa: PLC0415

    real = fileio.real_path(where.ssh_config)
    snapshot, doc = _read_config(real)
    _READ_AHEAD[:] = [] if snapshot is None else [(real, snapshot, doc)]
    try:
        parsed = HostArg.parse(host)
    except InvalidInput:
        if host not in sshconfig.defined_aliases(doc, [host]):
            raise
        parsed = HostArg(host)  # an alias that is no host name (my_box): ssh -G says more
    alias = parsed.hostname
    if alias not in sshconfig.defined_aliases(doc, [alias]):
        return AliasDefaults(parsed)
    resolved = openssh.resolve(
        where.ssh_config, alias, use_default=paths.is_default_ssh_config(where.ssh_config)
    )
    if not resolved.ok:
        msg = f"`ssh -G {alias}` failed: {resolved.error}"
        raise InvalidInput(msg, hint="fix the ssh config, or give HOST as [user@]hostname[:port]")
    _check_carried(alias, resolved)
    source = f"what `ssh -G {alias}` reports"
    identity = next((f for f in resolved.identity_files if f not in _DEFAULT_IDENTITIES), None)
    jump = resolved.get("proxyjump")
    found = _host_from_resolved(alias, resolved)
    return AliasDefaults(
        HostArg(found.hostname, parsed.user or found.user, parsed.port or found.port),
        validate_key_path(identity, f"IdentityFile ({source})") if identity else None,
        validate_proxy_jump(jump, f"ProxyJump ({source})") if jump and jump != "none" else None,
        alias,
    )


def _check_carried(alias: str, resolved: openssh.Resolved) -> None:
    """Refuse an alias that works through settings sshjup's block cannot carry yet: without
    them ``ssh jup-NAME`` would reach another host, or check another host key."""
    home = str(paths.ssh_home())
    defaults = {
        "userknownhostsfile": f"{home}/.ssh/known_hosts {home}/.ssh/known_hosts2",
        "globalknownhostsfile": "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2",
    }
    names = {
        "proxycommand": "ProxyCommand",
        "hostkeyalias": "HostKeyAlias",
        "userknownhostsfile": "UserKnownHostsFile",
        "globalknownhostsfile": "GlobalKnownHostsFile",
    }
    unset = {None, "", "none"}
    for key, keyword in names.items():
        value = resolved.get(key)
        if value in unset or value == defaults.get(key):
            continue
        msg = (
            f"`ssh -G {alias}` reports `{keyword} {value}`, which sshjup's block cannot carry "
            f"yet; `ssh jup-NAME` would not reach {alias} the same way"
        )
        hint = (
            "give the real host instead (HOST as [user@]hostname[:port], with --proxy-jump "
            "for a jump host), or set the option in a `Host jup-*` block of your own"
        )
        raise InvalidInput(msg, hint=hint)


def _host_from_resolved(alias: str, resolved: openssh.Resolved) -> HostArg:
    source = f"what `ssh -G {alias}` reports"
    hostname = validate_hostname(resolved.get("hostname") or alias, f"HostName ({source})")
    user = resolved.get("user")
    port = resolved.get("port")
    return HostArg(
        hostname,
        validate_user(user, f"User ({source})") if user and user != _local_user() else None,
        validate_port(port, f"Port ({source})") if port and port != "22" else None,
    )


def _local_user() -> str:
    import getpass  # noqa: PLC0415 (the start-up imports stay light: see bench/README.md)

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # pragma: no cover - no user database entry
        return ""


def add_target(
    where: Where, target: Target, *, dry_run: bool = False, force: bool = False
) -> ChangeResult:
    """Manage a new host. Re-adding the same host unchanged is a no-op."""

    def mutate(inv: Inventory, doc: sshconfig.ConfigDoc) -> None:
        existing = inv.hosts.get(target.name)
        if existing is not None and existing != target:
            msg = f"{target.name!r} is already managed, with other settings"
            raise HostExists(msg, hint=f"change it with: sshjup edit {target.name} ...")
        _check_alias_free(doc, target.alias, where.ssh_config)
        if target.companion and existing is None:
            _check_companion_free(doc, target.name, where.ssh_config)
        inv.hosts[target.name] = target

    return _change(where, "add", mutate, dry_run=dry_run, force=force)


def edit_target(
    where: Where,
    name: str,
    changes: dict[str, Any],
    *,
    dry_run: bool = False,
    force: bool = False,
    restart: bool = False,
) -> ChangeResult:
    """Change some settings of a managed host; a running tunnel follows (see ssh/reconcile.py)."""

    def mutate(inv: Inventory, doc: sshconfig.ConfigDoc) -> None:
        key = _managed_key(inv, name)
        before = inv.hosts[key]
        inv.hosts[key] = before.with_changes(**changes)
        if inv.hosts[key].companion and not before.companion:
            _check_companion_free(doc, key, where.ssh_config)

    return _change(where, "edit", mutate, dry_run=dry_run, force=force, restart=restart)


def remove_target(
    where: Where, name: str, *, dry_run: bool = False, force: bool = False
) -> ChangeResult:
    """Stop managing a host (its running tunnel is stopped first); its block leaves the section."""

    def mutate(inv: Inventory, _doc: sshconfig.ConfigDoc) -> None:
        del inv.hosts[_managed_key(inv, name)]

    return _change(where, "remove", mutate, dry_run=dry_run, force=force)


def _managed_key(inv: Inventory, name: str) -> str:
    """NAME (or jup-NAME) as an inventory key; NotFound when sshjup does not manage it."""
    key = name_from_alias(name)
    if key not in inv.hosts:
        raise not_found(name, inv.hosts)
    return key


def load_inventory_file(path: Path) -> Inventory:
    data = fileio.read_bytes(path)
    if data is None:
        msg = f"inventory file {path} does not exist"
        raise InvalidInput(msg, hint="give the path of a YAML inventory (see `sshjup export`)")
    return inventory.loads(data.decode("utf-8", "replace"), str(path))


def apply_inventory(
    where: Where,
    desired: Inventory,
    *,
    prune: bool = False,
    dry_run: bool = False,
    force: bool = False,
    restart: bool = False,
) -> ChangeResult:
    """Make the managed hosts match ``desired`` (``prune``: also remove the ones it lacks)."""

    def mutate(inv: Inventory, doc: sshconfig.ConfigDoc) -> None:
        new = [t.alias for n, t in desired.hosts.items() if n not in inv.hosts]
        _check_aliases_free(doc, new, where.ssh_config)  # one scan of the config for all
        for n, t in desired.hosts.items():
            had = inv.hosts.get(n)
            if t.companion and (had is None or not had.companion):
                _check_companion_free(doc, n, where.ssh_config)
        inv.hosts.update(desired.hosts)
        if prune:
            for name in [n for n in inv.hosts if n not in desired.hosts]:
                del inv.hosts[name]

    return _change(where, "apply", mutate, dry_run=dry_run, force=force, restart=restart)


def _check_alias_free(doc: sshconfig.ConfigDoc, alias: str, config_path: Path) -> None:
    """Refuse an alias that the user's config (or a file it includes) already defines."""
    _check_aliases_free(doc, [alias], config_path)


def _check_aliases_free(doc: sshconfig.ConfigDoc, aliases: list[str], config_path: Path) -> None:
    """The same for several aliases, reading each file once; the first one taken is named."""
    if not aliases:
        return
    first: dict[str, tuple[str, int]] = {}
    for alias, source, line in _definitions(doc, config_path, aliases):
        first.setdefault(alias, (source, line))
        if alias == aliases[0]:
            break  # it is the one reported: read no further (as a lone check would)
    for alias in aliases:
        if alias in first:
            source, line = first[alias]
            msg = (
                f"the alias {alias!r} is already defined at {source}:{line}, "
                "outside sshjup's section"
            )
            other = name_from_alias(alias) + "2"
            raise HostExists(msg, hint=f"pick another name, e.g. --name {other}")


def _check_companion_free(doc: sshconfig.ConfigDoc, name: str, config_path: Path) -> None:
    """Refuse a companion alias ``NAME`` that the user's config already defines."""
    for source, line in _alias_definitions(doc, config_path, name):
        msg = (
            f"the companion alias {name!r} is already defined at {source}:{line}, outside "
            "sshjup's section"
        )
        raise HostExists(
            msg, hint=f"use `ssh {name}` for files and commands as it is, without --companion"
        )


def _alias_definitions(
    doc: sshconfig.ConfigDoc, config_path: Path, alias: str
) -> Iterable[tuple[str, int]]:
    for _, source, line in _definitions(doc, config_path, [alias]):
        yield source, line


def _definitions(
    doc: sshconfig.ConfigDoc, config_path: Path, aliases: list[str]
) -> Iterable[tuple[str, str, int]]:
    """(alias, file, line) for each of ``aliases`` each file defines: the config, then its
    Include files, breadth first."""
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    for current, source in _config_tree(doc, config_path):
        for alias, line in sshconfig.defined_aliases(current, aliases).items():
            yield alias, source, line


def _config_tree(
    doc: sshconfig.ConfigDoc, config_path: Path
) -> Iterable[tuple[sshconfig.ConfigDoc, str]]:
    """The config and the files it includes (breadth first, each once), read lazily."""
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    seen: set[Path] = set()
    queue: list[tuple[sshconfig.ConfigDoc, str, int]] = [(doc, str(config_path), 0)]
    while queue:
        current, source, depth = queue.pop(0)
        yield current, source
        if depth >= 16:  # noqa: PLR2004 (OpenSSH's READCONF_MAX_DEPTH)
            continue
        for pattern in sshconfig.file_include_args(current):
            for included in _include_files(pattern):
                if included in seen:
                    continue
                seen.add(included)
                try:
                    data = fileio.read_bytes(included, fileio.MAX_CONFIG_BYTES)
                except SshjupError:
                    continue  # ssh -G reports what it cannot read; sshjup does not write it
                if data is not None:
                    queue.append((sshconfig.decode(data), str(included), depth + 1))


def _check_section_not_included(doc: sshconfig.ConfigDoc, config_path: Path) -> None:
    """Refuse to start a second section when the user moved sshjup's into an Include file."""
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    if doc.section is not None or not sshconfig.file_include_args(doc):
        return
    for current, source in _config_tree(doc, config_path):
        if current.section is not None and source != str(config_path):
            msg = (
                f"sshjup's section is in {source}, which {config_path} includes; sshjup manages "
                f"one file at a time and would start a second section in {config_path}"
            )
            hint = (
                f"manage that file directly (add --ssh-config {source} to the command), "
                f"or move the section back into {config_path}"
            )
            raise Conflict(msg, hint=hint)


def _include_files(pattern: str) -> list[Path]:
    """Files an Include argument names, as OpenSSH resolves them for a user config."""
    expanded = _ssh_expanduser(pattern)
    path = Path(expanded)
    if not path.is_absolute():
        path = paths.ssh_home() / ".ssh" / expanded
    import glob  # noqa: PLC0415 (only needed when a config has Include lines)

    return [Path(p).resolve() for p in sorted(glob.glob(str(path)))]


def _ssh_expanduser(pattern: str) -> str:
    """``~`` as OpenSSH expands it (password database home)."""
    if pattern == "~" or pattern.startswith("~/"):
        return str(paths.ssh_home()) + pattern[1:]
    return os.path.expanduser(pattern)


def _check_ports(inv: Inventory) -> None:
    used: dict[int, str] = {}
    for target in inv.targets():
        for fwd in target.forwards:
            other = used.get(fwd.local_port)
            if other is not None and other != target.name:
                free = suggest_free_port(inv, fwd.local_port)
                msg = f"local port {fwd.local_port} is already used by the managed host {other!r}"
                hint = f"choose another local port, e.g. --local-port {free}"
                raise PortTaken(msg, hint=hint)
            used[fwd.local_port] = target.name


def suggest_free_port(inv: Inventory, start: int) -> int:
    """The first port after ``start`` that no managed host uses and nothing listens on."""
    taken = {f.local_port for t in inv.targets() for f in t.forwards}
    for port in range(start + 1, min(start + 200, 65536)):
        if port not in taken and local_port_free(port):
            return port
    return start + 1


def local_port_free(port: int) -> bool:
    """True when ssh could bind 127.0.0.1:PORT now (with SO_REUSEADDR, as ssh does: a port
    left in TIME_WAIT by a tunnel just stopped is free)."""
    import _socket  # noqa: PLC0415 (socket's enums cost every add about 1 ms)

    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    finally:
        sock.close()
    return True


Mutation = Callable[[Inventory, "sshconfig.ConfigDoc"], None]


def _change(
    where: Where,
    action: str,
    mutate: Mutation,
    *,
    dry_run: bool,
    force: bool,
    restart: bool = False,
) -> ChangeResult:
    real_config = fileio.real_path(where.ssh_config)
    # A device, FIFO or directory is refused before any lock or temp file is made beside it.
    fileio.check_regular(real_config, fileio.MAX_CONFIG_BYTES)
    fileio.check_regular(where.inventory, fileio.MAX_FILE_BYTES)
    with contextlib.ExitStack() as locks:
        if not dry_run:  # a dry run creates nothing: no lock file, no ~/.ssh, no app dir
            locks.enter_context(fileio.file_lock(paths.app_dir() / _LOCK_NAME))
            locks.enter_context(
                fileio.file_lock(real_config.with_name(f".{real_config.name}.sshjup.lock"))
            )
            fileio.remove_stale_temps(real_config)
            fileio.remove_stale_temps(where.inventory)
        for attempt in range(_ATTEMPTS):
            try:
                return _change_locked(
                    where,
                    real_config,
                    action,
                    mutate,
                    dry_run=dry_run,
                    force=force,
                    restart=restart,
                )
            except ConcurrentEdit:
                if attempt + 1 == _ATTEMPTS:
                    raise
    raise AssertionError  # pragma: no cover - the loop returns or raises


# Another program's edit during a change (caught just before the rename): start again from
# the file as it is now, once; a second edit in the same window is reported (exit 3).
_ATTEMPTS = 2


def _change_locked(
    where: Where,
    real_config: Path,
    action: str,
    mutate: Mutation,
    *,
    dry_run: bool,
    force: bool,
    restart: bool,
) -> ChangeResult:
    from sshjup.putty import managed  # noqa: PLC0415
    from sshjup.ssh import openssh, sshconfig  # noqa: PLC0415

    result = ChangeResult(action, where.ssh_config, dry_run=dry_run)
    old_inv_bytes = fileio.read_bytes(where.inventory)
    snapshot, doc = _read_config(real_config, again=True)
    _check_section_not_included(doc, real_config)
    inv = load_inventory(where, doc)
    before = dict(inv.hosts)
    mutate(inv, doc)
    _check_ports(inv)
    result.added = [n for n in inv.hosts if n not in before]
    result.removed = [n for n in before if n not in inv.hosts]
    result.updated = [n for n in inv.hosts if n in before and before[n] != inv.hosts[n]]
    check_putty_sockets([inv.hosts[n] for n in result.added + result.updated])

    caps = openssh.capabilities()
    control_dir, control_real = paths.control_dir(where.ssh_config)
    changed = [inv.hosts[n] for n in result.added + result.updated]
    # ssh -G of the first changed alias reads the new text as it is made (see _FedCheck),
    # when a block changes (not when only what the inventory alone holds does).
    blocks_change = any(_changes_its_blocks(before.get(t.name), t) for t in changed)
    with _FedCheck.started(doc, changed, enabled=blocks_change and not dry_run) as fed:
        body = sshconfig.render_body(
            inv.targets(), caps, control_dir, progress=None if fed is None else fed.progress
        )
        if doc.section is not None and doc.section.hand_edited and not force:
            raise _hand_edited(doc, body, real_config)
        new_doc = sshconfig.plan(doc, body)
        new_text = new_doc.text
        if fed is not None:
            fed.finish(new_text)
        new_inv_bytes = inventory.dumps(inv).encode("utf-8", "surrogateescape")
        config_changed = new_text != doc.text or (not doc.exists and bool(body))
        result.config_changed = config_changed
        inv_changed = new_inv_bytes != old_inv_bytes
        result._texts = (doc.text, new_text)
        putty_plan = managed.plan(where.ssh_config, before, inv, force=force)
        result.putty = putty_plan.messages
        result.warnings.extend(putty_plan.warnings)
        result.changed = config_changed or inv_changed or putty_plan.changed
        if not result.changed or dry_run:
            return result

        if body and caps.control_master:
            fileio.ensure_dir(control_real)
        live = caps.control_master and (result.removed or result.updated)
        if live:  # a removed alias cannot be addressed once the block is gone: stop it first
            from sshjup.ssh import reconcile  # noqa: PLC0415 (only when hosts change or go)

            result.tunnel.extend(
                reconcile.stop_removed(where.ssh_config, control_real, before, inv.hosts)
            )
        to_verify = changed
        # Which of their local ports are busy: asked while ssh -G checks the file (once the
        # candidate is written: the probes would slow that down), unless running tunnels are
        # about to follow the change (then after they have).
        busy = _BusyPorts(to_verify)
        inv_saved: list[bool] = []

        def verify(candidate: Path) -> None:  # (while the candidate's fsync runs)
            if not live:
                busy.start()
            first = None if fed is None else fed.run
            warnings, checked = _verify(
                candidate, to_verify, doc, new_doc, where.ssh_config, first=first
            )
            result.warnings.extend(warnings)
            result.verified = checked  # (none when ssh could not parse the file at all)

        def save_inventory(_candidate: Path) -> None:  # (verified, and on disk)
            if inv_changed:
                # The inventory (the intent) goes first: a run killed before the rename below
                # finds it and writes the config from it; a rename that fails rolls it back.
                fileio.atomic_write(where.inventory, new_inv_bytes)
                inv_saved.append(True)

        if config_changed:
            try:
                _write_config(real_config, doc, snapshot, new_text, verify, save_inventory, result)
            except BaseException:
                if inv_saved:
                    _restore_inventory(where.inventory, old_inv_bytes)
                raise
        elif inv_changed:
            fileio.atomic_write(where.inventory, new_inv_bytes)
    if old_inv_bytes is None and where.legacy_inventory is not None:
        _finish_migration(where.legacy_inventory, before)
    managed.apply(putty_plan, force=force)
    if live:
        _follow(where, control_real, before, inv.hosts, caps, restart=restart, result=result)
    for target, ports in busy.result():
        if not _own_master_runs(where, control_real, target, caps):
            result.warnings.extend(
                f"local port {port} is in use on this machine right now; "
                f"`ssh {target.alias}` will fail until it is free (see `sshjup doctor`)"
                for port in ports
            )
    return result


def _changes_its_blocks(old: Target | None, new: Target) -> bool:
    """Whether ``new``'s Host blocks differ from ``old``'s (None: a host that is new). Its
    PuTTY choice and Jupyter settings are not in them; everything else may be."""
    return old is None or replace(old, putty=new.putty, jupyter=new.jupyter) != new


class _FedCheck:
    """The ``ssh -G`` of the first changed alias, started before the new text is made and
    given it through a pipe as it is made (:class:`openssh.FedResolve`): the text before the
    section and its begin marker at once, the Host blocks a few at a time as they are rendered,
    the rest once the whole text is planned. ssh parses the file while sshjup renders it and
    writes the candidate, instead of after. What ssh read is checked to be the candidate's
    text; where that is not so, or the run fails, the candidate file itself is checked.

    Its outcome is used only where ssh reads the file once (no Match, Include or
    CanonicalizeHostname outside the section), which :func:`_verify` asks while ssh runs: of
    the reading of the lines outside that a bulk change makes anyway, else of
    :func:`sshconfig.read_once` (about 3 ms on 1 MB). Elsewhere the run is stopped and the file
    is checked. Where ssh cannot read from a pipe (Windows), there is none."""

    def __init__(self, doc: sshconfig.ConfigDoc, alias: str) -> None:
        from sshjup.ssh import openssh, sshconfig  # noqa: PLC0415

        self.eol = doc.eol
        self.lines = 0  # (of the body, sent)
        self.run: proc.Started | None = None  # (once the whole text was sent)
        self.resolve = openssh.FedResolve(alias)
        self.resolve.send(doc.text, 0, sshconfig.section_start(doc))
        self.resolve.send(sshconfig.BEGIN_MARK + doc.eol)

    @classmethod
    @contextlib.contextmanager
    def started(
        cls, doc: sshconfig.ConfigDoc, changed: list[Target], *, enabled: bool
    ) -> Iterator[_FedCheck | None]:
        """A check for the first of ``changed`` (None when there is none to make, or it
        cannot be fed), stopped on the way out unless it was waited for."""
        from sshjup.ssh import openssh  # noqa: PLC0415

        if not (enabled and changed and openssh.can_feed()):
            yield None
            return
        fed = cls(doc, changed[0].alias)
        try:
            yield fed
        finally:
            fed.stop()

    def progress(self, body: list[str]) -> None:
        """The body's lines made since the last call (``render_body``'s ``progress``)."""
        if len(body) > self.lines:
            lines = self.eol.join(body[self.lines :])
            self.resolve.send(self.eol + lines if self.lines else lines)
            self.lines = len(body)

    def finish(self, new_text: str) -> None:
        """The rest of the new text; :attr:`run` is the run (None: check the file instead)."""
        self.run = self.resolve.finish(new_text)

    def stop(self) -> None:
        self.resolve.stop()
        if self.run is not None:
            self.run.stop()


class _BusyPorts:
    """The local ports of ``targets`` that something listens on, each target's in order:
    asked on a thread of its own from :meth:`start` on (a thousand probes take about 10 ms,
    while the main thread waits for ssh -G), else when the result is asked for."""

    def __init__(self, targets: list[Target]) -> None:
        self._targets = targets
        self._found: list[tuple[Target, list[int]]] | None = None
        self._join: Callable[[], None] | None = None

    def start(self) -> None:
        if len(self._targets) > 1 and self._join is None:
            self._join = fileio.in_thread(self._probe_quietly)

    def _probe(self) -> None:
        found = []
        for target in self._targets:
            ports = [f.local_port for f in target.forwards if not local_port_free(f.local_port)]
            if ports:
                found.append((target, ports))
        self._found = found

    def _probe_quietly(self) -> None:
        with contextlib.suppress(Exception):  # (result() probes again, and raises it there)
            self._probe()

    def result(self) -> list[tuple[Target, list[int]]]:
        if self._join is not None:
            self._join()
        if self._found is None:
            self._probe()
        assert self._found is not None  # noqa: S101 (set by _probe)
        return self._found


def _finish_migration(legacy_path: Path, moved: dict[str, Target]) -> None:
    """Take the hosts this config now has in its own inventory out of the old shared one,
    unless the user's ``~/.ssh/config`` has them too (then they are its hosts as well)."""
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    legacy = inventory.load(legacy_path) if moved else None
    if legacy is None:
        return
    users = paths.user_ssh_config()
    try:
        data = fileio.read_bytes(fileio.real_path(users), fileio.MAX_CONFIG_BYTES)
    except SshjupError:
        return  # leave the shared inventory as it is
    kept = set(sshconfig.managed_aliases(sshconfig.decode(data)))
    gone = [n for n, t in moved.items() if n in legacy.hosts and t.alias not in kept]
    if gone:
        for name in gone:
            del legacy.hosts[name]
        inventory.save(legacy, legacy_path)


def _restore_inventory(path: Path, old: bytes | None) -> None:
    """Put the inventory back as it was before a change whose config write failed."""
    with contextlib.suppress(SshjupError):
        if old is None:
            fileio.delete_file(path, backup=False)
        else:
            fileio.atomic_write(path, old, backup=False)


def _own_master_runs(
    where: Where, socket_dir: Path, target: Target, caps: sshconfig.Capabilities
) -> bool:
    """The host's own tunnel is running (so its busy ports are its own, not a clash)."""
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    if not caps.control_master:
        return False
    if not (socket_dir / sshconfig.control_socket_name(target.alias)).exists():
        return False
    from sshjup.ssh import tunnel  # noqa: PLC0415

    return tunnel.status(target.alias, where.ssh_config, target.local_port).running


def _ssh_extra_args(caps: sshconfig.Capabilities) -> tuple[str, ...]:
    """``-N``/``-f`` where the Host block could not say SessionType / ForkAfterAuthentication."""
    return (() if caps.session_type else ("-N",)) + (
        () if caps.fork_after_authentication else ("-f",)
    )


def _follow(
    where: Where,
    socket_dir: Path,
    before: dict[str, Target],
    after: dict[str, Target],
    caps: sshconfig.Capabilities,
    *,
    restart: bool,
    result: ChangeResult,
) -> None:
    """The running tunnels of changed hosts follow the change; restarts owed go to state."""
    from sshjup.ssh import reconcile  # noqa: PLC0415

    followed = reconcile.follow(
        where.ssh_config,
        socket_dir,
        before,
        after,
        restart=restart,
        extra_args=_ssh_extra_args(caps),
    )
    result.tunnel.extend(followed.lines)
    result.warnings.extend(followed.warnings)
    if followed.restart_pending:
        st = state.load()
        st.restart_pending.update(followed.restart_pending)
        state.save(st)


def check_putty_sockets(targets: Iterable[Target]) -> None:
    """PuTTY forwards to host:port only: refuse a Unix-socket forward for a PuTTY host."""
    from sshjup.putty import managed  # noqa: PLC0415

    for target in targets:
        if target.remote_socket is not None and managed.putty_enabled(target):
            auto = " (on by default here, as PuTTY's session store exists)"
            msg = (
                f"{target.name}: PuTTY cannot forward to a Unix socket, and this host has a "
                f"PuTTY session{'' if target.putty else auto}: --remote-socket needs --no-putty"
            )
            hint = (
                "add --no-putty to keep only the ssh Host block (OpenSSH 6.7 or newer), or "
                "leave out --remote-socket to keep a TCP port on the remote for PuTTY"
            )
            raise InvalidInput(msg, hint=hint)


def _write_config(
    real_config: Path,
    doc: sshconfig.ConfigDoc,
    snapshot: fileio.Snapshot | None,
    new_text: str,
    verify: Callable[[Path], None],
    before_replace: Callable[[Path], None],
    result: ChangeResult,
) -> None:
    """Write the config; a file sshjup created goes away again with its last host.

    ``verify`` checks the candidate while its fsync runs, ``before_replace`` comes after it."""
    st = state.load()
    key = str(real_config)
    if not new_text and key in st.created_files:
        verify(real_config)
        before_replace(real_config)
        fileio.check_unchanged(real_config, snapshot)
        fileio.delete_file(real_config)
        st.created_files.remove(key)
        _save_state(st, result)
        return
    fileio.atomic_write(
        real_config,
        new_text,  # (encoded piece by piece as it is written: a large file is not held twice)
        before_replace=before_replace,
        expect=fileio.ABSENT if snapshot is None else snapshot,  # and the backup's bytes
        while_syncing=verify,
    )
    if not doc.exists:
        st.created_files.append(key)
        _save_state(st, result)


def _save_state(st: state.State, result: ChangeResult) -> None:
    """Record what sshjup created; the config is already written, so a failure is a warning."""
    try:
        state.save(st)
    except SshjupError as err:
        result.warnings.append(
            f"{err.message}; sshjup could not record which ssh config it created, so removing "
            "the last host will leave an empty file instead of deleting it"
        )


def _hand_edited(doc: sshconfig.ConfigDoc, body: list[str], path: Path) -> HandEdited:
    import difflib  # noqa: PLC0415

    assert doc.section is not None  # noqa: S101 (checked by the caller)
    current = list(doc.section.body)
    diff = "".join(
        difflib.unified_diff(
            [line + "\n" for line in current],
            [line + "\n" for line in body],
            fromfile=f"{path} (sshjup section, edited by hand)",
            tofile=f"{path} (sshjup section, from the inventory)",
        )
    )
    msg = (
        f"sshjup's section of {path} (lines {doc.section.begin_line}-{doc.section.end_line}) "
        f"was changed by hand since sshjup wrote it:\n{diff}"
    )
    return HandEdited(
        msg,
        hint="put the change into sshjup (`sshjup edit` with the host's name and options) and "
        "run again with --force "
        "to overwrite the hand edit, or keep your own Host block outside the section",
    )


def _diff(old: str, new: str, name: str) -> str:
    """A unified diff of the whole file.

    From 1000 lines on, difflib only sees the changed lines and some context around them (a
    region found by comparing the texts in blocks): over all 60,000 lines of a big config it
    takes seconds. For an added or removed section the hunks are the same; inside a changed
    region they may pair equal lines differently (whole-file difflib ignores lines that fill
    over 1% of a large file, such as blank lines, when it aligns).
    """
    if old.count("\n", 0, _FULL_DIFF_CHARS) < _FULL_DIFF_LINES or old == new:
        start = offset = 0
        end = len(old)
    else:
        same_head = _same_run(old, new)
        same_tail = min(_same_run(old, new, from_end=True), min(len(old), len(new)) - same_head)
        start = old.rfind("\n", 0, same_head) + 1
        for _ in range(_CONTEXT):
            start = old.rfind("\n", 0, start - 1) + 1 if start else 0
        end = len(old) - same_tail
        for _ in range(_CONTEXT + 1):
            nl = old.find("\n", end)
            end = len(old) if nl < 0 else nl + 1
        offset = len(old[:start].splitlines())
    import difflib  # noqa: PLC0415

    lines = difflib.unified_diff(
        old[start:end].splitlines(keepends=True),
        new[start : end + len(new) - len(old)].splitlines(keepends=True),
        fromfile=name,
        tofile=name,
    )
    if not offset:
        return "".join(lines)
    return "".join(_shift(line, offset) if line.startswith("@@") else line for line in lines)


def _same_run(a: str, b: str, *, from_end: bool = False) -> int:
    """How many characters ``a`` and ``b`` have in common at their start (or end)."""
    n, i, step = min(len(a), len(b)), 0, 4096
    la, lb = len(a), len(b)
    while step and i < n:
        j = min(i + step, n)
        if (a[la - j : la - i] == b[lb - j : lb - i]) if from_end else (a[i:j] == b[i:j]):
            i = j
        else:
            step //= 2
    return i


_FULL_DIFF_LINES = 1000  # below this, difflib sees the whole file (as it always did)
_FULL_DIFF_CHARS = 1_000_000  # (count no further than this)
_CONTEXT = 3  # difflib's default


def _shift(hunk_header: str, offset: int) -> str:
    """``@@ -1,3 +1,4 @@`` with both line numbers moved down by ``offset``."""
    at, old_range, new_range, rest = hunk_header.split(" ", 3)

    def moved(spec: str) -> str:
        first, comma, length = spec[1:].partition(",")
        return f"{spec[0]}{int(first) + offset}{comma}{length}"

    return f"{at} {moved(old_range)} {moved(new_range)} {rest}"


def _sample(
    targets: list[Target], doc: sshconfig.ConfigDoc
) -> tuple[list[Target], list[Target], bool | None]:
    """The targets to check with ``ssh -G`` (at most MAX_SSH_G_CHECKS), the ones that lines
    outside the section set a checked value for but that ``ssh -G`` does not check, and
    whether ssh reads the file once (no Match, Include or CanonicalizeHostname outside the
    section; None: not read here, for a single target).

    Each ``ssh -G`` reads the whole file. One of them checks the file's syntax and sshjup's
    rendering; more only tell something where a line outside the section can set a host
    name, user, port or forward of a changed alias, so they go there (after the first
    changed alias, which is always checked: its ``ssh -G`` starts first). When sshjup cannot
    judge the lines outside (a Match, an Include, CanonicalizeHostname), the sample is spread
    over the changed aliases: the first, the middle and the last."""
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    if len(targets) <= 1:
        return targets, [], None
    influence = sshconfig.outside_influence(doc, [t.alias for t in targets])
    if influence.unjudged:
        if len(targets) <= MAX_SSH_G_CHECKS:
            return targets, [], False
        return [targets[0], targets[len(targets) // 2], targets[-1]], [], False
    # The first changed alias is always checked (its ssh -G starts before this reading).
    exposed = [t for t in targets[1:] if t.alias in influence.exposed]
    room = MAX_SSH_G_CHECKS - 1
    return [targets[0], *exposed[:room]], exposed[room:], True


def _verify(
    candidate: Path,
    targets: list[Target],
    old_doc: sshconfig.ConfigDoc,
    new_doc: sshconfig.ConfigDoc,
    shown_path: Path,
    *,
    first: proc.Started | None = None,
) -> tuple[list[str], list[str]]:
    """Check the candidate with ``ssh -G``; raise when sshjup's own change breaks the file.

    ``first``: the first target's ``ssh -G``, already given the candidate's text through its
    stdin (:class:`_FedCheck`). Returns the warnings, and the aliases ``ssh -G`` checked (none
    when the file was unparseable before the change too).
    """
    from sshjup.ssh import sshconfig  # noqa: PLC0415

    warnings: list[str] = []
    runs = _SideBySide(candidate)
    try:
        if first is None and len(targets) > 1:  # (it reads the file while sshjup reads it)
            runs.start(targets[0].alias)
        sample, unchecked, reads_once = _sample(targets, new_doc)
        if first is not None:
            if reads_once is None:
                reads_once = sshconfig.read_once(new_doc)
            if reads_once:
                runs.take(targets[0].alias, first)
            else:  # (ssh may read the file twice, or others: it reads the file itself)
                first.stop()
        outcomes = runs.results([t.alias for t in sample])
    finally:
        runs.stop()  # (each has ended and been reaped, unless an error came first)
    for target, resolved in zip(sample, outcomes, strict=True):
        if isinstance(resolved, Exception):
            raise resolved
        if not resolved.ok:
            original_error = _original_error(shown_path, old_doc, target.alias)
            if original_error is None:
                msg = (
                    f"ssh -G rejects the file sshjup would write ({resolved.error}); "
                    f"{shown_path} was left as it was"
                )
                raise VerificationFailed(
                    msg, hint="please report this as a bug, with the output of `sshjup --debug`"
                )
            warnings.append(
                f"ssh cannot parse {shown_path}, before this change as after it "
                f"({original_error}); sshjup wrote its section, and checked only that the "
                f"error is not in it: what ssh resolves for "
                f"{', '.join(t.alias for t in sample)} was not checked, and ssh will use no "
                f"host of this file until the error is fixed (then run `sshjup doctor`)"
            )
            return warnings, []
        warnings.extend(check_resolved(new_doc, target, resolved, shown_path))
        if target.companion:
            warnings.extend(_check_companion(new_doc, target, candidate, shown_path))
    if unchecked:
        names = ", ".join(t.alias for t in unchecked[:_NAMED_UNCHECKED])
        more = len(unchecked) - _NAMED_UNCHECKED
        names += f" and {more} more" if more > 0 else ""
        warnings.append(
            f"lines of {shown_path} outside sshjup's section set a host name, user, port or "
            f"forward for more of the changed aliases than ssh -G checks in one change: it "
            f"checked {', '.join(t.alias for t in sample)}, not {names} (run `sshjup doctor` "
            "to check each)"
        )
    return warnings, [t.alias for t in sample]


_NAMED_UNCHECKED = 5  # (a warning about a thousand aliases names a few)


def _check_companion(
    doc: sshconfig.ConfigDoc, target: Target, candidate: Path, path: Path
) -> list[str]:
    """``ssh -G NAME`` for the companion alias: the same host, user and port as the tunnel's."""
    from sshjup.ssh import openssh, sshconfig  # noqa: PLC0415

    alias = target.name
    resolved = openssh.resolve(candidate, alias)
    if not resolved.ok:
        return [f"ssh -G {alias} failed: {resolved.error}"]
    wrong = _wrong_login(target, resolved)
    keywords = [_KEYWORDS[k] for k in wrong]
    overrides = {o.keyword: o for o in sshconfig.earlier_settings(doc, alias, keywords)}
    return _login_problems(alias, wrong, resolved, overrides, path)


class _SideBySide:
    """``ssh -G`` runs of one candidate file, each running from the moment it is started:
    each reads the whole file (about 35 ms for 10,000 hosts), so they overlap with each other
    and with sshjup's own work (their processes run while this one reads; no thread waits for
    them). A run asked for but not started runs at once. A run fed the file's text (:meth:`take`)
    that fails is run again on the file itself, whose outcome is the one reported."""

    def __init__(self, candidate: Path) -> None:
        self.candidate = candidate
        self.started: dict[str, proc.Started] = {}
        self.fed: set[str] = set()

    def start(self, alias: str) -> None:
        from sshjup.ssh import openssh  # noqa: PLC0415

        self.started[alias] = openssh.start_resolve(self.candidate, alias)

    def take(self, alias: str, run: proc.Started) -> None:
        """``alias``'s run, started already and fed the candidate's text."""
        self.started[alias] = run
        self.fed.add(alias)

    def results(self, aliases: list[str]) -> list[openssh.Resolved | Exception]:
        """The outcome for each of ``aliases``, once every run started has ended."""
        from sshjup.ssh import openssh  # noqa: PLC0415

        for alias in dict.fromkeys(aliases):
            if alias not in self.started:
                self.start(alias)
        outcomes: dict[str, openssh.Resolved | Exception] = {}
        for alias, run in self.started.items():  # (each has run as long as the first)
            try:
                outcomes[alias] = openssh.resolved(run.wait())
            except Exception as err:  # raised by _verify, in its turn
                outcomes[alias] = err
        for alias in self.fed:  # (what failed through the pipe is asked of the file)
            outcome = outcomes[alias]
            if isinstance(outcome, Exception) or not outcome.ok:
                self.start(alias)
                try:
                    outcomes[alias] = openssh.resolved(self.started[alias].wait())
                except Exception as err:  # (as above)
                    outcomes[alias] = err
        return [outcomes[a] for a in aliases]

    def stop(self) -> None:
        """End the runs not waited for (an error before their results were asked for)."""
        for run in self.started.values():
            run.stop()


def _original_error(path: Path, doc: sshconfig.ConfigDoc, alias: str) -> str | None:
    """ssh -G's error for the file as it is now, or None if it parses (or does not exist)."""
    from sshjup.ssh import openssh  # noqa: PLC0415

    if not doc.exists:
        return None
    resolved = openssh.resolve(path, alias)
    return None if resolved.ok else resolved.error


_KEYWORDS = {"hostname": "HostName", "user": "User", "port": "Port"}


def check_resolved(
    doc: sshconfig.ConfigDoc, target: Target, resolved: openssh.Resolved, path: Path
) -> list[str]:
    """Compare ``ssh -G`` output with the target; name the line that overrides a value."""
    from sshjup.ssh import openssh, sshconfig  # noqa: PLC0415

    if not resolved.ok:
        return [f"ssh -G {target.alias} failed: {resolved.error}"]
    wrong = _wrong_login(target, resolved)
    expected_forwards = [
        openssh.expected_forward(
            f.bind, f.local_port, f.remote_host, f.remote_port, f.remote_socket
        )
        for f in target.forwards
    ]
    missing = [f for f in expected_forwards if f not in resolved.local_forwards]
    extra = [f for f in resolved.local_forwards if f not in expected_forwards]
    keywords = [_KEYWORDS[k] for k in wrong] + (["LocalForward"] if missing or extra else [])
    overrides = {o.keyword: o for o in sshconfig.earlier_settings(doc, target.alias, keywords)}
    problems = _login_problems(target.alias, wrong, resolved, overrides, path)
    if missing:
        problems.append(f"{target.alias}: ssh does not show the forward(s) {', '.join(missing)}")
    if extra:
        override = overrides.get("localforward")
        place = f" ({_where(path, override)})" if override else ""
        problems.append(
            f"{target.alias}: ssh adds forward(s) sshjup did not write: {', '.join(extra)}{place}; "
            "LocalForward lines add up across every matching block"
        )
    return problems


def _wrong_login(target: Target, resolved: openssh.Resolved) -> dict[str, str]:
    """The host name, user and port (``ssh -G`` keys) that ssh resolves otherwise than the
    target says, each with the value the target wants."""
    wanted = {"hostname": target.hostname.lower()}
    if target.user is not None:
        wanted["user"] = target.user
    if target.port is not None:
        wanted["port"] = str(target.port)
    return {k: v for k, v in wanted.items() if resolved.get(k) != v}


def _login_problems(
    alias: str,
    wrong: dict[str, str],
    resolved: openssh.Resolved,
    overrides: dict[str, sshconfig.Override],
    path: Path,
) -> list[str]:
    """One warning per wrong value, naming the line that sets it first where one does."""
    problems = []
    for key, value in wrong.items():
        got = resolved.get(key)
        problem = f"{alias}: ssh resolves {_KEYWORDS[key]} to {got!r}, not {value!r}"
        override = overrides.get(key)
        if override is not None:
            problem += f"; {_where(path, override)} sets it first"
        problems.append(problem + _MOVE_HINT)
    return problems


_MOVE_HINT = (
    ". OpenSSH keeps the first value it reads: move sshjup's section above that block "
    "(sshjup keeps it where you put it)"
)


def _where(path: Path, override: sshconfig.Override) -> str:
    certainty = "" if override.certain else " (if that Match applies)"
    context = "" if override.context == "global" else f" under `{override.context}`"
    setting = f"`{override.keyword} {override.value}`{context}"
    return f"line {override.line} of {path} ({setting}){certainty}"


# --- PuTTY -----------------------------------------------------------------------------------


def putty_sessions(where: Where) -> list[dict[str, Any]]:
    """Each managed host's PuTTY session: its state against the inventory and where it is."""
    from sshjup.putty import managed, sync  # noqa: PLC0415
    from sshjup.putty.store import get_store  # noqa: PLC0415

    targets = list_targets(where)
    store = get_store()
    st = state.load()
    rows: list[dict[str, Any]] = []
    for target in targets:
        digest = managed.recorded_digest(st, store, target.alias)
        location = store.location(target.alias)
        if not managed.putty_enabled(target):
            rows.append(
                {"name": target.name, "session": target.alias, "state": "off", "location": None}
            )
            continue
        now: str = sync.session_state(target.alias, store, digest)
        if now == "managed":
            # Compare with what apply writes: the user and key ssh -G adds (PuTTY has no Host *).
            full, _ = managed.as_ssh_sees_it(where.ssh_config, target)
            planned = sync.plan_session(
                full, store, known_hosts_path=None, managed_digest=digest, check_key=False
            )
            # Host keys are pinned from known_hosts, which this listing does not consult.
            differs = [
                c for c in planned.changes if "SSHManualHostKeys" not in c and "HostKey=" not in c
            ]
            now = "in-sync" if not differs else "out-of-date"
        rows.append(
            {"name": target.name, "session": target.alias, "state": now, "location": location}
        )
    return rows


def putty_export(
    where: Where, names: list[str], reg_file: Path, ppk_paths: dict[str, str]
) -> list[str]:
    """Write a ``.reg`` file with the sessions of ``names``; returns warnings."""
    from sshjup.putty import sync  # noqa: PLC0415

    targets = [get_target(where, n) for n in names]
    for key in ppk_paths:
        if name_from_alias(key) not in {t.name for t in targets}:
            msg = f"--ppk names {key!r}, which is not among the exported hosts"
            raise InvalidInput(msg, hint="use NAME=WINDOWS_PATH with a NAME you export")
    by_name = {name_from_alias(k): v for k, v in ppk_paths.items()}
    known_hosts = paths.ssh_home() / ".ssh" / "known_hosts"
    exported = sync.export_reg(targets, known_hosts_path=known_hosts, ppk_paths=by_name)
    fileio.atomic_write(reg_file, exported.data, backup=False, new_mode=0o644)
    return list(exported.warnings)


# --- the tunnel -----------------------------------------------------------------------------


def tunnel_up(
    where: Where,
    name: str,
    *,
    timeout: float = 30.0,
    progress: Callable[[str], None] | None = None,
    restart: bool = False,
    prompt_timeout: float | None = None,
) -> Any:
    """Open NAME's tunnel in the background (plain ``ssh jup-NAME``) and wait for its ports.

    A running tunnel gets the forwards it lacks; one whose connection changed since it started
    (``state.restart_pending``), or any with ``restart``, is restarted.
    """
    from sshjup.ssh import openssh, tunnel  # noqa: PLC0415

    target = get_target(where, name)
    caps = openssh.capabilities()
    st = state.load()
    owed = st.restart_pending.get(target.alias)
    restart = restart or (owed is not None and _master_pid(where, target) == owed)
    up = tunnel.up(
        target.alias,
        where.ssh_config,
        target.local_port,
        timeout=timeout,
        progress=progress,
        extra_args=_ssh_extra_args(caps),
        forwards=target.forwards,
        restart=restart,
        **({} if prompt_timeout is None else {"prompt_timeout": prompt_timeout}),
    )
    if owed is not None:
        st = state.load()
        st.restart_pending.pop(target.alias, None)
        state.save(st)
    return up


def keep_tunnels(
    where: Where,
    names: list[str],
    log: Callable[[str], None],
    on_up: Callable[[Target], Sequence[str]] | None = None,
) -> int:
    """``sshjup keep``: bring NAMEs' tunnels up and keep them up until SIGTERM/SIGINT.

    ``on_up(target)`` runs each time a tunnel (re)opened; its lines are logged.
    """
    from sshjup.ssh import keep, openssh  # noqa: PLC0415

    targets = [get_target(where, n) for n in names]
    caps = openssh.capabilities()
    socket_dir = paths.control_dir(where.ssh_config)[1] if caps.control_master else None
    supervisor = keep.Supervisor(
        where.ssh_config,
        targets,
        socket_dir=socket_dir,
        log=log,
        extra_args=_ssh_extra_args(caps),
        on_up=on_up,
    )
    return supervisor.run()


def _master_pid(where: Where, target: Target) -> int | None:
    from sshjup.ssh import tunnel  # noqa: PLC0415

    return tunnel.status(target.alias, where.ssh_config, target.local_port).pid


def tunnel_down(where: Where, name: str) -> Any:
    """Close NAME's tunnel through its control socket (``ssh -O exit``)."""
    from sshjup.ssh import tunnel  # noqa: PLC0415

    target = get_target(where, name)
    return tunnel.down(target.alias, where.ssh_config, target.local_port)


def tunnel_status(where: Where, name: str | None = None) -> list[Any]:
    """``ssh -O check`` and the local port, for NAME or for every managed host."""
    from sshjup.ssh import tunnel  # noqa: PLC0415

    targets = [get_target(where, name)] if name else list_targets(where)
    return [
        tunnel.status(t.alias, where.ssh_config, t.local_port, forwards=t.forwards) for t in targets
    ]


__all__ = [
    "AliasDefaults",
    "ChangeResult",
    "ShowResult",
    "Where",
    "add_target",
    "alias_defaults",
    "apply_inventory",
    "check_resolved",
    "edit_target",
    "export_inventory",
    "get_target",
    "keep_tunnels",
    "list_targets",
    "load_inventory",
    "load_inventory_file",
    "check_putty_sockets",
    "putty_export",
    "putty_sessions",
    "local_port_free",
    "remove_target",
    "show_target",
    "suggest_free_port",
    "tunnel_down",
    "tunnel_status",
    "tunnel_up",
]
