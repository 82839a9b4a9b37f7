"""The library façade for the Jupyter side: set up, start, stop and reach Jupyter, and tokens.

Like :mod:`sshjup.hosts`: never prints, never exits. Remote commands go through
:mod:`sshjup.jupyter.remote` (a script on ssh's stdin, with the tunnel's forwards cleared);
secrets through :mod:`sshjup.store.tokens`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sshjup import hosts
from sshjup.errors import Conflict, InvalidInput, NotFound, SshjupError
from sshjup.jupyter.urls import local_url
from sshjup.models import JupyterSpec, Target
from sshjup.records import dataclass, replace
from sshjup.store import fileio, paths, state
from sshjup.store.tokens import TOKEN_ENV, TokenStore, resolve_token

if TYPE_CHECKING:
    from sshjup.jupyter import remote, slurm

Progress = Callable[[str], None]


def _spec_with(
    target: Target,
    *,
    kind: str | None = None,
    command: str | None = None,
    args: tuple[str, ...] | None = None,
    root_dir: str | None = None,
) -> JupyterSpec:
    spec = target.jupyter
    changes: dict[str, object] = {}
    if kind is not None:
        changes["kind"] = kind
    if command is not None:
        changes["command"] = command or None
    if args is not None:
        changes["args"] = args
    if root_dir is not None:
        changes["root_dir"] = root_dir or None
    return replace(spec, **changes) if changes else spec  # type: ignore[arg-type]


def remember_spec(where: hosts.Where, target: Target, spec: JupyterSpec) -> Target:
    """Keep ``--jupyter-cmd`` and friends in the inventory (a no-op when unchanged)."""
    if spec == target.jupyter:
        return target
    hosts.edit_target(where, target.name, {"jupyter": spec})
    return target.with_changes(jupyter=spec)


@dataclass(frozen=True)
class SetupResult:
    """What ``jupyter setup`` did."""

    plan: remote.SetupPlan
    password_stored: bool
    password_algorithm: str | None = None  # "argon2", or "sha512" without argon2-cffi


def setup(
    where: hosts.Where,
    name: str,
    *,
    password: str | None = None,
    dry_run: bool = False,
    replace_values: bool = False,
    command: str | None = None,
    kind: str | None = None,
) -> SetupResult:
    """Check Jupyter on the remote and merge sshjup's settings into its server config."""
    from sshjup.jupyter import remote, scripts  # noqa: PLC0415 (ssh scripts: not for url)

    target = hosts.get_target(where, name)
    spec = _spec_with(target, kind=kind, command=command)
    store = TokenStore() if password is not None else None
    if store is not None:
        store.backend()  # fail before touching the remote when the password cannot be kept
    password_hash = scripts.hash_password(password) if password is not None else None
    plan = remote.setup(
        target.alias,
        where.ssh_config,
        spec,
        target.remote_port,
        password_hash=password_hash,
        dry_run=dry_run,
        replace=replace_values,
        sock=target.remote_socket,
    )
    stored = False
    if store is not None and password is not None and not dry_run:
        store.set(target.alias, password, "password")
        stored = True
    if not dry_run:
        remember_spec(where, target, spec)
    algorithm = password_hash.partition(":")[0] if password_hash else None
    return SetupResult(plan, stored, algorithm)


def remember(
    where: hosts.Where, name: str, *, kind: str | None = None, command: str | None = None
) -> Target:
    """Keep a ``--jupyter-cmd`` or kind given to a command that had nothing else to do."""
    target = hosts.get_target(where, name)
    return remember_spec(where, target, _spec_with(target, kind=kind, command=command))


@dataclass(frozen=True)
class StartResult:
    """What ``jupyter start`` did, and where the token came from."""

    target: Target
    started: remote.StartResult
    token_source: str  # "keyring" (stored), "cli", "env"


def start(
    where: hosts.Where,
    name: str,
    *,
    kind: str | None = None,
    command: str | None = None,
    args: tuple[str, ...] | None = None,
    root_dir: str | None = None,
    token: str | None = None,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> StartResult:
    """Start Jupyter on the remote port (never another); keep its token in the keyring."""
    from sshjup.jupyter import remote, scripts  # noqa: PLC0415 (ssh scripts: not for url)

    target = hosts.get_target(where, name)
    spec = _spec_with(target, kind=kind, command=command, args=args, root_dir=root_dir)
    given, source = resolve_token(
        target.alias, cli_value=token, env_value=os.environ.get(TOKEN_ENV), store=None
    )
    store: TokenStore | None = None
    if given is None:
        store = TokenStore()
        store.backend()  # fail early: a server whose token cannot be kept is no use
        given, source = scripts.new_token(), "keyring"
    try:
        started = remote.start(
            target.alias,
            where.ssh_config,
            spec,
            target.remote_port,
            given,
            timeout=timeout,
            progress=progress,
            sock=target.remote_socket,
        )
    except BaseException:
        # Ctrl-C (or a failure) after the server may have started: keep the --jupyter-cmd it
        # was started with, so `jupyter stop` and `jupyter status` find it without it.
        with contextlib.suppress(SshjupError):
            remember_spec(where, target, spec)
        raise
    if store is not None:
        store.set(target.alias, started.token or given, "token")
    _record_server(target.alias, target.remote_port, started.server.pid)
    target = remember_spec(where, target, spec)
    return StartResult(target, started, source)


def _record_server(alias: str, port: int, pid: int) -> None:
    st = state.load()
    st.servers[alias] = {"port": port, "pid": pid}
    state.save(st)


def check_our_server(where: hosts.Where, target: Target) -> None:
    """Before a token leaves this machine: is the server on the port the one sshjup started?

    Only for a host whose Jupyter ``sshjup jupyter start`` started (recorded in state.json). The
    remote user's ``jupyter server list`` must show a server on the remote port with the pid
    that ``start`` recorded; after ``jupyter stop``, or when another account (whose servers that
    list never shows) or another process took the port, ``NotFound`` and no token.
    """
    recorded = state.load().servers.get(target.alias)
    if recorded is None:
        return
    fix = f"start it again with `sshjup jupyter start {target.name}`"
    if recorded.get("pid", 0) <= 0:
        msg = (
            f"the Jupyter server sshjup started on {target.alias} was stopped; its token is "
            "not handed to whatever listens on the remote port now"
        )
        raise NotFound(msg, hint=fix)
    from sshjup.jupyter import remote  # noqa: PLC0415 (ssh scripts: only when one is recorded)

    st = remote.status(
        target.alias,
        where.ssh_config,
        target.jupyter,
        target.remote_port,
        sock=target.remote_socket,
    )
    server = st.server
    if server is None or server.pid != recorded["pid"] or recorded["port"] != target.remote_port:
        now = f"{server.describe()} runs there now" if server else "nothing of the remote user"
        msg = (
            f"the Jupyter server sshjup started on {target.alias} (pid {recorded['pid']}, "
            f"port {recorded['port']}) is gone ({now}); the token is not handed out"
        )
        raise NotFound(msg, hint=fix + ", or check what listens on the remote port")


@dataclass(frozen=True)
class SlurmStartResult:
    """What a Slurm start did, and where the token came from."""

    target: Target
    started: slurm.SlurmStart
    token_source: str


def start_slurm(
    where: hosts.Where,
    name: str,
    *,
    kind: str | None = None,
    command: str | None = None,
    args: tuple[str, ...] | None = None,
    root_dir: str | None = None,
    token: str | None = None,
    timeout: float = 300.0,
    progress: Progress | None = None,
    time_limit: str | None = None,
    partition: str | None = None,
    sbatch_args: tuple[str, ...] = (),
    launch_command: str | None = None,
) -> SlurmStartResult:
    """Submit Jupyter as a batch job through the login node, wait, forward the local port."""
    import time  # noqa: PLC0415

    from sshjup.jupyter import scripts, slurm  # noqa: PLC0415 (batch jobs only: keeps url light)

    began = time.monotonic()
    target = hosts.get_target(where, name)
    if target.remote_socket is not None:
        msg = f"{target.alias} runs Jupyter on a remote socket; a batch job listens on TCP"
        raise InvalidInput(msg, hint=f"`sshjup edit {target.name} --no-remote-socket` first")
    known = slurm.get_job(target.name)
    if known is not None:
        msg = f"job {known.job_id} is already known for {target.alias}"
        raise Conflict(msg, hint=f"stop it first: sshjup jupyter stop {target.name}")
    spec = _spec_with(target, kind=kind, command=command, args=args, root_dir=root_dir)
    given, source = resolve_token(
        target.alias, cli_value=token, env_value=os.environ.get(TOKEN_ENV), store=None
    )
    store: TokenStore | None = None
    if given is None:
        store = TokenStore()
        store.backend()
        given, source = scripts.new_token(), "keyring"
    job = slurm.submit(
        target,
        where.ssh_config,
        spec,
        given,
        time_limit=time_limit,
        partition=partition,
        sbatch_args=sbatch_args,
        launch_command=launch_command,
    )
    if progress is not None:
        progress(f"submitted job {job.job_id} on {target.alias}")
    if store is not None:
        store.set(target.alias, given, "token")
    started = slurm.wait_and_forward(
        target,
        where.ssh_config,
        job,
        timeout=timeout,
        progress=progress,
        tunnel_up=lambda: hosts.tunnel_up(where, name),
        began=began,
    )
    target = remember_spec(where, target, spec)
    return SlurmStartResult(target, started, source)


def slurm_status(where: hosts.Where, name: str) -> tuple[Target, slurm.Job | None, Any]:
    """The known job of NAME and what squeue says of it now (``None`` when no job is known)."""
    from sshjup.jupyter import slurm  # noqa: PLC0415 (only for batch jobs: keeps url light)

    target = hosts.get_target(where, name)
    job = slurm.get_job(target.name)
    if job is None:
        return target, None, None
    return target, job, slurm.poll(target, where.ssh_config, job)


def stop_slurm(where: hosts.Where, name: str) -> slurm.Job | None:
    from sshjup.jupyter import slurm  # noqa: PLC0415 (only for batch jobs: keeps url light)

    target = hosts.get_target(where, name)
    return slurm.stop(target, where.ssh_config)


def stop(where: hosts.Where, name: str, *, command: str | None = None) -> remote.StopResult | None:
    """Stop the host's Jupyter; ``command``: the remote ``jupyter`` to ask (not remembered)."""
    from sshjup.jupyter import remote  # noqa: PLC0415 (ssh scripts: not for url)

    target = hosts.get_target(where, name)
    spec = _spec_with(target, command=command)
    stopped = remote.stop(
        target.alias,
        where.ssh_config,
        spec,
        target.remote_port,
        sock=target.remote_socket,
    )
    st = state.load()
    if target.alias in st.servers:
        st.servers[target.alias] = {"port": target.remote_port, "pid": 0}
        state.save(st)
    return stopped


def status(
    where: hosts.Where, name: str, *, command: str | None = None
) -> tuple[Target, remote.RemoteStatus]:
    """The remote user's servers; ``command``: the remote ``jupyter`` to ask (not remembered)."""
    from sshjup.jupyter import remote  # noqa: PLC0415 (ssh scripts: not for url)

    target = hosts.get_target(where, name)
    spec = _spec_with(target, command=command)
    return target, remote.status(
        target.alias,
        where.ssh_config,
        spec,
        target.remote_port,
        sock=target.remote_socket,
    )


def connect_options(target: Target) -> list[str]:
    """``-o`` options that reach ``target`` by themselves (its Host block may not exist yet)."""
    options = [f"HostName={target.hostname}"]
    if target.user is not None:
        options.append(f"User={target.user}")
    if target.port is not None:
        options.append(f"Port={target.port}")
    if target.identity_file is not None:
        options.append(f"IdentityFile={target.identity_file}")
    if target.proxy_jump is not None:
        options.append(f"ProxyJump={target.proxy_jump}")
    return options


def resolve_remote_socket(
    where: hosts.Where, target: Target, requested: str | None, *, create: bool = True
) -> Target:
    """``target`` with its Jupyter forward going to a Unix socket on the remote.

    The path is resolved on the remote once, over ssh with ``target``'s own settings (so this
    works before ``add`` writes the block): ``requested`` may be empty (the default under the
    remote's data dir), ``~/P``, a path relative to the remote home, or absolute. Its
    directory is made 0700 (unless ``create`` is false: a dry run) or refused when others can
    open it. The inventory keeps the absolute path; the Host block forwards to it.
    """
    from sshjup.jupyter import remote  # noqa: PLC0415 (ssh scripts: not for url)

    found = remote.resolve_socket(
        target.alias,
        where.ssh_config,
        target.name,
        requested,
        create=create,
        connect=connect_options(target),
    )
    main = replace(target.forwards[0], remote_socket=found.path)
    return target.with_changes(forwards=(main, *target.forwards[1:]))


@dataclass(frozen=True)
class UrlResult:
    """The local URL with the token, and its parts for editor plugins."""

    url: str
    token_source: str  # "cli", "env", "keyring", "none"
    base_url: str = ""  # the server root without the token, for editor plugins
    token: str | None = None


def url(
    where: hosts.Where,
    name: str,
    *,
    token: str | None = None,
    ui: bool = False,
    kind: str | None = None,
    check: bool = False,
) -> UrlResult:
    """The local URL with the token; ``ui`` opens the host's front end (lab, tree); ``kind``
    (``lab``, ``notebook``, ``server``) picks the page instead.

    For a server sshjup started, first checks that it still is the one on the remote port
    (:func:`check_our_server`). ``check``: first make sure a Jupyter answers on the tunnel's
    local port (:class:`~sshjup.errors.JupyterUnreachable` naming the fix, otherwise).
    """
    target = hosts.get_target(where, name)
    check_our_server(where, target)
    env_value = os.environ.get(TOKEN_ENV)
    needs_store = not (token and token.strip()) and not (env_value and env_value.strip())
    value, source = resolve_token(
        target.alias,
        cli_value=token,
        env_value=env_value,
        store=TokenStore() if needs_store else None,
    )
    if kind is None:
        kind = target.jupyter.kind if ui else "server"
    if check:
        from sshjup.jupyter import probe  # noqa: PLC0415 (http.client: only when checking)

        probe.check_jupyter_answers(target, tunnel_up=False)
    return UrlResult(
        local_url(target.local_port, value, kind=kind),
        source,
        local_url(target.local_port, None),
        value,
    )


def open_tunnel_and_url(
    where: hosts.Where,
    name: str,
    *,
    token: str | None = None,
    timeout: float = 30.0,
    progress: Progress | None = None,
) -> UrlResult:
    """Tunnel up if needed (``sshjup up``), then the URL of the front end with the token.

    Checks that a Jupyter answers through the tunnel first: never a URL on a dead port.
    """
    result = url(where, name, token=token, ui=True)
    hosts.tunnel_up(where, name, timeout=timeout, progress=progress)
    from sshjup.jupyter import probe  # noqa: PLC0415 (http.client: only when checking)

    probe.check_jupyter_answers(hosts.get_target(where, name), tunnel_up=True)
    return result


OPEN_DIR = "open"
_OPEN_PREFIX = "jup-open-"


def open_file(url_with_token: str) -> Path:
    """A 0600 HTML page (in a 0700 dir of the app dir) that sends the browser to the URL.

    What Jupyter does with its ``jpserver-*-open.html``: the browser gets a ``file://`` path
    on its command line, never the token (every account can read a command line). The pages
    of earlier runs are removed first, so one lives until the next ``sshjup open``.
    """
    directory = paths.app_dir() / OPEN_DIR
    fileio.ensure_dir(directory)
    for old in directory.glob(_OPEN_PREFIX + "*.html"):
        fileio.delete_file(old, backup=False)
    import html  # noqa: PLC0415
    import secrets  # noqa: PLC0415

    target = html.escape(url_with_token, quote=True)
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="0;url={target}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        "<title>Jupyter (sshjup)</title></head><body>\n"
        f'<p>Opening Jupyter... If nothing happens, <a href="{target}">click here</a>.</p>\n'
        "</body></html>\n"
    )
    path = directory / f"{_OPEN_PREFIX}{secrets.token_hex(8)}.html"
    fileio.atomic_write(path, page.encode("utf-8"), backup=False, new_mode=0o600)
    return path


def token_set(where: hosts.Where, name: str, secret: str) -> None:
    target = hosts.get_target(where, name)
    TokenStore().set(target.alias, secret.strip(), "token")


def token_get(where: hosts.Where, name: str) -> str:
    target = hosts.get_target(where, name)
    value = TokenStore().get(target.alias, "token")
    if value is None:
        msg = f"no token is stored for {target.alias}"
        raise NotFound(
            msg,
            hint=f"start Jupyter with `sshjup jupyter start {target.name}`, or "
            f"`sshjup token set {target.name}`",
        )
    return value


def token_delete(where: hosts.Where, name: str) -> bool:
    target = hosts.get_target(where, name)
    return TokenStore().delete(target.alias, "token")


__all__ = [
    "SetupResult",
    "SlurmStartResult",
    "StartResult",
    "UrlResult",
    "check_our_server",
    "open_file",
    "connect_options",
    "open_tunnel_and_url",
    "remember",
    "remember_spec",
    "resolve_remote_socket",
    "setup",
    "slurm_status",
    "start",
    "start_slurm",
    "status",
    "stop",
    "stop_slurm",
    "token_delete",
    "token_get",
    "token_set",
    "url",
]
