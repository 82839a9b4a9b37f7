"""Loopback network helpers for tests: free ports, waiting for listeners, a bounded HTTP GET."""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.request

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when ``host:port`` can be bound now (with SO_REUSEADDR, as ssh and sshd bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> bool:
    """Poll until ``host:port`` accepts a TCP connection; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if port_accepts(host, port):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def wait_for_port_free(port: int, timeout: float = 10.0, host: str = LOOPBACK) -> bool:
    """Poll until ``host:port`` can be bound again; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if port_is_free(port, host):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def http_get(url: str, timeout: float = 5.0) -> str:
    """The body of ``url`` (must be http://127.0.0.1 or localhost), with a bounded timeout."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
        msg = f"tests only fetch loopback URLs, not {url!r}"
        raise ValueError(msg)
    # No proxy: a CI environment's http_proxy must not capture loopback requests.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as resp:
        body: bytes = resp.read()
    return body.decode("utf-8", errors="replace")


def listening_socket(port: int = 0, host: str = LOOPBACK) -> socket.socket:
    """A socket listening on ``host:port`` (another program holding the port); caller closes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
        sock.listen(8)
    except OSError:
        with contextlib.suppress(OSError):
            sock.close()
        raise
    return sock


__all__ = [
    "LOOPBACK",
    "free_port",
    "http_get",
    "listening_socket",
    "port_accepts",
    "port_is_free",
    "wait_for_port",
    "wait_for_port_free",
]
