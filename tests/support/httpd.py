"""A tiny HTTP server in a subprocess, standing in for the remote Jupyter behind the tunnel."""

from __future__ import annotations

import contextlib
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.net import LOOPBACK, port_accepts
from tests.support.procs import stop_process

_SERVING_RE = re.compile(rb"Serving HTTP on \S+ port (\d+)")


@dataclass
class PageServer:
    """``python -m http.server`` serving ``body`` as index.html on 127.0.0.1:``port``."""

    port: int
    body: str
    pid: int
    _proc: subprocess.Popen[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def stop(self) -> None:
        stop_process(self._proc)


def _read_port(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The port from the server's 'Serving HTTP on ... port N' line (None if it died)."""
    assert proc.stdout is not None
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            chunk = proc.stdout.read1(4096)  # type: ignore[attr-defined]
            if not chunk:
                return None
            buf += chunk
            match = _SERVING_RE.search(buf)
            if match:
                return int(match.group(1))
        elif proc.poll() is not None:
            return None
    return None


@contextlib.contextmanager
def serve_page(
    port: int = 0, body: str = "<h1>sshjup test page</h1>\n", *, timeout: float = 10.0
) -> Iterator[PageServer]:
    """Serve ``body`` on 127.0.0.1:``port`` (0: a free port) until the ``with`` block ends."""
    root = Path(tempfile.mkdtemp(prefix="sjhttp"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        (root / "index.html").write_text(body, encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", str(port), "--bind", LOOPBACK],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        actual = _read_port(proc, timeout)
        if actual is None or (port and actual != port):
            msg = f"http.server did not start on 127.0.0.1:{port or 'any'}"
            raise RuntimeError(msg)
        deadline = time.monotonic() + timeout
        while not port_accepts(LOOPBACK, actual):
            if time.monotonic() > deadline or proc.poll() is not None:
                msg = f"http.server on 127.0.0.1:{actual} does not accept connections"
                raise RuntimeError(msg)
            time.sleep(0.05)
        server = PageServer(port=actual, body=body, pid=proc.pid, _proc=proc)
        yield server
    finally:
        if proc is not None:
            stop_process(proc)
            if proc.stdout is not None:
                proc.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


__all__ = ["PageServer", "serve_page"]
