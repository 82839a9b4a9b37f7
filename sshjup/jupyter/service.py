"""The library façade for the Jupyter side: set up, start, stop and reach Jupyter, and tokens.

Like :mod:`sshjup.hosts`: never prints, never exits. Remote commands go through
:mod:`sshjup.jupyter.remote` (a script on ssh's stdin, with the tunnel's forwards cleared);
secrets through :mod:`sshjup.store.tokens`.
"""

from __future__ import annotations

import html
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sshjup import hosts
from sshjup.errors import NotFound
from sshjup.jupyter import remote, scripts
from sshjup.models import JupyterSpec, Target
from sshjup.store import fileio, paths, state
from sshjup.store.tokens import TOKEN_ENV, TokenStore, resolve_token

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
    plan: remote.SetupPlan
    password_stored: bool


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
    )
    stored = False
    if store is not None and password is not None and not dry_run:
        store.set(target.alias, password, "password")
        stored = True
    if not dry_run:
        remember_spec(where, target, spec)
    return SetupResult(plan, stored)


def remember(
    where: hosts.Where, name: str, *, kind: str | None = None, command: str | None = None
) -> Target:
    """Keep a ``--jupyter-cmd`` or kind given to a command that had nothing else to do."""
    target = hosts.get_target(where, name)
    return remember_spec(where, target, _spec_with(target, kind=kind, command=command))


@dataclass(frozen=True)
class StartResult:
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
    started = remote.start(
        target.alias,
        where.ssh_config,
        spec,
        target.remote_port,
        given,
        timeout=timeout,
        progress=progress,
    )
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
    st = remote.status(target.alias, where.ssh_config, target.jupyter, target.remote_port)
    server = st.server
    if server is None or server.pid != recorded["pid"] or recorded["port"] != target.remote_port:
        now = f"{server.describe()} runs there now" if server else "nothing of the remote user"
        msg = (
            f"the Jupyter server sshjup started on {target.alias} (pid {recorded['pid']}, "
            f"port {recorded['port']}) is gone ({now}); the token is not handed out"
        )
        raise NotFound(msg, hint=fix + ", or check what listens on the remote port")


def stop(where: hosts.Where, name: str) -> remote.StopResult | None:
    target = hosts.get_target(where, name)
    stopped = remote.stop(target.alias, where.ssh_config, target.jupyter, target.remote_port)
    st = state.load()
    if target.alias in st.servers:
        st.servers[target.alias] = {"port": target.remote_port, "pid": 0}
        state.save(st)
    return stopped


def status(where: hosts.Where, name: str) -> tuple[Target, remote.RemoteStatus]:
    target = hosts.get_target(where, name)
    return target, remote.status(target.alias, where.ssh_config, target.jupyter, target.remote_port)


@dataclass(frozen=True)
class UrlResult:
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
) -> UrlResult:
    """The local URL with the token; ``ui`` opens the host's front end (lab, tree); ``kind``
    (``lab``, ``notebook``, ``server``) picks the page instead.

    For a server sshjup started, first checks that it still is the one on the remote port
    (:func:`check_our_server`).
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
    return UrlResult(
        scripts.local_url(target.local_port, value, kind=kind),
        source,
        scripts.local_url(target.local_port, None),
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
    """Tunnel up if needed (``sshjup up``), then the URL of the front end with the token."""
    result = url(where, name, token=token, ui=True)
    hosts.tunnel_up(where, name, timeout=timeout, progress=progress)
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
    "StartResult",
    "UrlResult",
    "check_our_server",
    "open_file",
    "open_tunnel_and_url",
    "remember",
    "remember_spec",
    "setup",
    "start",
    "status",
    "stop",
    "token_delete",
    "token_get",
    "token_set",
    "url",
]
