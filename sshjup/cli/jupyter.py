"""``sshjup jupyter ...``, ``sshjup token ...``, ``sshjup open`` and ``sshjup url``.

A thin click layer over sshjup.jupyter.service; only click is imported at module level.
"""

from __future__ import annotations

import sys

import click

from sshjup.cli.options import (
    complete_names,
    echo,
    echo_json,
    json_option,
    locate,
    ssh_config_option,
)


def _progress(message: str) -> None:
    echo(message, err=True)


def _bare(name: str) -> str:
    return name.removeprefix("jup-")


_name = click.argument("name", shell_complete=complete_names)
_token = click.option(
    "--token", default=None, help="The token to use (beats $SSHJUP_TOKEN and the keyring)."
)


@click.group()
def jupyter() -> None:
    """Set up, start, stop and check Jupyter on the remote (over ssh, without the tunnel).

    \b
    Example:
      sshjup jupyter setup gpu
      sshjup jupyter start gpu
      sshjup jupyter status gpu
    """


@jupyter.command()
@_name
@click.option(
    "--password",
    "set_password",
    is_flag=True,
    help="Also set a Jupyter password (prompted, hidden; kept in the keyring).",
)
@click.option("--lab", "kind", flag_value="lab", help="Check for JupyterLab (the default).")
@click.option("--notebook", "kind", flag_value="notebook", help="Check for Notebook 7.")
@click.option("--server", "kind", flag_value="server", help="Check for jupyter_server alone.")
@click.option("--jupyter-cmd", default=None, help="The remote `jupyter` to use (remembered).")
@click.option(
    "--dry-run", is_flag=True, help="Show what would change on the remote; write nothing."
)
@click.option("--yes", "-y", is_flag=True, help="Replace your own values without asking.")
@ssh_config_option
def setup(
    name: str,
    set_password: bool,
    kind: str | None,
    jupyter_cmd: str | None,
    dry_run: bool,
    yes: bool,
    ssh_config: str | None,
) -> None:
    """Check Jupyter on the remote and write its server config: 127.0.0.1 only, no browser,
    the host's remote port, no port retries (merged into jupyter_server_config.json).

    \b
    Example:
      sshjup jupyter setup gpu --dry-run
      sshjup jupyter setup gpu --password
    """
    from sshjup.errors import Conflict  # noqa: PLC0415
    from sshjup.jupyter import service  # noqa: PLC0415

    where = locate(ssh_config)
    password = None
    if set_password:
        from sshjup.store.tokens import TokenStore  # noqa: PLC0415

        TokenStore().backend()  # no keyring: say so before asking for a password it cannot keep
        password = click.prompt("Jupyter password", hide_input=True, confirmation_prompt=True)
    _progress(f"Checking Jupyter on jup-{_bare(name)} over ssh...")
    preview = service.setup(
        where, name, password=password, dry_run=True, command=jupyter_cmd, kind=kind
    )
    merge = preview.plan.merge
    for note in merge.notes:
        echo(f"Note: {note}", err=True)
    if preview.plan.has_py_config:
        echo(
            "Note: the remote also has jupyter_server_config.py; values set there win over "
            "the JSON file sshjup edits.",
            err=True,
        )
    if not merge.changed:
        if not dry_run:
            service.remember(where, name, kind=kind, command=jupyter_cmd)
        echo(f"Already set up: {preview.plan.path} has every setting sshjup needs.")
        return
    echo(merge.diff(), nl=False)
    if dry_run:
        return
    if merge.replaces and not yes:
        if not sys.stdin.isatty():
            listed = "; ".join(c.describe() for c in merge.replaces)
            msg = f"{preview.plan.path} already has other values: {listed}"
            raise Conflict(msg, hint="check the difference above, then run again with --yes")
        click.confirm("Replace these values?", abort=True)
    _progress("Writing the config on the remote...")
    done = service.setup(
        where, name, password=password, replace_values=True, command=jupyter_cmd, kind=kind
    )
    echo(f"Wrote {done.plan.path} on the remote.")
    if done.password_stored:
        echo("The password is kept in the keyring (service sshjup).")


@jupyter.command()
@_name
@click.option("--lab", "kind", flag_value="lab", help="JupyterLab (the default).")
@click.option("--notebook", "kind", flag_value="notebook", help="Jupyter Notebook 7.")
@click.option("--server", "kind", flag_value="server", help="jupyter_server alone.")
@click.option("--jupyter-cmd", default=None, help="The remote `jupyter` to use (remembered).")
@click.option(
    "--jupyter-arg",
    "jupyter_args",
    multiple=True,
    help="Extra option for Jupyter (repeatable; remembered).",
)
@click.option("--root-dir", default=None, help="Directory Jupyter serves (remembered).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for Jupyter.")
@_token
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (no token).")
@ssh_config_option
def start(
    name: str,
    kind: str | None,
    jupyter_cmd: str | None,
    jupyter_args: tuple[str, ...],
    root_dir: str | None,
    timeout: float,
    token: str | None,
    as_json: bool,
    ssh_config: str | None,
) -> None:
    """Start Jupyter on the remote, bound to 127.0.0.1 on the host's remote port.

    Port retries are off: a taken port is an error, never another port. The token
    goes to the keyring (or use --token / $SSHJUP_TOKEN).

    \b
    Example:
      sshjup jupyter start gpu
      sshjup jupyter start gpu --jupyter-cmd ~/venv/bin/jupyter --root-dir ~/work
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    result = service.start(
        locate(ssh_config),
        name,
        kind=kind,
        command=jupyter_cmd,
        args=jupyter_args or None,
        root_dir=root_dir,
        token=token,
        timeout=timeout,
        progress=_progress,
    )
    server = result.started.server
    if as_json:
        import json  # noqa: PLC0415 (only --json needs it; --help stays fast)

        echo(
            json.dumps(
                {
                    "alias": result.target.alias,
                    "remote_port": server.port,
                    "pid": server.pid,
                    "token_source": result.token_source,
                    "log": result.started.log_path,
                    "elapsed": round(result.started.elapsed, 2),
                },
                indent=2,
            )
        )
        return
    echo(
        f"Jupyter runs on {result.target.alias}, 127.0.0.1:{server.port} (pid {server.pid}); "
        f"log: {result.started.log_path}."
    )
    echo(f"Open it with: sshjup open {result.target.name}")


@jupyter.command()
@_name
@ssh_config_option
def stop(name: str, ssh_config: str | None) -> None:
    """Stop the Jupyter server on the host's remote port.

    \b
    Example:
      sshjup jupyter stop gpu
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    _progress(f"Stopping Jupyter on jup-{_bare(name)} (up to 10 s)...")
    stopped = service.stop(locate(ssh_config), name)
    if stopped is None:
        echo("No Jupyter server was running on the remote port.")
        return
    how = " (it had to be killed)" if stopped.forced else ""
    echo(f"Stopped Jupyter (pid {stopped.server.pid}){how}.")


@jupyter.command()
@_name
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (no tokens).")
@ssh_config_option
def status(name: str, as_json: bool, ssh_config: str | None) -> None:
    """Show the remote user's Jupyter servers and which one is on the host's port.

    Exits 0 when a server runs on the host's remote port, 1 otherwise.

    \b
    Example:
      sshjup jupyter status gpu
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    _progress(f"Asking jup-{_bare(name)} for its Jupyter servers...")
    target, st = service.status(locate(ssh_config), name)
    rows = [
        {"port": s.port, "pid": s.pid, "root_dir": s.root_dir, "ours": s is st.server}
        for s in st.servers
    ]
    if as_json:
        import json  # noqa: PLC0415 (only --json needs it; --help stays fast)

        echo(
            json.dumps(
                {
                    "alias": target.alias,
                    "remote_port": target.remote_port,
                    "running": st.server is not None,
                    "servers": rows,
                },
                indent=2,
            )
        )
    else:
        if not rows:
            echo(f"No Jupyter server runs for the remote user on {target.alias}.")
        for row in rows:
            mark = "*" if row["ours"] else " "
            echo(f"{mark} port {row['port']:<6} pid {row['pid']:<8} {row['root_dir']}")
        if st.server is None:
            echo(f"Nothing on the host's remote port {target.remote_port}.")
    if st.server is None:
        sys.exit(1)


@click.command(name="url")
@_name
@_token
@click.option(
    "--lab", "page", flag_value="lab", help="JupyterLab: /lab?token= (JupyterLab Desktop)."
)
@click.option("--tree", "page", flag_value="notebook", help="The Notebook 7 tree: /tree?token=.")
@click.option("--root", "page", flag_value="server", help="The server root (the default).")
@json_option
@ssh_config_option
def url_command(
    name: str, token: str | None, page: str | None, as_json: bool, ssh_config: str | None
) -> None:
    """Print the local URL with the token, for an editor's "existing Jupyter server" box.

    `--json` gives the base URL and the token separately, for editor plugins.

    \b
    Example:
      sshjup url gpu
      sshjup url gpu --lab
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    result = service.url(locate(ssh_config), name, token=token, kind=page or "server")
    if result.token_source == "none":  # noqa: S105 (a source label, not a secret)
        echo("Warning: no token known (fine if the server uses a password).", err=True)
    if as_json:
        echo_json(
            {
                "url": result.url,
                "base_url": result.base_url,
                "token": result.token,
                "token_source": result.token_source,
            }
        )
    else:
        echo(result.url)


@click.command(name="open")
@_name
@_token
@click.option("--print-only", is_flag=True, help="Bring the tunnel up and print the URL only.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the tunnel.")
@ssh_config_option
def open_command(
    name: str, token: str | None, print_only: bool, timeout: float, ssh_config: str | None
) -> None:
    """Bring the tunnel up if needed and open Jupyter in the browser, with the token.

    \b
    Example:
      sshjup open gpu
    """
    import webbrowser  # noqa: PLC0415

    from sshjup.jupyter import service  # noqa: PLC0415

    result = service.open_tunnel_and_url(
        locate(ssh_config), name, token=token, timeout=timeout, progress=_progress
    )
    if print_only:
        echo(result.url)
        return
    # The browser gets a 0600 page that redirects: never the token on its command line.
    page = service.open_file(result.url)
    if not webbrowser.open(page.as_uri()):
        echo(result.url)


@click.group()
def token() -> None:
    """Keep a Jupyter token in the keyring (service sshjup, user jup-NAME).

    \b
    Example:
      sshjup token set gpu            # prompts, hidden
      echo "$T" | sshjup token set gpu
    """


@token.command(name="set")
@_name
def token_set(name: str) -> None:
    """Store NAME's token (prompted with hidden input, or read from stdin).

    \b
    Example:
      sshjup token set gpu
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    interactive = sys.stdin.isatty()
    secret = click.prompt("Token", hide_input=True) if interactive else sys.stdin.readline()
    service.token_set(locate(None), name, secret)
    echo("Stored in the keyring.")


@token.command(name="get")
@_name
def token_get(name: str) -> None:
    """Print NAME's stored token.

    \b
    Example:
      sshjup token get gpu
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    echo(service.token_get(locate(None), name))


@token.command(name="delete")
@_name
def token_delete(name: str) -> None:
    """Delete NAME's stored token.

    \b
    Example:
      sshjup token delete gpu
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    deleted = service.token_delete(locate(None), name)
    echo("Deleted." if deleted else "No token was stored.")


__all__ = ["jupyter", "open_command", "token", "url_command"]
