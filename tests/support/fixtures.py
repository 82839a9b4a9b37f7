"""pytest fixtures for end-to-end tests against real OpenSSH.

Load from the root conftest with ``pytest_plugins = ["tests.support.fixtures"]``.

* ``sshd``: a throwaway key-only sshd on 127.0.0.1 (``SshServer``); skips when OpenSSH is missing.
* ``sshd_factory``: ``sshd_factory(login_user="alice")`` for another local account.
* ``remote_http``: a page server on 127.0.0.1 standing in for the remote Jupyter (``PageServer``).
* ``short_tmp``: a short directory under /tmp for control sockets (``SSHJUP_CONTROL_DIR``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.httpd import PageServer, serve_page
from tests.support.sshd import SshdUnavailable, SshServer, start_sshd, unavailable_reason

# A Unix socket path must fit in sun_path (108 bytes on Linux, 104 on macOS), and OpenSSH
# first binds "<ControlPath>.<16 random chars>": keep control directories this short.
MAX_CONTROL_DIR_LEN = 40


@pytest.fixture
def sshd_factory(tmp_path: Path) -> Iterator[Callable[..., SshServer]]:
    """Start throwaway sshd servers (``login_user=`` optional); all are stopped at teardown."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with ExitStack() as stack:
        count = 0

        def start(
            *, login_user: str | None = None, extra_config: tuple[str, ...] = ()
        ) -> SshServer:
            nonlocal count
            count += 1
            try:
                return stack.enter_context(
                    start_sshd(
                        tmp_path / f"sshd{count}", login_user=login_user, extra_config=extra_config
                    )
                )
            except SshdUnavailable as err:
                pytest.skip(str(err))

        yield start


@pytest.fixture
def sshd(sshd_factory: Callable[..., SshServer]) -> SshServer:
    """A throwaway sshd on 127.0.0.1 where the current user logs in with ``sshd.client_key``."""
    return sshd_factory()


@pytest.fixture
def remote_http() -> Iterator[PageServer]:
    """A page on 127.0.0.1:``remote_http.port`` (the 'remote Jupyter' behind the tunnel)."""
    with serve_page(0, "<h1>sshjup remote page</h1>\n") as server:
        yield server


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A fresh short directory under /tmp (for ControlPath sockets); removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="sj", dir="/tmp" if Path("/tmp").is_dir() else None))
    assert len(str(path)) <= MAX_CONTROL_DIR_LEN, path
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


__all__ = ["remote_http", "short_tmp", "sshd", "sshd_factory"]
