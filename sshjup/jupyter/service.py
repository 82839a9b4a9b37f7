"""The library façade for the Jupyter side: set up, start, stop and reach Jupyter, and tokens.

Like :mod:`sshjup.hosts`: never prints, never exits. Remote commands go through
:mod:`sshjup.jupyter.remote` (a script on ssh's stdin, with the tunnel's forwards cleared);
secrets through :mod:`sshjup.store.tokens`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from sshjup import hosts
from sshjup.errors import NotFound
from sshjup.jupyter import remote, scripts
from sshjup.models import JupyterSpec, Target
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
    target = remember_spec(where, target, spec)
    return StartResult(target, started, source)


def stop(where: hosts.Where, name: str) -> remote.StopResult | None:
    target = hosts.get_target(where, name)
    return remote.stop(target.alias, where.ssh_config, target.jupyter, target.remote_port)


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
    (``lab``, ``notebook``, ``server``) picks the page instead."""
    target = hosts.get_target(where, name)
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
