"""A hostile or unlucky remote for the end-to-end tests: one reusable fixture.

``hostile_jupyter(account, mode)`` writes a ``jupyter`` script (given as ``--jupyter-cmd``) that
the throwaway sshd runs as the remote account, in one of these modes:

* ``"escapes"``: versions, the server list's root_dir and hostname carry OSC/CSI sequences;
* ``"leaky-error"``: ``jupyter server list`` fails and prints tokens in its error output;

and ``squat(port)`` holds a remote port with a listener of another account (this process, root)
that records what reaches it, the way a squatter on a shared login node would.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from tests.support.remote_jupyter import RemoteAccount

LEAKED_TOKEN = "c0ffee" * 8  # 48 hex digits, like a jupyter_server token
LEAKED_WORD = "open-sesame-passphrase"
OSC = "\x1b]0;pwned\x07"
CSI = "\x1b[2J\x1b[31m"


def hostile_jupyter(account: RemoteAccount, mode: str) -> Path:
    """Write the hostile ``jupyter`` into the account's test dir; return its path."""
    server = {
        "port": 1,
        "pid": 1,
        "url": f"http://127.0.0.1:1/?token={LEAKED_TOKEN}",
        "root_dir": f"/home/x{OSC}{CSI}",
        "hostname": f"h{OSC}",
        "version": f"2.0{CSI}",
        "token": LEAKED_TOKEN,
    }
    listed = json.dumps(server)
    if mode == "escapes":
        body = (
            'case "$*" in\n'
            f"  *--version*) printf '2.0%s\\n' '{CSI}{OSC}' ;;\n"
            f"  'server list --json') printf '%s\\n' '{listed}' ;;\n"
            "  *) exit 1 ;;\n"
            "esac\n"
        )
    elif mode == "leaky-error":
        body = (
            'case "$*" in\n'
            "  *--version*) echo 2.0 ;;\n"
            f"  *) echo 'boom: http://127.0.0.1:1/?token={LEAKED_TOKEN}' >&2\n"
            f"     echo 'IdentityProvider.token = {LEAKED_WORD}' >&2; exit 1 ;;\n"
            "esac\n"
        )
    else:
        msg = f"unknown mode {mode!r}"
        raise ValueError(msg)
    path = account.dirs.root / f"jupyter-{mode}"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def squat(port: int) -> Iterator[list[bytes]]:
    """Listen on 127.0.0.1:port as this (another) account; yield what clients sent."""
    received: list[bytes] = []
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(8)
    sock.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    received.append(conn.recv(65536))
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        done.set()
        thread.join(timeout=5)
        sock.close()


__all__ = ["CSI", "LEAKED_TOKEN", "LEAKED_WORD", "OSC", "hostile_jupyter", "squat"]
