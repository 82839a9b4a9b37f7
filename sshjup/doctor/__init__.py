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

The checks live beside each other by area: :mod:`~sshjup.doctor.config` (OpenSSH, the
inventory, the ssh config), :mod:`~sshjup.doctor.tunnel` (control socket, local ports),
:mod:`~sshjup.doctor.putty`, :mod:`~sshjup.doctor.jupyter` (keyring, remote); every one
returns :class:`~sshjup.doctor.check.Check` values, and :func:`run_checks` here is the one
runner. A new check goes into the module of its area and is called from :func:`run_checks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sshjup import hosts
from sshjup.doctor.check import (
    DETAIL_KEYS,
    STATUSES,
    Check,
    Progress,
    Status,
    host_of,
    kind_of,
    normalised,
    report_json,
)
from sshjup.doctor.config import (
    check_config_parses,
    check_config_permissions,
    check_home,
    check_inventory,
    check_key_permissions,
    check_openssh,
    check_resolves,
    check_section,
    classify_config_mode,
    group_is_private,
    openssh_check,
    read_doc,
)
from sshjup.doctor.jupyter import check_keyring, check_remote
from sshjup.doctor.putty import check_putty, putty_rows
from sshjup.doctor.tunnel import (
    Listener,
    check_control,
    check_local_ports,
    parse_proc_net_tcp,
    parse_ss,
    port_owners,
)
from sshjup.errors import SshjupError
from sshjup.models import Target
from sshjup.ssh import openssh, sshconfig
from sshjup.store import paths

if TYPE_CHECKING:
    from sshjup.store.inventory import Inventory


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
    version_text, caps = check_openssh(checks)
    inv = check_inventory(checks, where)
    targets: list[Target] = []
    if inv is not None:
        targets = [hosts.get_target(where, name)] if name is not None else inv.targets()
    doc = read_doc(checks, where)
    if caps is not None:
        checks.append(check_config_parses(where, doc, targets))
        checks.append(check_home(where, targets, chosen=paths.ssh_config_chosen()))
    checks.extend(check_config_permissions(where.ssh_config, version_text))
    if doc is not None and inv is not None and caps is not None:
        checks.append(check_section(where, doc, inv, caps))
    parse_ok = all(c.status != "fail" for c in checks if c.id == "config.parse")
    rows: dict[str, dict[str, Any]] | SshjupError = {}
    if targets:
        try:
            rows = putty_rows(where)
        except SshjupError as err:
            rows = err
    for target in targets:
        try:
            checks.extend(_host_checks(where, doc, inv, target, caps, rows, parse_ok=parse_ok))
        except SshjupError as err:  # e.g. ssh timing out: one failing check, then go on
            summary = f"{target.alias}: {err.message}"
            checks.append(Check(f"host:{target.name}", "fail", summary, err.hint, {}))
    checks.append(check_keyring(targets))
    if remote and caps is not None and parse_ok:
        for target in targets:
            checks.extend(check_remote(where, target, progress))
    return [normalised(c) for c in checks]


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
        checks.append(check_resolves(where, doc, target, resolved))
        tunnel_status = check_control(checks, where, doc, target, resolved, caps)
    checks.extend(check_key_permissions(target))
    checks.append(check_local_ports(target, tunnel_status, inv))
    checks.extend(check_putty(where, target, putty_rows))
    return checks


__all__ = [
    "DETAIL_KEYS",
    "STATUSES",
    "Check",
    "Listener",
    "Status",
    "check_home",
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
