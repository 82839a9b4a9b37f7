"""`sshjup add ... --putty`, then `plink -batch -load jup-NAME -N` opens the same tunnel.

The issue's scenario through the command line: an OpenSSH ed25519 key (converted to .ppk by
sshjup), the host key pinned from the user's known_hosts (found through `ssh -G`), no
`-hostkey` and no prompt answered. Processes are stopped by their PID.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sshjup.cli import cli
from tests.support.httpd import PageServer
from tests.support.net import free_port, http_get, wait_for_port, wait_for_port_free
from tests.support.sshd import SshServer
from tests.test_putty_e2e import _why, plink

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("plink") is None or shutil.which("puttygen") is None,
        reason="plink and puttygen needed (apt install putty-tools)",
    ),
]


def test_add_with_putty_writes_a_session_plink_opens_without_prompts(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    ssh_config.write_text(sshd.client_config_tail(known_hosts, identity=False))
    key = tmp_path / "keys" / "id_ed25519"
    key.parent.mkdir()
    shutil.copy(sshd.client_key, key)
    key.chmod(0o600)
    original_key = key.read_bytes()
    local = free_port()

    result = CliRunner().invoke(
        cli,
        [
            "add",
            f"{sshd.user}@127.0.0.1:{sshd.port}",
            "--name",
            "pty",
            "--identity-file",
            str(key),
            "--local-port",
            str(local),
            "--remote-port",
            str(remote_http.port),
            "--putty",
        ],
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "PuTTY: created session" in result.stdout
    assert "PuTTY: converted the key with: puttygen " in result.stdout
    session = Path(os.environ["PUTTYDIR"]) / "sessions" / "jup-pty"
    text = session.read_text()
    assert "Protocol=ssh\n" in text
    assert f"PortNumber={sshd.port}\n" in text
    assert f"PortForwardings=4L127.0.0.1:{local}=localhost:{remote_http.port}\n" in text
    assert "SSHManualHostKeys=SHA256:" in text
    ppk = key.with_name("id_ed25519.sshjup.ppk")
    assert ppk.read_text().startswith("PuTTY-User-Key-File-")
    assert ppk.stat().st_mode & 0o777 == 0o600
    assert key.read_bytes() == original_key  # the user's key is never touched

    with plink("jup-pty", tmp_path) as proc:
        assert wait_for_port("127.0.0.1", local, timeout=20), _why(proc, tmp_path, sshd)
        assert "sshjup remote page" in http_get(f"http://127.0.0.1:{local}/")
    assert not (Path(os.environ["PUTTYDIR"]) / "sshhostkeys").exists()
    assert wait_for_port_free(local, timeout=10)

    listed = CliRunner().invoke(cli, ["putty", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"state": "in-sync"' in listed.stdout

    removed = CliRunner().invoke(cli, ["remove", "pty"])
    assert removed.exit_code == 0, removed.output + removed.stderr
    assert not session.exists()
    assert ppk.exists()  # kept: it may serve other sessions


def test_a_putty_problem_stops_the_whole_change_before_anything_is_written(
    ssh_config: Path, tmp_path: Path
) -> None:
    """A missing key file (PuTTY needs it) refuses the add: ssh config and store unchanged."""
    ssh_config.write_text("Host *\n    User someone\n")
    before = ssh_config.read_bytes()
    result = CliRunner().invoke(
        cli,
        [
            "add",
            "alice@192.0.2.7",
            "--name",
            "nokey",
            "--putty",
            "--identity-file",
            str(tmp_path / "no-such-key"),
        ],
    )
    assert result.exit_code == 2, result.output + result.stderr
    assert "no-such-key" in result.stderr
    assert ssh_config.read_bytes() == before
    assert not (Path(os.environ["PUTTYDIR"]) / "sessions" / "jup-nokey").exists()
    assert CliRunner().invoke(cli, ["list", "--json"]).stdout.strip() == "[]"
