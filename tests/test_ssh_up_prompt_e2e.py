"""`sshjup up` at a prompt, under a real pseudo-terminal (issue 8).

A key with a passphrase and no agent makes ssh ask in the terminal. Nobody answers: after
``--prompt-timeout`` sshjup stops ssh with SIGTERM, the terminal echoes again, and the message
says a prompt was pending. Ctrl-C at the prompt exits 130 with the terminal restored.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.procs import pid_alive
from tests.support.sshd import SshServer
from tests.test_ssh_tunnel_e2e import _add

pytestmark = pytest.mark.e2e


def _passphrase_host(ssh_config: Path, sshd: SshServer, tmp_path: Path) -> None:
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    key = tmp_path / "key_with_passphrase"
    shutil.copyfile(sshd.client_key, key)
    key.chmod(0o600)
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", "not typed", "-f", str(key)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    ssh_config.write_text(
        "Host *\n"
        f"    UserKnownHostsFile {known_hosts}\n"
        "    StrictHostKeyChecking yes\n"
        "    GlobalKnownHostsFile /dev/null\n"
        "    IdentitiesOnly yes\n"
        "    IdentityAgent none\n"
        "    ConnectTimeout 10\n"
    )
    ssh_config.chmod(0o600)
    _add(ssh_config, sshd, "pp", free_port(), 1)
    sshd_key = sshd.client_key
    text = ssh_config.read_text().replace(f"IdentityFile {sshd_key}", f"IdentityFile {key}")
    assert str(key) in text
    ssh_config.write_text(text)


class Terminal:
    """`sshjup ARGS` in a new pseudo-terminal; the parent reads it and looks at its modes."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.execve(sys.executable, [sys.executable, "-m", "sshjup", *args], env)  # noqa: S606
        self.output = b""

    def read_until(self, needle: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while needle not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError:
                    break
        return needle in self.output

    def echoes(self) -> bool:
        return bool(termios.tcgetattr(self.fd)[3] & termios.ECHO)

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read_until(b"\0", 0.05)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
        return None

    def close(self) -> None:
        if pid_alive(self.pid):
            os.kill(self.pid, 15)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def _ssh_children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, timeout=10
    ).stdout
    return [int(p) for p in out.split()]


def test_up_at_an_unanswered_passphrase_prompt_gives_up_and_restores_the_terminal(
    ssh_config: Path, sshd: SshServer, tmp_path: Path
) -> None:
    _passphrase_host(ssh_config, sshd, tmp_path)
    term = Terminal("up", "pp", "--timeout", "30", "--prompt-timeout", "2")
    try:
        assert term.read_until(b"Enter passphrase", 20), term.output
        time.sleep(0.3)
        assert not term.echoes()  # ssh turned echo off for the passphrase
        [ssh] = _ssh_children(term.pid)
        code = term.wait(20)
        assert code == 9, term.output  # TunnelError
        assert term.echoes()
        assert b"prompt" in term.output
        assert b"passphrase" in term.output
        assert not pid_alive(ssh)
    finally:
        term.close()


def test_ctrl_c_at_the_prompt_exits_130_and_restores_the_terminal(
    ssh_config: Path, sshd: SshServer, tmp_path: Path
) -> None:
    _passphrase_host(ssh_config, sshd, tmp_path)
    term = Terminal("up", "pp")
    try:
        assert term.read_until(b"Enter passphrase", 20), term.output
        time.sleep(0.3)
        [ssh] = _ssh_children(term.pid)
        os.write(term.fd, b"\x03")  # Ctrl-C: SIGINT to the terminal's foreground group
        code = term.wait(15)
        assert code == 130, term.output
        assert b"Aborted!" not in term.output
        assert term.echoes()
        assert not pid_alive(ssh)
    finally:
        term.close()
