"""How sshjup runs a remote command through the managed alias (real ssh; no server needed).

``ssh -G`` is the oracle: the command-line options must turn the tunnel alias (SessionType none,
ForkAfterAuthentication, ControlMaster auto, StdinNull, a forced tty) into a plain foreground
command that reads its script from stdin and opens no forward.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from sshjup import proc
from sshjup.errors import RemoteCommandFailed
from sshjup.jupyter.remote import run_script, ssh_argv
from sshjup.ssh.sshconfig import Capabilities
from sshjup.store import paths
from tests.support.net import free_port, listening_socket

MODERN = Capabilities(True, True, True, "9.2")
OLD = Capabilities(False, False, True, "8.4")
WINDOWS = Capabilities(True, False, False, "9.5")

TUNNEL_BLOCK = """\
Host jup-x
    HostName 127.0.0.1
    Port {port}
    LocalForward 127.0.0.1:8888 localhost:8889
    ExitOnForwardFailure yes
    SessionType none
    ForkAfterAuthentication yes
    ControlMaster auto
    ControlPath {control}/sshjup-%C
    ControlPersist yes
    StdinNull yes
    RequestTTY force
    RemoteCommand echo not-this
    BatchMode no
    ConnectTimeout 5
"""


def _config(tmp_path: Path, port: int = 1) -> Path:
    cfg = tmp_path / "ssh_config"
    cfg.write_text(TUNNEL_BLOCK.format(port=port, control=tmp_path))
    return cfg


def _effective(argv: list[str]) -> dict[str, list[str]]:
    """``ssh -G`` with the same options (``sh -s`` dropped): what the client would do."""
    assert argv[-4:-2] == ["--", "jup-x"]
    g = subprocess.run(
        [argv[0], "-G", *argv[1:-2]], capture_output=True, text=True, timeout=20, check=True
    )
    out: dict[str, list[str]] = {}
    for line in g.stdout.splitlines():
        key, _, value = line.partition(" ")
        out.setdefault(key, []).append(value)
    return out


def test_the_alias_becomes_a_foreground_command_without_forwards(tmp_path: Path) -> None:
    argv = ssh_argv("jup-x", _config(tmp_path), caps=MODERN)
    assert argv[:3] == ["ssh", "-F", str(tmp_path / "ssh_config")]
    assert argv[-4:] == ["--", "jup-x", "sh", "-s"]
    eff = _effective(argv)
    assert eff["sessiontype"] == ["default"]
    assert eff["forkafterauthentication"] == ["no"]
    assert eff["stdinnull"] == ["no"]
    assert eff["clearallforwardings"] == ["yes"]
    assert "localforward" not in eff
    assert eff["controlmaster"] == ["false"]
    assert "controlpath" not in eff  # none
    assert eff["batchmode"] == ["yes"]
    assert eff["requesttty"] == ["false"]
    assert "remotecommand" not in eff
    assert eff["permitlocalcommand"] == ["no"]


def test_options_an_older_or_windows_client_cannot_parse_are_left_out(tmp_path: Path) -> None:
    old = ssh_argv("jup-x", _config(tmp_path), caps=OLD)
    assert not any(opt.startswith(("SessionType", "StdinNull", "ForkAfter")) for opt in old)
    assert "ClearAllForwardings=yes" in old
    win = ssh_argv("jup-x", _config(tmp_path), caps=WINDOWS)
    assert "SessionType=default" in win
    assert not any(opt.startswith("ForkAfterAuthentication") for opt in win)


def test_no_dash_f_for_the_config_ssh_reads_anyway() -> None:
    default = paths.default_ssh_config()  # from the password database, as ssh finds it
    assert ssh_argv("jup-x", default, caps=MODERN)[:3] == ["ssh", "-o", "SessionType=default"]


def test_an_unreachable_host_fails_with_what_ssh_said_and_how_to_check(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(RemoteCommandFailed) as info:
        run_script("jup-x", _config(tmp_path, port), "echo hi\n", timeout=20)
    err = info.value
    assert err.exit_code == 8
    assert str(err).startswith("ssh could not run a command on jup-x: ")
    assert "Connection refused" in str(err)
    assert "BatchMode" in (err.hint or "")
    assert "SessionType=default" in (err.hint or "")


def test_a_host_that_never_answers_times_out_and_ssh_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    real_run = proc.run

    def recording_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        started.append(list(argv))
        return real_run(argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(proc, "run", recording_run)
    with listening_socket() as silent:  # accepts TCP, never speaks SSH
        cfg = _config(tmp_path, silent.getsockname()[1])
        began = time.monotonic()
        with pytest.raises(RemoteCommandFailed, match="did not finish within 1 s"):
            run_script("jup-x", cfg, "echo hi\n", timeout=1)
    assert time.monotonic() - began < 10
    assert started[-1][-2:] == ["sh", "-s"]
