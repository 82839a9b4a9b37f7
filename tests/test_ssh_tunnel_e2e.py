"""End to end with real OpenSSH: `sshjup add`, then plain `ssh jup-NAME` is the whole tunnel.

A throwaway sshd on 127.0.0.1 (own host key and config, a high port, key-only auth) and a page
server standing in for the remote Jupyter. Every process started here is stopped by its PID.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sshjup.cli import cli
from tests.support.httpd import PageServer
from tests.support.net import free_port, http_get, listening_socket, port_is_free
from tests.support.sshd import SshServer, master_pid, run_ssh, stop_master

pytestmark = pytest.mark.e2e


def _prepare(ssh_config: Path, sshd: SshServer, tmp_path: Path) -> None:
    """The user's own config: a Host * that trusts the throwaway server and offers its key."""
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    ssh_config.write_text(sshd.client_config_tail(known_hosts))
    ssh_config.chmod(0o600)


def _add(ssh_config: Path, sshd: SshServer, name: str, local: int, remote: int) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "add",
            f"{sshd.user}@127.0.0.1:{sshd.port}",
            "--name",
            name,
            "--identity-file",
            str(sshd.client_key),
            "--local-port",
            str(local),
            "--remote-port",
            str(remote),
        ],
    )
    assert result.exit_code == 0, result.output + result.stderr


def test_plain_ssh_alias_opens_the_tunnel_and_sshjup_manages_it(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    local = free_port()
    _add(ssh_config, sshd, "e2e", local, remote_http.port)
    alias = "jup-e2e"
    try:
        code, err = run_ssh(ssh_config, alias)  # plain `ssh jup-e2e`, nothing else
        assert code == 0, err
        assert "sshjup remote page" in http_get(f"http://127.0.0.1:{local}/")

        # A second plain `ssh jup-e2e` is harmless: the tunnel keeps working.
        first_master = master_pid(ssh_config, alias)
        code, err = run_ssh(ssh_config, alias)
        assert code == 0, err
        assert master_pid(ssh_config, alias) == first_master
        assert "sshjup remote page" in http_get(f"http://127.0.0.1:{local}/")

        status = CliRunner().invoke(cli, ["status", "e2e", "--json"])
        assert status.exit_code == 0, status.output + status.stderr
        [st] = json.loads(status.stdout)
        assert st["running"] is True
        assert st["port_open"] is True
        assert st["pid"] == first_master

        down = CliRunner().invoke(cli, ["down", "e2e"])
        assert down.exit_code == 0, down.output + down.stderr
        assert port_is_free(local)
        assert master_pid(ssh_config, alias) is None
        after = CliRunner().invoke(cli, ["status", "e2e"])
        assert after.exit_code == 1
        assert "down" in after.stdout
    finally:
        stop_master(ssh_config, alias)


def test_up_waits_for_the_port_and_is_idempotent(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    local = free_port()
    _add(ssh_config, sshd, "upper", local, remote_http.port)
    try:
        for _ in range(2):
            result = CliRunner().invoke(cli, ["up", "upper"])
            assert result.exit_code == 0, result.output + result.stderr
            assert "sshjup remote page" in http_get(f"http://127.0.0.1:{local}/")
        assert CliRunner().invoke(cli, ["down", "jup-upper"]).exit_code == 0
        assert port_is_free(local)
    finally:
        stop_master(ssh_config, "jup-upper")


def test_busy_local_port_is_reported_not_silently_shared(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    local = free_port()
    _add(ssh_config, sshd, "busy", local, remote_http.port)
    with listening_socket(local):
        try:
            result = CliRunner().invoke(cli, ["up", "busy"])
            assert result.exit_code == 3, result.output + result.stderr
            assert str(local) in result.stderr
            # Plain ssh fails too: the bind address makes ExitOnForwardFailure fire.
            code, err = run_ssh(ssh_config, "jup-busy")
            assert code != 0
            assert "Address already in use" in err or "forwarding" in err.lower()
        finally:
            stop_master(ssh_config, "jup-busy")
