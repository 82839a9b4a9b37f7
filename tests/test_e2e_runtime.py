"""End to end with real OpenSSH: what runs follows what is written (issue 8).

One master per alias, inventory changes that reach the running master, and `remove` that stops
the tunnel. A throwaway sshd on 127.0.0.1 and a page server standing in for the remote Jupyter;
every process started here is stopped by its PID or through its control socket.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sshjup.cli import cli
from tests.support.httpd import PageServer
from tests.support.net import free_port, http_get, port_is_free
from tests.support.sshd import SshServer, master_pid, stop_master
from tests.test_e2e_tunnel import _add, _prepare

pytestmark = pytest.mark.e2e

PAGE = "sshjup remote page"


def _ok(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output + result.stderr
    return result.output + result.stderr


def test_two_aliases_to_one_destination_have_their_own_masters(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    first, second = free_port(), free_port()
    _add(ssh_config, sshd, "nb1", first, remote_http.port)
    _add(ssh_config, sshd, "nb2", second, remote_http.port)
    try:
        _ok("up", "nb1")
        _ok("up", "nb2")
        pid1, pid2 = master_pid(ssh_config, "jup-nb1"), master_pid(ssh_config, "jup-nb2")
        assert pid1 is not None
        assert pid2 is not None
        assert pid1 != pid2
        assert PAGE in http_get(f"http://127.0.0.1:{first}/")
        assert PAGE in http_get(f"http://127.0.0.1:{second}/")

        said = _ok("down", "nb1")
        assert "stopped" in said
        assert port_is_free(first)
        assert master_pid(ssh_config, "jup-nb1") is None
        assert master_pid(ssh_config, "jup-nb2") == pid2
        assert PAGE in http_get(f"http://127.0.0.1:{second}/")
        st = json.loads(CliRunner().invoke(cli, ["status", "nb2", "--json"]).stdout)
        assert st[0]["running"] is True
        assert st[0]["pid"] == pid2
    finally:
        stop_master(ssh_config, "jup-nb1")
        stop_master(ssh_config, "jup-nb2")
