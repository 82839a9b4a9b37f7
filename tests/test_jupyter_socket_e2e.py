"""End to end: Jupyter on a private Unix socket on the remote (``add --remote-socket``).

The remote is the throwaway sshd logging in as the unprivileged account, with a real
jupyter_server (tests/support/remote_jupyter.py). The socket path is resolved on the remote by
``sshjup add``; the Host block forwards the local port to it; Jupyter listens on no TCP port.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sshjup.ssh import openssh
from tests.support import remote_jupyter
from tests.support.memkeyring import MemoryKeyring
from tests.support.procs import pid_alive, stop_pid
from tests.support.remote_jupyter import (
    START_TIMEOUT,
    RemoteAccount,
    RemoteHost,
    http_status,
    invoke,
    remote_user,
)

remote_account = remote_jupyter.remote_account

pytestmark = pytest.mark.e2e


def _start(h: RemoteHost) -> dict[str, Any]:
    cmd = str(h.dirs.command)
    out = invoke(
        "jupyter",
        "start",
        h.name,
        "--server",
        "--jupyter-cmd",
        cmd,
        "--json",
        "--timeout",
        str(int(START_TIMEOUT)),
    )
    info: dict[str, Any] = json.loads(out.stdout)
    h.pids.append(info["pid"])
    return info


def _api_status(h: RemoteHost, token: str | None) -> int:
    query = f"?token={token}" if token else ""
    return http_status(f"http://127.0.0.1:{h.local_port}/api/status{query}")


def _tcp_listeners_of(pid: int) -> list[str]:
    """``ss -ltnpe`` lines (every TCP listener, with its process) that belong to ``pid``."""
    out = subprocess.run(["ss", "-ltnpe"], capture_output=True, text=True, timeout=10, check=True)
    return [line for line in out.stdout.splitlines() if f"pid={pid}," in line]


def _unix_listeners_of(pid: int) -> list[str]:
    out = subprocess.run(["ss", "-lxp"], capture_output=True, text=True, timeout=10, check=True)
    return [line for line in out.stdout.splitlines() if f"pid={pid}," in line]


def test_jupyter_on_a_private_socket_answers_through_the_tunnel_only_with_the_token(
    remote_account: RemoteAccount, memory_keyring: MemoryKeyring
) -> None:
    h = remote_account.add("sockjr", extra=("--remote-socket", "--no-putty"))
    home = h.dirs.home
    assert h.sock == f"{home}/.local/share/sshjup/run/jupyter-sockjr.sock"
    sock_dir = Path(h.sock).parent
    assert stat.S_IMODE(sock_dir.stat().st_mode) == 0o700
    assert sock_dir.stat().st_uid == pwd.getpwnam(remote_user()).pw_uid
    resolved = openssh.resolve(h.cfg, h.alias)
    assert f"[127.0.0.1]:{h.local_port} {h.sock}" in resolved.local_forwards

    setup = invoke("jupyter", "setup", h.name, "--server", "--jupyter-cmd", str(h.dirs.command))
    assert f'"sock": "{h.sock}"' in h.config_file.read_text(), setup.stdout

    info = _start(h)
    assert stat.S_ISSOCK(os.stat(h.sock).st_mode)
    assert stat.S_IMODE(os.stat(h.sock).st_mode) == 0o600
    assert _unix_listeners_of(info["pid"]), "Jupyter does not listen on its socket"
    assert _tcp_listeners_of(info["pid"]) == []  # no TCP port at all on the remote

    token = memory_keyring.store[("sshjup", h.alias)]
    invoke("up", h.name)
    assert _api_status(h, token) == 200
    assert _api_status(h, None) == 403
    assert _api_status(h, "0" * len(token)) == 403
    url = invoke("url", h.name).stdout.strip()
    assert url == f"http://127.0.0.1:{h.local_port}/?token={token}"

    status = json.loads(invoke("jupyter", "status", h.name, "--json").stdout)
    assert status["running"] is True
    assert status["remote_socket"] == h.sock
    assert [s for s in status["servers"] if s["ours"]] == [
        {"port": 0, "pid": info["pid"], "root_dir": str(home), "ours": True, "sock": h.sock}
    ]

    # Another local account cannot even reach the socket (its directory is 0700).
    other = subprocess.run(
        [
            "runuser",
            "-u",
            "nobody",
            "--",
            "python3",
            "-c",
            "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
            h.sock,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert other.returncode != 0
    assert "PermissionError" in other.stderr and "Permission denied" in other.stderr

    stopped = invoke("jupyter", "stop", h.name)
    assert stopped.stdout == f"Stopped Jupyter (pid {info['pid']}).\n"
    assert not pid_alive(info["pid"])


def test_a_stale_socket_from_a_killed_server_does_not_block_the_next_start(
    remote_account: RemoteAccount, memory_keyring: MemoryKeyring
) -> None:
    h = remote_account.add("sockjk", extra=("--remote-socket", "--no-putty"))
    assert h.sock is not None
    first = _start(h)
    os.kill(first["pid"], signal.SIGKILL)
    stop_pid(first["pid"])  # waits until it is gone
    assert not pid_alive(first["pid"])
    assert stat.S_ISSOCK(os.stat(h.sock).st_mode)  # left behind by the killed server

    second = _start(h)
    assert second["pid"] != first["pid"]
    invoke("up", h.name)
    token = memory_keyring.store[("sshjup", h.alias)]
    assert _api_status(h, token) == 200
    invoke("jupyter", "stop", h.name)
    assert not pid_alive(second["pid"])
