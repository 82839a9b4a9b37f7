"""End to end with real OpenSSH: what runs follows what is written (issue 8).

One master per alias, inventory changes that reach the running master, and `remove` that stops
the tunnel. A throwaway sshd on 127.0.0.1 and a page server standing in for the remote Jupyter;
every process started here is stopped by its PID or through its control socket.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from sshjup import hosts
from sshjup.cli import cli
from sshjup.doctor import run_checks
from sshjup.models import Forward
from sshjup.ssh import tunnel
from tests.support.httpd import PageServer
from tests.support.net import free_port, http_get, listening_socket, port_is_free
from tests.support.sshd import SshServer, master_pid, run_ssh, stop_master
from tests.test_ssh_tunnel_e2e import _add, _prepare

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


def test_edit_forwards_reach_the_running_tunnel_and_remove_frees_every_port(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    main, extra = free_port(), free_port()
    _add(ssh_config, sshd, "live", main, remote_http.port)
    try:
        _ok("up", "live")
        pid = master_pid(ssh_config, "jup-live")

        said = _ok("edit", "live", "--forward", f"{extra}:{remote_http.port}")
        assert f"now forwarding 127.0.0.1:{extra}" in said
        assert PAGE in http_get(f"http://127.0.0.1:{extra}/")  # no `up` needed
        assert master_pid(ssh_config, "jup-live") == pid
        [st] = json.loads(CliRunner().invoke(cli, ["status", "live", "--json"]).stdout)
        assert [f["accepting"] for f in st["forwards"]] == [True, True]
        assert "tunnel up" in _ok("up", "live")

        said = _ok("edit", "live", "--clear-forwards")
        assert f"stopped forwarding 127.0.0.1:{extra}" in said
        assert port_is_free(extra)
        assert PAGE in http_get(f"http://127.0.0.1:{main}/")

        _ok("edit", "live", "--forward", f"{extra}:{remote_http.port}")
        said = _ok("remove", "live")
        assert "stopped the ssh master" in said
        assert port_is_free(main)
        assert port_is_free(extra)
        assert master_pid(ssh_config, "jup-live") is None
    finally:
        stop_master(ssh_config, "jup-live")


def test_a_forward_added_while_the_tunnel_was_down_or_by_hand_is_added_by_up(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    main, extra = free_port(), free_port()
    _add(ssh_config, sshd, "gap", main, remote_http.port)
    _ok("edit", "gap", "--forward", f"{extra}:{remote_http.port}")
    try:
        # plain ssh, then the extra forward is cancelled on the master alone
        code, err = run_ssh(ssh_config, "jup-gap")
        assert code == 0, err
        [said] = tunnel.cancel_forwards("jup-gap", ssh_config, [Forward(extra, remote_http.port)])
        assert "stopped forwarding" in said
        status = CliRunner().invoke(cli, ["status", "gap"])
        assert status.exit_code == 1
        assert f"127.0.0.1:{extra} does not accept connections" in status.stdout
        assert "part" in status.stdout
        checks = {c.id: c for c in run_checks(hosts.Where.locate(None))}
        assert checks["port:gap"].status == "fail"
        assert f"does not forward 127.0.0.1:{extra}" in checks["port:gap"].summary
        assert str(main) not in checks["port:gap"].summary
        assert checks["control:gap"].status == "warn"

        _ok("up", "gap")
        assert PAGE in http_get(f"http://127.0.0.1:{extra}/")
        assert CliRunner().invoke(cli, ["status", "gap"]).exit_code == 0
        checks = {c.id: c for c in run_checks(hosts.Where.locate(None))}
        assert checks["port:gap"].status == "pass"
        assert checks["control:gap"].status == "pass"
    finally:
        stop_master(ssh_config, "jup-gap")


def test_a_connection_change_says_restart_and_up_restarts_it(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    main = free_port()
    _add(ssh_config, sshd, "conn", main, remote_http.port)
    try:
        _ok("up", "conn")
        first = master_pid(ssh_config, "jup-conn")
        other_key = tmp_path / "same-key-elsewhere"
        shutil.copyfile(sshd.client_key, other_key)
        other_key.chmod(0o600)
        said = _ok("edit", "conn", "--identity-file", str(other_key))
        assert "must restart" in said
        assert "sshjup up conn" in said
        assert master_pid(ssh_config, "jup-conn") == first  # not touched until asked

        _ok("up", "conn")
        second = master_pid(ssh_config, "jup-conn")
        assert second is not None
        assert second != first
        assert PAGE in http_get(f"http://127.0.0.1:{main}/")
        _ok("up", "conn")  # the restart was owed once
        assert master_pid(ssh_config, "jup-conn") == second

        said = _ok("edit", "conn", "--identity-file", str(sshd.client_key), "--restart")
        assert "restarted" in said
        assert master_pid(ssh_config, "jup-conn") not in (None, second)
        assert PAGE in http_get(f"http://127.0.0.1:{main}/")
    finally:
        stop_master(ssh_config, "jup-conn")


def _plain_bind_fails(port: int) -> bool:
    """Binding without SO_REUSEADDR fails: a TIME_WAIT socket (or a listener) holds the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def test_no_false_port_warning_for_the_own_tunnel_or_time_wait_but_a_real_one_warns(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    main, extra = free_port(), free_port()
    _add(ssh_config, sshd, "warn", main, remote_http.port)
    try:
        _ok("up", "warn")
        assert PAGE in http_get(f"http://127.0.0.1:{main}/")
        said = _ok("edit", "warn", "--forward", f"{extra}:{remote_http.port}")
        assert "in use" not in said  # held by its own running tunnel

        assert PAGE in http_get(f"http://127.0.0.1:{main}/")
        _ok("down", "warn")
        # Usually a TIME_WAIT socket of the connection just closed holds the port now (a plain
        # bind fails); not always, so this is no assertion: the edit must not warn either way.
        _plain_bind_fails(main)
        said = _ok("edit", "warn", "--clear-forwards")
        assert "in use" not in said
    finally:
        stop_master(ssh_config, "jup-warn")
    with listening_socket(extra):
        said = _ok("edit", "warn", "--forward", f"{extra}:{remote_http.port}")
    assert f"local port {extra} is in use" in said


def test_two_plain_ssh_at_the_same_moment_leave_one_working_tunnel(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    """OpenSSH has no option for the second to wait for the first's master (documented in
    docs/troubleshooting.md): one wins, the other may fail with the message tested here."""
    _prepare(ssh_config, sshd, tmp_path)
    local = free_port()
    _add(ssh_config, sshd, "twice", local, remote_http.port)
    argv = ["ssh", "-F", str(ssh_config), "jup-twice"]
    try:
        both = [
            subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=30), p.stderr.read().decode() if p.stderr else "") for p in both]
        for p in both:
            if p.stderr:
                p.stderr.close()
        assert any(code == 0 for code, _ in results), results
        for code, err in results:
            if code != 0:
                assert "Address already in use" in err
                assert "Could not request local forwarding" in err
        assert PAGE in http_get(f"http://127.0.0.1:{local}/")
        assert master_pid(ssh_config, "jup-twice") is not None
    finally:
        stop_master(ssh_config, "jup-twice")
