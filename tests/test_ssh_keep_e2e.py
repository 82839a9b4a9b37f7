"""`sshjup keep` against a real sshd: the tunnel heals (issue 8).

Each test runs `python -m sshjup keep NAME` as a child process (stopped by its PID), breaks the
tunnel the way the world does, and measures how long until the local port serves again. The
measured times are printed (`pytest -s` shows them) and bounded by the issue's limits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.httpd import PageServer
from tests.support.net import free_port, http_get, port_is_free
from tests.support.procs import pid_alive, stop_pid
from tests.support.sshd import SshServer, master_pid, stop_master
from tests.test_ssh_tunnel_e2e import _add, _prepare
from tests.test_ssh_up_prompt_e2e import _passphrase_host

pytestmark = pytest.mark.e2e

PAGE = "sshjup remote page"


class Keep:
    def __init__(self, name: str, log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sshjup", "keep", name],
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"},
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float, *, count: int = 1) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop_pid(self.proc.pid)
        self.proc.wait()
        self._out.close()


@pytest.fixture
def kept(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> Iterator[tuple[Keep, int]]:
    _prepare(ssh_config, sshd, tmp_path)
    local = free_port()
    _add(ssh_config, sshd, "kept", local, remote_http.port)
    keep = Keep("kept", tmp_path / "keep.log")
    try:
        assert keep.wait_for_log("jup-kept: up", 30), keep.text()
        assert PAGE in http_get(f"http://127.0.0.1:{local}/")
        yield keep, local
    finally:
        keep.stop()
        stop_master(ssh_config, "jup-kept")


def _serves(port: int) -> bool:
    try:
        return PAGE in http_get(f"http://127.0.0.1:{port}/", timeout=2)
    except OSError:
        return False


def _time_to_serve(port: int, timeout: float) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if _serves(port):
            return
        time.sleep(0.2)
    pytest.fail(f"127.0.0.1:{port} did not serve again within {timeout} s")


def test_keep_reopens_the_tunnel_when_the_server_side_of_its_connection_dies(
    kept: tuple[Keep, int], sshd: SshServer, ssh_config: Path
) -> None:
    keep, local = kept
    before = master_pid(ssh_config, "jup-kept")
    for pid in sshd.connection_pids():
        stop_pid(pid)
    start = time.monotonic()
    assert keep.wait_for_log("jup-kept: down", 15), keep.text()
    _time_to_serve(local, 30 - (time.monotonic() - start))
    took = time.monotonic() - start  # from the kill
    print(f"\nkeep: sshd child killed -> serving again after {took:.1f} s")
    assert took < 30
    assert master_pid(ssh_config, "jup-kept") not in (None, before)


def test_keep_reopens_the_tunnel_after_the_server_was_down_for_8_s(
    kept: tuple[Keep, int], sshd: SshServer
) -> None:
    keep, local = kept
    sshd.pause()
    start = time.monotonic()
    time.sleep(8)
    sshd.resume()
    while time.monotonic() - start < 75 and not _serves(local):
        time.sleep(0.2)
    took = time.monotonic() - start
    print(f"\nkeep: sshd down 8 s -> serving again {took:.1f} s after it went down")
    assert _serves(local), keep.text()
    assert took < 75
    assert "jup-kept: down" in keep.text()


def test_sigterm_closes_the_tunnels_keep_opened_and_exits_0(
    kept: tuple[Keep, int], ssh_config: Path
) -> None:
    keep, local = kept
    master = master_pid(ssh_config, "jup-kept")
    assert master is not None
    start = time.monotonic()
    keep.proc.send_signal(signal.SIGTERM)
    code = keep.proc.wait(timeout=10)
    took = time.monotonic() - start
    print(f"\nkeep: SIGTERM -> exit {code} after {took:.1f} s")
    assert code == 0, keep.text()
    assert port_is_free(local)
    assert not pid_alive(master)
    assert "closed" in keep.text()


def test_keep_reports_a_tunnel_that_needs_a_passphrase_and_does_not_spin(
    ssh_config: Path, sshd: SshServer, tmp_path: Path
) -> None:
    _passphrase_host(ssh_config, sshd, tmp_path)
    keep = Keep("pp", tmp_path / "keep.log")
    try:
        code = keep.proc.wait(timeout=30)
        text = keep.text()
        assert code == 9, text
        assert "needs you, not retried" in text
        assert text.count("jup-pp:") == 1  # reported once: no retry loop
        attempts = sshd.log_text().count("Connection from")
        assert attempts <= 2, sshd.log_text()
    finally:
        keep.stop()
