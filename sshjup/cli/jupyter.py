"""``sshjup jupyter ...``, ``sshjup token ...``, ``sshjup open`` and ``sshjup url``.

A thin click layer over sshjup.jupyter.service; only click is imported at module level.
"""

from __future__ import annotations

import sys
from typing import Any

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
    """Check Jupyter on the remote and write this host's own server config: 127.0.0.1 only,
    no browser, the host's remote port, no port retries (merged into
    ~/.jupyter/sshjup/jup-NAME/jupyter_server_config.json on the remote, which `jupyter start`
    reads for this host only; the global Jupyter config is left alone).

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
    if preview.password_algorithm == "sha512":  # noqa: S105 (an algorithm name)
        click.echo(
            "Note: argon2-cffi is not installed beside sshjup, so the password is hashed with "
            "salted SHA-512 instead of argon2 (Jupyter accepts both; SHA-512 resists guessing "
            "far less): install argon2-cffi in sshjup's environment for argon2.",
            err=True,
        )
    for note in merge.notes:
        echo(f"Note: {note}", err=True)
    if preview.plan.has_py_config:
        echo(
            "Note: this host's config directory also has a jupyter_server_config.py; "
            "Jupyter reads both, and the JSON file sshjup edits wins where both set a value.",
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
@click.option(
    "--timeout",
    default=None,
    type=float,
    help="Seconds to wait for Jupyter [default: 60; 300 with --slurm].",
)
@_token
@click.option("--slurm", is_flag=True, help="Run Jupyter as a Slurm batch job on a compute node.")
@click.option(
    "--sbatch-arg",
    "sbatch_args",
    multiple=True,
    help="Extra sbatch option for --slurm (repeatable), e.g. --sbatch-arg=--gres=gpu:1.",
)
@click.option("--time", "time_limit", default=None, help="The job's time limit (--slurm).")
@click.option("--partition", default=None, help="The Slurm partition (--slurm).")
@click.option(
    "--launch-command",
    default=None,
    help="Submit the job script (on stdin) with this command on the login node instead of "
    "sbatch (see docs/shared-hosts.md for the contract).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (no token).")
@ssh_config_option
def start(
    name: str,
    kind: str | None,
    jupyter_cmd: str | None,
    jupyter_args: tuple[str, ...],
    root_dir: str | None,
    timeout: float | None,
    token: str | None,
    slurm: bool,
    sbatch_args: tuple[str, ...],
    time_limit: str | None,
    partition: str | None,
    launch_command: str | None,
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
      sshjup jupyter start hpc --slurm --time 2:00:00 --partition gpu
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    if slurm or launch_command is not None:
        _start_batch(
            locate(ssh_config),
            name,
            kind=kind,
            command=jupyter_cmd,
            args=jupyter_args or None,
            root_dir=root_dir,
            token=token,
            timeout=300.0 if timeout is None else timeout,
            time_limit=time_limit,
            partition=partition,
            sbatch_args=sbatch_args,
            launch_command=launch_command,
            as_json=as_json,
        )
        return
    if sbatch_args or time_limit is not None or partition is not None:
        msg = "--sbatch-arg, --time and --partition need --slurm"
        raise click.UsageError(msg)
    timeout = 60.0 if timeout is None else timeout

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
    on = server.sock or f"127.0.0.1:{server.port}"
    echo(
        f"Jupyter runs on {result.target.alias}, {on} (pid {server.pid}); "
        f"log: {result.started.log_path}."
    )
    echo(f"Open it with: sshjup open {result.target.name}")


def _start_batch(where: Any, name: str, *, as_json: bool, **options: Any) -> None:
    from sshjup.jupyter import service  # noqa: PLC0415

    result = service.start_slurm(where, name, progress=_progress, **options)
    job = result.started.job
    if as_json:
        data = {
            "alias": result.target.alias,
            "job_id": job.job_id,
            "node": job.node,
            "address": job.address,
            "port": job.port,
            "token_source": result.token_source,
            "elapsed": round(result.started.elapsed, 2),
        }
        echo_json(data)
        return
    echo(
        f"Jupyter runs as job {job.job_id} on {job.node} ({job.address}:{job.port}), forwarded "
        f"from 127.0.0.1:{result.target.local_port}."
    )
    echo(f"Open it with: sshjup open {result.target.name}")


_ask_cmd = click.option(
    "--jupyter-cmd",
    default=None,
    help="The remote `jupyter` to ask [default: the one `start` used].",
)


@jupyter.command()
@_name
@_ask_cmd
@ssh_config_option
def stop(name: str, jupyter_cmd: str | None, ssh_config: str | None) -> None:
    """Stop the Jupyter server on the host's remote port.

    \b
    Example:
      sshjup jupyter stop gpu
    """
    from sshjup.jupyter import service, slurm  # noqa: PLC0415

    where = locate(ssh_config)
    if slurm.get_job(_bare(name)) is not None:
        job = service.stop_slurm(where, name)
        if job is not None:
            echo(f"Cancelled job {job.job_id} and its forward.")
            return
    _progress(f"Stopping Jupyter on jup-{_bare(name)} (up to 10 s)...")
    stopped = service.stop(where, name, command=jupyter_cmd)
    if stopped is None:
        echo("No Jupyter server was running on the remote port.")
        return
    how = " (it had to be killed)" if stopped.forced else ""
    echo(f"Stopped Jupyter (pid {stopped.server.pid}){how}.")


@jupyter.command()
@_name
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (no tokens).")
@_ask_cmd
@ssh_config_option
def status(name: str, as_json: bool, jupyter_cmd: str | None, ssh_config: str | None) -> None:
    """Show the remote user's Jupyter servers and which one is on the host's port.

    Exits 0 when a server runs on the host's remote port, 1 otherwise.

    \b
    Example:
      sshjup jupyter status gpu
    """
    from sshjup.jupyter import service, slurm  # noqa: PLC0415

    if slurm.get_job(_bare(name)) is not None:
        _job_status(locate(ssh_config), name, as_json=as_json)
        return
    _progress(f"Asking jup-{_bare(name)} for its Jupyter servers...")
    target, st = service.status(locate(ssh_config), name, command=jupyter_cmd)
    rows = [
        {"port": s.port, "pid": s.pid, "root_dir": s.root_dir, "ours": s is st.server}
        | ({"sock": s.sock} if s.sock else {})
        for s in st.servers
    ]
    if as_json:
        import json  # noqa: PLC0415 (only --json needs it; --help stays fast)

        echo(
            json.dumps(
                {
                    "alias": target.alias,
                    "remote_port": target.remote_port,
                    "remote_socket": target.remote_socket,
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
            where = f"sock {row['sock']}" if "sock" in row else f"port {row['port']:<6}"
            echo(f"{mark} {where} pid {row['pid']:<8} {row['root_dir']}")
        if st.server is None and target.remote_socket is not None:
            echo(f"Nothing on the host's remote socket {target.remote_socket}.")
        elif st.server is None:
            echo(f"Nothing on the host's remote port {target.remote_port}.")
    if st.server is None:
        sys.exit(1)


def _job_status(where: Any, name: str, *, as_json: bool) -> None:
    from sshjup.jupyter import service  # noqa: PLC0415

    _progress(f"Asking jup-{_bare(name)}'s scheduler about the Jupyter job...")
    target, job, st = service.slurm_status(where, name)
    if job is None:  # stopped meanwhile
        echo(f"No Jupyter job is known for {target.alias}.")
        sys.exit(1)
    running = st is not None and st.state == "RUNNING"
    state = st.state if st is not None and st.state else "ENDED"
    if as_json:
        data = {
            "alias": target.alias,
            "job_id": job.job_id,
            "state": state,
            "reason": st.reason if st is not None else "",
            "node": (st.node if st is not None and st.node else job.node),
            "time_left": st.time_left if st is not None else "",
            "address": job.address,
            "port": job.port,
            "running": running,
        }
        echo_json(data)
    elif state == "ENDED":
        echo(
            f"Job {job.job_id} has ended (time limit, or it stopped by itself); "
            f"`sshjup jupyter stop {target.name}` forgets it."
        )
    else:
        extra = f", {st.time_left} left" if st is not None and st.time_left else ""
        reason = f" ({st.reason})" if st is not None and st.state == "PENDING" else ""
        echo(f"Job {job.job_id}: {state}{reason} on {job.node or '-'}{extra}.")
    if not running:
        sys.exit(1)


@jupyter.command()
@_name
@click.option("--lines", "-n", default=50, show_default=True, help="How many last lines to show.")
@click.option("--follow", "-f", is_flag=True, help="Keep showing what is added (Ctrl-C stops).")
@click.option(
    "--interval", default=2.0, show_default=True, help="Seconds between looks with --follow."
)
@ssh_config_option
def logs(name: str, lines: int, follow: bool, interval: float, ssh_config: str | None) -> None:
    """Show the remote Jupyter's log (the file `jupyter start` writes, mode 0600).

    Control characters in the log (terminal escape sequences...) are shown as text.

    \b
    Example:
      sshjup jupyter logs gpu
      sshjup jupyter logs gpu --follow
    """
    import time  # noqa: PLC0415

    from sshjup.jupyter import logs as lib  # noqa: PLC0415

    where = locate(ssh_config)
    chunk = lib.read(where, name, lines=max(lines, 1))
    click.echo(lib.terminal_safe(chunk.text), nl=False)
    if not follow:
        return
    offset = chunk.size
    try:
        while True:
            time.sleep(max(interval, 0.2))
            chunk = lib.read(where, name, offset=offset)
            if chunk.restarted:
                click.echo("--- the log started again (a new `sshjup jupyter start`) ---", err=True)
            click.echo(lib.terminal_safe(chunk.text), nl=False)
            offset = chunk.size
    except KeyboardInterrupt:
        return


@click.command(name="url")
@_name
@_token
@click.option(
    "--lab", "page", flag_value="lab", help="JupyterLab: /lab?token= (JupyterLab Desktop)."
)
@click.option("--tree", "page", flag_value="notebook", help="The Notebook 7 tree: /tree?token=.")
@click.option("--root", "page", flag_value="server", help="The server root (the default).")
@click.option(
    "--no-check", is_flag=True, help="Print the URL without checking that Jupyter answers."
)
@json_option
@ssh_config_option
def url_command(
    name: str,
    token: str | None,
    page: str | None,
    no_check: bool,
    as_json: bool,
    ssh_config: str | None,
) -> None:
    """Print the local URL with the token, for an editor's "existing Jupyter server" box.

    Checks first that a Jupyter answers through the tunnel; exits 11 with what to run
    (`sshjup up NAME`, `sshjup jupyter start NAME`) when none does. `--json` gives the
    base URL and the token separately, for editor plugins.

    \b
    Example:
      sshjup url gpu
      sshjup url gpu --lab
      sshjup url gpu --no-check     # before the tunnel is up
    """
    from sshjup.jupyter import service  # noqa: PLC0415

    result = service.url(
        locate(ssh_config), name, token=token, kind=page or "server", check=not no_check
    )
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

    Checks that a Jupyter answers through the tunnel; exits 11 with what to run
    (`sshjup jupyter start NAME`) when none does, and opens nothing.

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
