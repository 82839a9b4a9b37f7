"""Remote kernels, the runner: start, list, attach and stop kernels through the alias's master.

The pure parts (scripts, connection file text, names) are in :mod:`sshjup.jupyter.kernels`.
Remote commands go through :func:`sshjup.jupyter.remote.run_script` (a script on ssh's stdin,
on a connection of its own, never the master); forwards through
:func:`sshjup.ssh.tunnel.forward` / :func:`~sshjup.ssh.tunnel.cancel` on the running master.
The kernel's key travels only on ssh's stdout into the 0600 local connection file; the
record kept in the machine-local state (:mod:`sshjup.store.state`) never holds it.
Like the other façades it never prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from sshjup import hosts
from sshjup.errors import (
    Conflict,
    NotFound,
    RemoteCommandFailed,
    SshjupError,
    ToolMissing,
    TunnelError,
)
from sshjup.jupyter import kernels, launcher, remote
from sshjup.jupyter.service import remember_spec
from sshjup.models import JupyterSpec, Target
from sshjup.records import dataclass
from sshjup.ssh import openssh, tunnel
from sshjup.store import fileio, paths, state

START_TIMEOUT = 90.0


@dataclass(frozen=True)
class KernelRecord:
    """A kernel sshjup started, as it is recorded."""

    alias: str
    kernel_id: str
    remote_dir: str
    pid: int
    local_ports: dict[str, int]
    remote_ports: dict[str, int]
    connection_file: str
    kernel_name: str | None = None
    started: float = 0.0
    ssh_config: str | None = None  # (launcher.config_key; older records: None)

    def to_json(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "kernel_id": self.kernel_id,
            "remote_dir": self.remote_dir,
            "pid": self.pid,
            "local_ports": dict(self.local_ports),
            "remote_ports": dict(self.remote_ports),
            "connection_file": self.connection_file,
            "kernel_name": self.kernel_name,
            "started": self.started,
            "ssh_config": self.ssh_config,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> KernelRecord:
        return cls(
            str(raw["alias"]),
            kernels.check_kernel_id(str(raw["kernel_id"])),
            kernels.check_remote_dir(str(raw["remote_dir"])),
            int(raw["pid"]),
            {str(k): int(v) for k, v in raw["local_ports"].items()},
            {str(k): int(v) for k, v in raw["remote_ports"].items()},
            str(raw["connection_file"]),
            None if raw.get("kernel_name") is None else str(raw["kernel_name"]),
            float(raw.get("started", 0.0)),
            None if raw.get("ssh_config") is None else str(raw["ssh_config"]),
        )

    def specs(self) -> list[str]:
        return [
            kernels.forward_spec(self.local_ports[ch], self.remote_dir, self.remote_ports[ch])
            for ch in kernels.CHANNELS
        ]


@dataclass(frozen=True)
class KernelInfo:
    """A kernel as ``kernel list`` shows it."""

    record: KernelRecord
    alive: bool | None  # None: the remote could not be asked
    forwarded: bool
    file_exists: bool
    managed: bool = True  # False: its host was removed from this config (the record is left)

    def to_json(self) -> dict[str, Any]:
        out = self.record.to_json()
        out.update(owner="sshjup", route="tunnel", launcher_pid=None)
        out.update(alive=self.alive, forwarded=self.forwarded, file_exists=self.file_exists)
        out.update(managed=self.managed)
        return out


@dataclass(frozen=True)
class LaunchInfo:
    """A kernel a front end started through the ``jup-NAME`` kernelspec, as ``kernel list``
    shows it: the front end owns it; ``alive`` is whether its launcher still runs (the
    remote kernel lives exactly as long), None where that cannot be told (Windows)."""

    record: launcher.LaunchRecord
    alive: bool | None
    forwarded: bool
    file_exists: bool
    managed: bool = True

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        return {
            "alias": rec.alias,
            "kernel_id": rec.launch_id,
            "owner": "launcher",
            "route": rec.route,
            "pid": None,
            "launcher_pid": rec.pid,
            "remote_dir": kernels.launch_dir(rec.launch_id),
            "local_ports": dict(rec.local_ports),
            "remote_ports": {ch: n for n, ch in enumerate(kernels.CHANNELS, start=1)},
            "connection_file": rec.connection_file,
            "kernel_name": rec.kernel_name,
            "started": rec.started,
            "ssh_config": rec.ssh_config,
            "alive": self.alive,
            "forwarded": self.forwarded,
            "file_exists": self.file_exists,
            "managed": self.managed,
        }


def _records(alias: str | None = None) -> list[KernelRecord]:
    return kernels.parse_records(state.load().kernels, KernelRecord.from_json, alias)


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((tunnel.LOOPBACK, 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _jupyter_cmd(target: Target, given: str | None) -> tuple[str, JupyterSpec]:
    spec = target.jupyter
    if given:
        spec = JupyterSpec(spec.kind, given, spec.args, spec.root_dir)
    return spec.command or "jupyter", spec


def _forward_all(where: hosts.Where, rec: KernelRecord) -> None:
    done: list[str] = []
    try:
        for spec in rec.specs():
            tunnel.forward(where.ssh_config, rec.alias, spec)
            done.append(spec)
    except TunnelError:
        for spec in done:
            with contextlib.suppress(SshjupError):
                tunnel.cancel(where.ssh_config, rec.alias, spec)
        raise


def _cancel_all(where: hosts.Where, rec: KernelRecord) -> None:
    for spec in rec.specs():
        with contextlib.suppress(SshjupError):
            tunnel.cancel(where.ssh_config, rec.alias, spec)


def start(
    where: hosts.Where,
    name: str,
    *,
    kernel: str | None = None,
    jupyter_cmd: str | None = None,
    timeout: float = 30.0,
) -> KernelRecord:
    """Start a kernel on NAME's remote, forward its channels, write the local connection file."""
    target = hosts.get_target(where, name)
    if kernel is not None:
        kernels.check_spec(kernel)
    require_master()
    command, spec = _jupyter_cmd(target, jupyter_cmd)
    hosts.tunnel_up(where, name, timeout=timeout)
    cp = remote.run_script(
        target.alias, where.ssh_config, kernels.start_script(command, kernel), timeout=START_TIMEOUT
    )
    if cp.returncode != 0:
        detail = remote._tail(cp.stderr, 8)
        msg = f"starting a kernel on {target.alias} failed (exit {cp.returncode})"
        if detail:
            msg += f":\n{detail}"
        hint = (
            "install ipykernel on the remote (python -m pip install --user ipykernel), or give "
            "the remote's jupyter with --jupyter-cmd PATH"
        )
        raise RemoteCommandFailed(msg, hint=hint)
    started = kernels.parse_started(cp.stdout)
    kernel_id = secrets.token_hex(4)
    local = dict(zip(kernels.CHANNELS, _free_ports(len(kernels.CHANNELS)), strict=True))
    path = kernels.runtime_dir() / kernels.connection_file_name(target.alias, kernel_id)
    rec = KernelRecord(
        target.alias,
        kernel_id,
        started.remote_dir,
        started.pid,
        local,
        started.remote_ports(),
        str(path),
        kernel or started.info.get("kernel_name") or None,
        time.time(),
        launcher.config_key(where),
    )
    try:
        _forward_all(where, rec)
        fileio.ensure_dir(path.parent)
        fileio.atomic_write(
            path, kernels.local_connection(started.info, local), backup=False, new_mode=0o600
        )
        os.chmod(path, 0o600)
    except BaseException:
        _cancel_all(where, rec)
        with contextlib.suppress(SshjupError):
            remote.run_script(
                target.alias, where.ssh_config, kernels.stop_script(rec.pid, rec.remote_dir)
            )
        raise
    state.update(lambda st: st.kernels.append(rec.to_json()))
    if jupyter_cmd:
        remember_spec(where, target, spec)
    return rec


def require_master(*, control_master: bool | None = None) -> None:
    """``kernel start|attach`` forward through the tunnel's master; Windows' OpenSSH has none
    (there a kernel lives as long as the ssh that carries its forwards: the kernelspec route)."""
    if control_master is None:
        control_master = openssh.capabilities().control_master
    if not control_master:
        msg = (
            "this ssh client has no ControlMaster (Windows' OpenSSH), so a detached kernel "
            "cannot be forwarded through the tunnel"
        )
        hint = (
            "use the kernelspec route: `sshjup kernelspec install NAME`, then pick the "
            "jup-NAME kernel in your editor (its launcher runs its own ssh with -L forwards)"
        )
        raise ToolMissing(msg, hint=hint)


def _alive(where: hosts.Where, alias: str, recs: list[KernelRecord]) -> dict[str, bool]:
    if not recs:
        return {}
    script = kernels.alive_script({r.kernel_id: r.pid for r in recs})
    cp = remote.run_script(alias, where.ssh_config, script)
    out = {}
    for line in cp.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:  # noqa: PLR2004
            out[parts[0]] = parts[1] == "alive"
    return out


def _forwarded(rec: KernelRecord) -> bool:
    return all(tunnel.port_accepts(p, timeout=0.3) for p in rec.local_ports.values())


def list_kernels(where: hosts.Where, name: str | None = None) -> list[KernelInfo]:
    """The kernels sshjup started (for NAME or every host), alive or not."""
    alias = _listed_alias(where, name)
    recs = _records(alias)
    managed = _managed(where)
    infos = []
    for a in sorted({r.alias for r in recs}):
        mine = [r for r in recs if r.alias == a]
        gone = [r for r in mine if _removed(r.alias, r.ssh_config, where, managed)]
        try:  # (no ssh to the alias of a removed host: it no longer names that host)
            alive: dict[str, bool] | None = _alive(where, a, [r for r in mine if r not in gone])
        except SshjupError:
            alive = None
        for r in mine:
            infos.append(
                KernelInfo(
                    r,
                    None if alive is None or r in gone else alive.get(r.kernel_id, False),
                    _forwarded(r),
                    Path(r.connection_file).exists(),
                    r not in gone,
                )
            )
    return infos


def _managed(where: hosts.Where) -> set[str]:
    return {t.alias for t in hosts.list_targets(where)}


def _removed(alias: str, ssh_config: str | None, where: hosts.Where, managed: set[str]) -> bool:
    """A record of this config whose host the config no longer manages (removed)."""
    return alias not in managed and launcher.of_config(ssh_config, where)


def _listed_alias(where: hosts.Where, name: str | None) -> str | None:
    """``kernel list NAME``: NAME's alias; a NAME no longer managed that still has records of
    this config is listed too (as removed), any other unknown NAME is NotFound."""
    if not name:
        return None
    try:
        return hosts.get_target(where, name).alias
    except NotFound:
        alias = _alias_of(name)
        if not _left_records(where, alias):
            raise
        return alias


def _alias_of(name: str) -> str:
    from sshjup.models import ALIAS_PREFIX  # noqa: PLC0415

    return name if name.startswith(ALIAS_PREFIX) else ALIAS_PREFIX + name


def _left_records(
    where: hosts.Where, alias: str
) -> tuple[list[KernelRecord], list[launcher.LaunchRecord]]:
    """This config's records of ``alias`` (kernels, launches)."""
    return (
        [r for r in _records(alias) if launcher.of_config(r.ssh_config, where)],
        [r for r in launcher.launch_records(alias) if launcher.of_config(r.ssh_config, where)],
    )


def list_launches(where: hosts.Where, name: str | None = None) -> list[LaunchInfo]:
    """The kernels front ends started through ``jup-NAME`` kernelspecs (running launchers,
    and the records of launchers that died before they could clean up). Asks no remote."""
    alias = _listed_alias(where, name)
    managed = _managed(where)
    infos = []
    for rec in sorted(launcher.launch_records(alias), key=lambda r: (r.alias, r.started)):
        ports = list(rec.local_ports.values())
        forwarded = bool(ports) and all(tunnel.port_accepts(p, timeout=0.3) for p in ports)
        exists = bool(rec.connection_file) and Path(rec.connection_file).exists()
        removed = _removed(rec.alias, rec.ssh_config, where, managed)
        infos.append(LaunchInfo(rec, rec.alive(), forwarded, exists, not removed))
    return infos


def _select(where: hosts.Where, name: str, kernel_id: str | None) -> list[KernelRecord]:
    target = hosts.get_target(where, name)
    recs = _records(target.alias)
    if kernel_id is not None:
        kernels.check_kernel_id(kernel_id)
        recs = [r for r in recs if r.kernel_id == kernel_id]
        if not recs:
            msg = f"no kernel {kernel_id} of {target.alias} is known"
            raise NotFound(msg, hint=f"see `sshjup kernel list {name}`")
    return recs


def attach(
    where: hosts.Where, name: str, kernel_id: str | None = None, *, timeout: float = 30.0
) -> list[KernelRecord]:
    """Forward the kernels' channels again (after the tunnel came back); tunnel up first."""
    recs = _select(where, name, kernel_id)
    if not recs:
        return []
    require_master()
    hosts.tunnel_up(where, name, timeout=timeout)
    for rec in recs:
        if not _forwarded(rec):
            _cancel_all(where, rec)  # half-forwarded: start clean
            _forward_all(where, rec)
    return recs


def reattach(where: hosts.Where, name: str) -> list[str]:
    """After ``sshjup up``: forward NAME's known kernels again; problems come back as warnings."""
    try:
        return [f"kernel {r.kernel_id} forwarded again" for r in attach(where, name)]
    except SshjupError as err:
        return [f"could not forward the kernels of {name} again: {err}"]


def stop(where: hosts.Where, name: str, kernel_id: str | None = None) -> list[KernelRecord]:
    """Shutdown request (SIGTERM to KernelApp), then a signal; remove the remote dir, the local
    file, the forwards and the record."""
    recs = _select(where, name, kernel_id)
    for rec in recs:
        remote.run_script(rec.alias, where.ssh_config, kernels.stop_script(rec.pid, rec.remote_dir))
        _cancel_all(where, rec)
        Path(rec.connection_file).unlink(missing_ok=True)
    gone = {(r.alias, r.kernel_id) for r in recs}

    def drop(st: state.State) -> None:
        st.kernels[:] = [k for k in st.kernels if (k.get("alias"), k.get("kernel_id")) not in gone]

    if recs:
        state.update(drop)
    return recs


def forget_launches(
    where: hosts.Where, name: str, kernel_id: str | None = None
) -> tuple[list[launcher.LaunchRecord], list[launcher.LaunchRecord]]:
    """Remove the records of NAME's launchers that are gone, cancelling forwards they left
    on the tunnel's master (what the next launcher does too). A running launcher is left
    alone: its front end owns the kernel. Returns (removed, left running or unknown).

    Naming one kernel (``kernel_id``) also removes a record whose launcher cannot be told
    alive or gone (Windows): the user asked for that one, and a record is all it loses (the
    direct route's forwards live in the launcher's own ssh)."""
    alias = hosts.get_target(where, name).alias
    if kernel_id is not None:
        kernels.check_kernel_id(kernel_id)
    return launcher.drop_stale(where, alias, kernel_id, unknown=kernel_id is not None)


def stop_launch(where: hosts.Where, name: str, kernel_id: str) -> launcher.LaunchRecord | None:
    """``kernel stop NAME ID`` for a launcher kernel: remove its record when the launcher is
    gone (or cannot be told alive); Conflict while it runs. None when ID is no launcher
    kernel of NAME."""
    removed, left = forget_launches(where, name, kernel_id)
    if left:
        rec = left[0]
        how = "runs"
        msg = (
            f"kernel {kernel_id} of {rec.alias} belongs to a front end: its launcher "
            f"(pid {rec.pid}) {how}"
        )
        hint = (
            "shut the kernel down in the editor or notebook that started it; its record goes "
            "when the launcher ends"
        )
        raise Conflict(msg, hint=hint)
    return removed[0] if removed else None


# -- a host that leaves sshjup (``remove``, ``apply --prune``) ---------------------------------

LAUNCHER_END_WAIT = 20.0  # a launcher gives its ssh 15 s (launcher.EXIT_GRACE) to end
MASTER_END_WAIT = 5.0  # a tunnel-route launcher ends by itself once the removal stops the master


@dataclass
class Retired:
    """What ending a host's kernels did (or, with ``dry_run``, would do)."""

    done: list[str]
    warnings: list[str]


def is_removed(where: hosts.Where, name: str) -> bool:
    """NAME is no longer managed in this config, and records of its kernels are left."""
    try:
        hosts.get_target(where, name)
    except NotFound:
        kernel_recs, launch_recs = _left_records(where, _alias_of(name))
        return bool(kernel_recs or launch_recs)
    return False


def retire_kernels(where: hosts.Where, alias: str, *, dry_run: bool = False) -> Retired:
    """Before ``alias`` leaves this config: stop the kernels ``kernel start`` started there
    (through the alias, which still names the host now), cancel their forwards, remove their
    connection files and records. A kernel the remote cannot be asked to stop is forgotten
    all the same, with a warning naming its pid and directory there."""
    out = Retired([], [])
    recs = _left_records(where, alias)[0]
    for rec in recs:
        if dry_run:
            out.done.append(f"would stop kernel {rec.kernel_id} on {alias}")
            continue
        try:
            script = kernels.stop_script(rec.pid, rec.remote_dir)
            remote.run_script(alias, where.ssh_config, script)
        except SshjupError as err:
            out.warnings.append(
                f"kernel {rec.kernel_id} on {alias} could not be stopped ({err.message}); its "
                f"record was removed, and its KernelApp (pid {rec.pid}, {rec.remote_dir}) may "
                "still run on the remote"
            )
        else:
            out.done.append(f"Stopped kernel {rec.kernel_id} on {alias}.")
        _cancel_all(where, rec)
        Path(rec.connection_file).unlink(missing_ok=True)
    if not dry_run:
        _drop_kernels(alias, {r.kernel_id for r in recs})
    return out


def retire_launches(
    where: hosts.Where, alias: str, *, dry_run: bool = False, wait: float = LAUNCHER_END_WAIT
) -> Retired:
    """Once ``alias`` left this config: end its launcher kernels and remove their records.

    A launcher that runs, and whose identity ``/proc`` confirms (its recorded start time),
    gets SIGTERM: it closes its ssh's stdin, the remote wrapper stops the kernel, and the
    launcher exits (its front end sees the kernel die; a restart finds no host). sshjup waits
    up to ``wait`` s for it. A launcher that cannot be told alive, or told apart from a
    process that reused its pid (no ``/proc``: Windows, macOS), is never signalled: its record
    goes, with a warning. Every record of the alias in this config is gone afterwards.

    A launcher on the tunnel route rode on the master the removal stopped: it is given
    ``MASTER_END_WAIT`` s to end by itself (its remote kernel got SIGHUP) before SIGTERM."""
    out = Retired([], [])
    recs = _left_records(where, alias)[1]
    riding = [r for r in recs if r.route == "tunnel" and r.pid_start is not None]
    if not dry_run:
        _wait_ended(riding, MASTER_END_WAIT)
    ending: list[launcher.LaunchRecord] = []
    for rec in recs:
        alive = rec.alive()
        if rec in riding and not alive:
            out.done.append(f"Stopped kernel {rec.launch_id} on {alias} (its launcher ended).")
            continue
        what = f"kernel {rec.launch_id} on {alias}"
        if alive and rec.pid_start is not None:
            if dry_run:
                out.done.append(f"would stop {what} (its launcher, pid {rec.pid})")
                continue
            try:
                os.kill(rec.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue  # (it ended meanwhile)
            except OSError as err:
                out.warnings.append(f"could not stop the launcher (pid {rec.pid}) of {what}: {err}")
                continue
            ending.append(rec)
        elif alive is False:
            verb = "would remove" if dry_run else "Removed"
            out.done.append(f"{verb} the record of {what} (stale).")
        else:
            verb = "would remove" if dry_run else "removed"
            out.warnings.append(
                f"{verb} the record of {what}: sshjup cannot tell whether its launcher (pid "
                f"{rec.pid}) still runs here; if it does, shut the kernel down in its front end"
            )
    _wait_ended(ending, wait)
    for rec in ending:
        if rec.alive():
            out.warnings.append(
                f"the launcher (pid {rec.pid}) of kernel {rec.launch_id} on {alias} did not end "
                f"within {wait:.0f} s of SIGTERM; shut the kernel down in its front end"
            )
        else:
            out.done.append(f"Stopped kernel {rec.launch_id} on {alias} (its launcher ended).")
    if not dry_run:
        _drop_launches({r.launch_id for r in recs})
    return out


def _wait_ended(recs: list[launcher.LaunchRecord], wait: float) -> None:
    deadline = time.monotonic() + wait
    while any(r.alive() for r in recs) and time.monotonic() < deadline:
        time.sleep(0.1)


def forget_removed(where: hosts.Where, name: str) -> Retired:
    """``kernel stop NAME --all`` for a host this config no longer manages: its launcher
    kernels end as with :func:`retire_launches`; a kernel ``kernel start`` started is only
    forgotten (the alias no longer names the host, so the remote is not asked), with a
    warning naming its pid and remote directory."""
    alias = _alias_of(name)
    kernel_recs = _left_records(where, alias)[0]
    out = retire_launches(where, alias)
    for rec in kernel_recs:
        out.warnings.append(
            f"removed the record of kernel {rec.kernel_id} on {alias}: the host is no longer "
            f"managed, so its KernelApp (pid {rec.pid}, {rec.remote_dir}) was not stopped on "
            "the remote; stop it there if it still runs"
        )
        Path(rec.connection_file).unlink(missing_ok=True)
    _drop_kernels(alias, {r.kernel_id for r in kernel_recs})
    return out


def _drop_kernels(alias: str, ids: set[str]) -> None:
    def drop(st: state.State) -> None:
        st.kernels[:] = [
            k for k in st.kernels if not (k.get("alias") == alias and k.get("kernel_id") in ids)
        ]

    if ids:
        state.update(drop)


def _drop_launches(ids: set[str]) -> None:
    def drop(st: state.State) -> None:
        st.launches[:] = [r for r in st.launches if str(r.get("launch_id")) not in ids]

    if ids:
        state.update(drop)


# -- the local kernelspec jup-NAME ------------------------------------------------------------


@dataclass(frozen=True)
class KernelspecResult:
    name: str
    directory: str
    argv: list[str]
    display_name: str
    interrupt_mode: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "directory": self.directory,
            "argv": list(self.argv),
            "display_name": self.display_name,
            "interrupt_mode": self.interrupt_mode,
        }


def _kernelspec_dir(alias: str) -> Path:
    return kernels.data_dir() / "kernels" / kernels.kernelspec_name(alias)


def _ours(path: Path) -> bool | None:
    """True: a kernelspec sshjup wrote; False: someone else's; None: no kernel.json."""
    data = fileio.read_bytes(path)
    if data is None:
        return None
    try:
        meta = json.loads(data.decode("utf-8", "replace")).get("metadata", {})
    except (ValueError, AttributeError):
        return False
    return isinstance(meta, dict) and isinstance(meta.get("sshjup"), dict)


def install_kernelspec(
    where: hosts.Where,
    name: str,
    *,
    kernel: str | None = None,
    display_name: str | None = None,
    jupyter_cmd: str | None = None,
    language: str = "python",
    interrupt_mode: str = "message",
    python: str | None = None,
) -> KernelspecResult:
    """Write the local kernelspec ``jup-NAME`` (``DATA/kernels/jup-NAME/kernel.json``) whose
    argv runs ``python -m sshjup kernel run NAME --connection-file {connection_file}``."""
    target = hosts.get_target(where, name)
    if kernel is not None:
        kernels.check_spec(kernel)
    if jupyter_cmd is not None:
        _jupyter_cmd(target, jupyter_cmd)  # validated like `kernel start --jupyter-cmd`
    config = None
    if not paths.is_users_config(where.ssh_config):
        config = str(where.ssh_config.expanduser().absolute())
    argv = kernels.launcher_argv(
        python or sys.executable, name, spec=kernel, jupyter_cmd=jupyter_cmd, ssh_config=config
    )
    shown = display_name or f"{kernel or 'Python'} on {target.alias} (sshjup)"
    text = kernels.render_kernelspec(
        argv,
        display_name=shown,
        language=language,
        interrupt_mode=interrupt_mode,
        alias=target.alias,
        remote_kernel=kernel,
    )
    directory = _kernelspec_dir(target.alias)
    path = directory / kernels.KERNELSPEC_FILE
    if _ours(path) is False:
        msg = f"{directory} holds a kernelspec sshjup did not write"
        hint = f"remove it (`jupyter kernelspec remove {target.alias}`) or keep it"
        raise Conflict(msg, hint=hint)
    fileio.ensure_dir(directory)
    fileio.atomic_write(path, text, backup=False, new_mode=0o644)
    return KernelspecResult(target.alias, str(directory), argv, shown, interrupt_mode)


def uninstall_kernelspec(where: hosts.Where, name: str) -> str:
    """Remove the kernelspec ``jup-NAME`` that :func:`install_kernelspec` wrote; its dir."""
    alias = hosts.get_target(where, name).alias
    directory = _kernelspec_dir(alias)
    path = directory / kernels.KERNELSPEC_FILE
    ours = _ours(path)
    if ours is None:
        msg = f"no kernelspec {alias} is installed in {directory.parent}"
        raise NotFound(msg, hint="see `jupyter kernelspec list`")
    if not ours:
        msg = f"{directory} holds a kernelspec sshjup did not write; it was left as it was"
        raise Conflict(msg, hint=f"remove it with `jupyter kernelspec remove {alias}`")
    fileio.delete_file(path, backup=False)
    with contextlib.suppress(OSError):
        directory.rmdir()  # (kept when the user put more files there)
    return str(directory)


__all__ = [
    "KernelspecResult",
    "install_kernelspec",
    "require_master",
    "uninstall_kernelspec",
    "KernelInfo",
    "LaunchInfo",
    "forget_launches",
    "forget_removed",
    "is_removed",
    "retire_kernels",
    "retire_launches",
    "Retired",
    "list_launches",
    "stop_launch",
    "KernelRecord",
    "attach",
    "list_kernels",
    "reattach",
    "start",
    "stop",
]
