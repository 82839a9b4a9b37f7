"""The throwaway sshd works with the plain OpenSSH client, no sshjup involved.

The Host block is the one sshjup writes (design.md): plain ``ssh ALIAS`` opens a background
tunnel, a second ``ssh ALIAS`` leaves it working, ``ssh -O check|exit`` manage it.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.httpd import PageServer
from tests.support.net import (
    free_port,
    http_get,
    listening_socket,
    port_is_free,
    wait_for_port_free,
)
from tests.support.procs import pid_alive
from tests.support.sshd import SshServer, master_pid, run_ssh, stop_master

pytestmark = pytest.mark.e2e

ALIAS = "jup-smoke"


@dataclass
class Smoke:
    config: Path
    local_port: int
    page: PageServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}/"


def write_config(
    tmp_path: Path, server: SshServer, page: PageServer, control_dir: Path
) -> tuple[Path, int]:
    local_port = free_port()
    known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
    config = tmp_path / "ssh_config"
    block = server.host_block(
        ALIAS, local_port=local_port, remote_port=page.port, control_dir=control_dir
    )
    config.write_text(block + "\n" + server.client_config_tail(known_hosts, identity=False))
    return config, local_port


@pytest.fixture
def smoke(
    tmp_path: Path, sshd: SshServer, remote_http: PageServer, short_tmp: Path
) -> Iterator[Smoke]:
    config, local_port = write_config(tmp_path, sshd, remote_http, short_tmp)
    try:
        yield Smoke(config, local_port, remote_http)
    finally:
        stop_master(config, ALIAS)


def test_plain_ssh_alias_returns_and_leaves_a_working_tunnel(smoke: Smoke) -> None:
    code, err = run_ssh(smoke.config, ALIAS, timeout=30)

    assert code == 0, err
    assert http_get(smoke.url) == smoke.page.body


def test_a_second_plain_ssh_alias_leaves_the_tunnel_working(smoke: Smoke) -> None:
    assert run_ssh(smoke.config, ALIAS)[0] == 0
    first = master_pid(smoke.config, ALIAS)

    code, err = run_ssh(smoke.config, ALIAS, timeout=30)

    assert code == 0, err
    assert master_pid(smoke.config, ALIAS) == first
    assert http_get(smoke.url) == smoke.page.body


def test_control_socket_check_reports_the_master_and_exit_frees_the_port(smoke: Smoke) -> None:
    assert run_ssh(smoke.config, ALIAS)[0] == 0

    code, err = run_ssh(smoke.config, "-O", "check", ALIAS)
    assert code == 0, err
    assert "Master running (pid=" in err
    pid = master_pid(smoke.config, ALIAS)
    assert pid is not None

    code, err = run_ssh(smoke.config, "-O", "exit", ALIAS)
    assert code == 0, err
    assert wait_for_port_free(smoke.local_port, timeout=10)
    assert run_ssh(smoke.config, "-O", "check", ALIAS)[0] != 0
    assert master_pid(smoke.config, ALIAS) is None


def test_client_refuses_a_host_key_that_is_not_pinned(
    tmp_path: Path, sshd: SshServer, remote_http: PageServer, short_tmp: Path
) -> None:
    config, local_port = write_config(tmp_path, sshd, remote_http, short_tmp)
    (tmp_path / "known_hosts").write_text("")

    code, err = run_ssh(config, ALIAS)

    assert code == 255
    assert "Host key verification failed" in err
    assert port_is_free(local_port)


def test_stopping_sshd_also_ends_the_tunnels_it_served(
    tmp_path: Path, sshd: SshServer, remote_http: PageServer, short_tmp: Path
) -> None:
    config, local_port = write_config(tmp_path, sshd, remote_http, short_tmp)
    try:
        assert run_ssh(config, ALIAS)[0] == 0
        pid = master_pid(config, ALIAS)
        assert pid is not None
        assert sshd.connection_pids()

        sshd.stop()

        assert wait_for_port_free(local_port, timeout=10)
        assert master_pid(config, ALIAS) is None
        assert not pid_alive(pid)
    finally:
        stop_master(config, ALIAS)


def unprivileged_account() -> str:
    try:
        return pwd.getpwnam("nobody").pw_name
    except KeyError:
        pytest.skip("no 'nobody' account to log in as")


@pytest.mark.skipif(os.geteuid() != 0, reason="logging in as another user needs root")
def test_login_user_can_open_a_tunnel_as_another_account(
    tmp_path: Path,
    sshd_factory: Callable[..., SshServer],
    remote_http: PageServer,
    short_tmp: Path,
) -> None:
    user = unprivileged_account()
    server = sshd_factory(login_user=user)
    config, local_port = write_config(tmp_path, server, remote_http, short_tmp)
    try:
        code, err = run_ssh(config, ALIAS)

        assert code == 0, err
        assert server.user == user
        assert f"Accepted publickey for {user}" in server.log_text()
        assert http_get(f"http://127.0.0.1:{local_port}/") == remote_http.body
    finally:
        stop_master(config, ALIAS)


def test_start_sshd_moves_to_another_port_when_its_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import sshd as sshd_module

    if sshd_module.unavailable_reason():
        pytest.skip(sshd_module.unavailable_reason() or "")
    with listening_socket() as squatter:
        taken = squatter.getsockname()[1]
        offers = iter([taken])
        monkeypatch.setattr(sshd_module, "free_port", lambda: next(offers, None) or free_port())

        with sshd_module.start_sshd(tmp_path / "srv") as server:
            assert server.port != taken
            code, err = run_ssh_probe(tmp_path, server)
            assert code == 0, err


def run_ssh_probe(tmp_path: Path, server: SshServer) -> tuple[int, str]:
    """Log in with a plain (no tunnel, no control socket) Host block and run `true`."""
    known_hosts = server.write_known_hosts(tmp_path / "kh_probe")
    config = tmp_path / "probe_config"
    config.write_text(
        f"Host probe\n    HostName {server.host}\n    Port {server.port}\n"
        f"    User {server.user}\n" + server.client_config_tail(known_hosts)
    )
    return run_ssh(config, "probe", "true", timeout=30)
