"""sshjup.ssh.tunnel against a real sshd, with a hand-written Host block shaped like sshjup's."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sshjup.errors import InvalidInput, PortTaken, TunnelError
from sshjup.ssh import tunnel
from sshjup.store import paths
from tests.support.httpd import PageServer
from tests.support.net import free_port, http_get, listening_socket
from tests.support.sshd import SshServer, master_pid, stop_master

ALIAS = "jup-tun"


@dataclass
class Env:
    config: Path
    local_port: int
    page: PageServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}/"


def write_config(
    tmp_path: Path,
    server: SshServer,
    page: PageServer,
    control_dir: Path,
    *,
    port: int | None = None,
    key: Path | None = None,
) -> tuple[Path, int]:
    local_port = free_port()
    known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
    block = server.host_block(
        ALIAS, local_port=local_port, remote_port=page.port, control_dir=control_dir
    )
    if port is not None:
        block = block.replace(f"Port {server.port}\n", f"Port {port}\n")
    text = block + "\n" + server.client_config_tail(known_hosts)
    if key is not None:
        text = text.replace(str(server.client_key), str(key))
    config = tmp_path / "ssh_config"
    config.write_text(text)
    return config, local_port


@pytest.fixture
def env(tmp_path: Path, sshd: SshServer, remote_http: PageServer, short_tmp: Path) -> Iterator[Env]:
    config, local_port = write_config(tmp_path, sshd, remote_http, short_tmp)
    try:
        yield Env(config, local_port, remote_http)
    finally:
        stop_master(config, ALIAS)


# --- argv ------------------------------------------------------------------------------------


def test_ssh_argv_passes_F_only_for_a_config_other_than_the_one_ssh_reads_by_default(
    tmp_path: Path,
) -> None:
    assert tunnel.ssh_argv(paths.default_ssh_config()) == ["ssh"]
    other = tmp_path / "elsewhere" / "config"
    assert tunnel.ssh_argv(other) == ["ssh", "-F", str(other)]


@pytest.mark.parametrize("alias", ["-oProxyCommand=x", "jup gpu", "jup-gpu\nHost", ""])
def test_aliases_that_ssh_would_read_as_options_are_refused(alias: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        tunnel.status(alias, tmp_path / "config", 8888)


# --- port helpers ----------------------------------------------------------------------------


def test_port_in_use_sees_another_listener_and_not_a_free_port() -> None:
    with listening_socket() as sock:
        port = sock.getsockname()[1]
        assert tunnel.port_in_use(port)
        assert tunnel.port_accepts(port)
    assert not tunnel.port_in_use(port)
    assert not tunnel.port_accepts(port)


def test_wait_for_port_reports_progress_about_once_a_second_until_the_port_opens() -> None:
    port = free_port()
    notes: list[str] = []
    holder: list[socket.socket] = []

    def open_later() -> None:
        time.sleep(1.6)
        holder.append(listening_socket(port))

    opener = threading.Thread(target=open_later)
    opener.start()
    try:
        assert tunnel.wait_for_port(port, timeout=10, progress=notes.append)
    finally:
        opener.join()
        for sock in holder:
            sock.close()
    assert 1 <= len(notes) <= 2
    assert all(f"127.0.0.1:{port}" in note for note in notes)


def test_wait_for_port_gives_up_after_the_timeout() -> None:
    started = time.monotonic()
    assert not tunnel.wait_for_port(free_port(), timeout=0.3)
    assert time.monotonic() - started < 2


# --- against the real sshd ---------------------------------------------------------------------


@pytest.mark.e2e
def test_status_of_a_tunnel_never_started_is_not_running(env: Env) -> None:
    status = tunnel.status(ALIAS, env.config, env.local_port)

    assert status == tunnel.TunnelStatus(
        ALIAS, False, None, False, "not running", local_port=env.local_port
    )


@pytest.mark.e2e
def test_up_opens_the_tunnel_and_status_reports_the_master(env: Env) -> None:
    status = tunnel.up(ALIAS, env.config, env.local_port, timeout=30)

    assert status.running
    assert status.port_open
    assert status.pid is not None
    assert status.pid == master_pid(env.config, ALIAS)
    assert http_get(env.url) == env.page.body
    assert tunnel.status(ALIAS, env.config, env.local_port) == status


@pytest.mark.e2e
def test_up_again_is_harmless_and_keeps_the_same_master(env: Env) -> None:
    first = tunnel.up(ALIAS, env.config, env.local_port)

    second = tunnel.up(ALIAS, env.config, env.local_port)

    assert second == first
    assert http_get(env.url) == env.page.body


@pytest.mark.e2e
def test_down_stops_the_master_and_frees_the_port(env: Env) -> None:
    pid = tunnel.up(ALIAS, env.config, env.local_port).pid

    status = tunnel.down(ALIAS, env.config, env.local_port)

    assert not status.running
    assert status.pid is None
    assert not status.port_open
    assert not tunnel.port_in_use(env.local_port)
    assert master_pid(env.config, ALIAS) is None
    assert tunnel.status(ALIAS, env.config, env.local_port).detail == "not running"
    assert pid is not None
    assert status.detail.startswith(f"stopped the ssh master (pid {pid})")


@pytest.mark.e2e
def test_down_when_not_running_is_not_an_error(env: Env) -> None:
    status = tunnel.down(ALIAS, env.config, env.local_port)

    assert not status.running
    assert status.detail == "not running; nothing to stop"


@pytest.mark.e2e
def test_up_after_down_opens_a_new_tunnel(env: Env) -> None:
    tunnel.up(ALIAS, env.config, env.local_port)
    tunnel.down(ALIAS, env.config, env.local_port)

    status = tunnel.up(ALIAS, env.config, env.local_port)

    assert status.running
    assert http_get(env.url) == env.page.body


@pytest.mark.e2e
def test_up_refuses_a_local_port_that_another_program_listens_on(env: Env) -> None:
    with listening_socket(env.local_port):
        with pytest.raises(PortTaken) as info:
            tunnel.up(ALIAS, env.config, env.local_port)
        status = tunnel.status(ALIAS, env.config, env.local_port)

    assert f"127.0.0.1:{env.local_port}" in info.value.message
    assert info.value.hint
    assert info.value.exit_code == 3
    assert not status.running
    assert "another program" in status.detail


@pytest.mark.e2e
def test_up_against_an_unreachable_server_names_the_problem(
    tmp_path: Path, sshd: SshServer, remote_http: PageServer, short_tmp: Path
) -> None:
    closed_port = free_port()
    config, local_port = write_config(tmp_path, sshd, remote_http, short_tmp, port=closed_port)

    with pytest.raises(TunnelError) as info:
        tunnel.up(ALIAS, config, local_port, timeout=20)

    message = info.value.message
    assert ALIAS in message
    assert f"port {closed_port}" in message
    assert "Connection refused" in message
    assert info.value.exit_code == 9
    assert "-v" in (info.value.hint or "")
    assert not tunnel.port_in_use(local_port)


@pytest.mark.e2e
def test_up_with_a_key_the_server_does_not_accept_names_the_problem(
    tmp_path: Path, sshd: SshServer, remote_http: PageServer, short_tmp: Path
) -> None:
    stranger = tmp_path / "stranger_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
        timeout=30,
    )
    config, local_port = write_config(tmp_path, sshd, remote_http, short_tmp, key=stranger)

    with pytest.raises(TunnelError) as info:
        tunnel.up(ALIAS, config, local_port, timeout=20)

    assert "Permission denied" in info.value.message
    assert not tunnel.port_in_use(local_port)


@pytest.mark.e2e
def test_up_gives_up_when_ssh_does_not_finish_connecting_in_time(
    tmp_path: Path, sshd: SshServer, remote_http: PageServer, short_tmp: Path
) -> None:
    with listening_socket() as silent:  # accepts TCP, never sends an SSH banner
        config, local_port = write_config(
            tmp_path, sshd, remote_http, short_tmp, port=silent.getsockname()[1]
        )
        started = time.monotonic()

        with pytest.raises(TunnelError) as info:
            tunnel.up(ALIAS, config, local_port, timeout=1.5)

    assert time.monotonic() - started < 5
    assert "did not finish connecting within 1.5 s" in info.value.message
    assert "--timeout" in (info.value.hint or "")
    assert not tunnel.port_in_use(local_port)
