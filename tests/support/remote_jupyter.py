"""Where the end-to-end tests find the "remote" Jupyter account (made by .ci/setup-remote-jupyter.sh).

* ``SSHJUP_TEST_REMOTE_USER`` (default ``sshjup-remote``): an unprivileged local account that
  the throwaway sshd logs into (Jupyter refuses to run as root);
* ``SSHJUP_TEST_REMOTE_JUPYTER`` (default ``/opt/sshjup-remote-venv/bin/jupyter``): a
  ``jupyter`` with jupyter_server that this account can run.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_USER = "sshjup-remote"
DEFAULT_JUPYTER = "/opt/sshjup-remote-venv/bin/jupyter"
SETUP_HINT = "run .ci/setup-remote-jupyter.sh as root to create them"


def remote_user() -> str:
    return os.environ.get("SSHJUP_TEST_REMOTE_USER") or DEFAULT_USER


def remote_jupyter() -> str:
    return os.environ.get("SSHJUP_TEST_REMOTE_JUPYTER") or DEFAULT_JUPYTER


def remote_python() -> str:
    """The Python beside the remote ``jupyter`` (it has jupyter_server and argon2-cffi)."""
    return str(Path(remote_jupyter()).with_name("python"))


def unavailable_reason() -> str | None:
    """Why the remote Jupyter account cannot be used here, or None when it can."""
    user = remote_user()
    try:
        pwd.getpwnam(user)
    except KeyError:
        return f"no local account {user!r} for the remote Jupyter ({SETUP_HINT})"
    if not os.access(remote_jupyter(), os.X_OK):
        return f"no remote Jupyter at {remote_jupyter()} ({SETUP_HINT})"
    if os.geteuid() != 0:
        return f"logging in as {user!r} through a throwaway sshd needs root"
    return None


@dataclass(frozen=True)
class RemoteJupyterDirs:
    """Per-test Jupyter dirs for the remote account, and a ``jupyter`` wrapper that uses them.

    The wrapper is what a user would give as ``--jupyter-cmd`` for a venv: it only sets
    ``JUPYTER_CONFIG_DIR`` and ``JUPYTER_RUNTIME_DIR`` (so tests never share a config or a
    server list) and runs the real ``jupyter``.
    """

    root: Path
    command: Path
    config_dir: Path
    runtime_dir: Path
    home: Path

    @property
    def log_dir(self) -> Path:
        return self.home / ".local" / "state" / "sshjup"


@contextlib.contextmanager
def remote_jupyter_dirs() -> Iterator[RemoteJupyterDirs]:
    """Create the dirs and wrapper (owned by the remote account); remove them afterwards."""
    entry = pwd.getpwnam(remote_user())
    root = Path(tempfile.mkdtemp(prefix="sjjup"))
    root.chmod(0o755)
    config_dir, runtime_dir = root / "config", root / "runtime"
    for path in (config_dir, runtime_dir):
        path.mkdir(mode=0o700)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    command = root / "jupyter"
    command.write_text(
        "#!/bin/sh\n"
        f"JUPYTER_CONFIG_DIR='{config_dir}'; export JUPYTER_CONFIG_DIR\n"
        f"JUPYTER_RUNTIME_DIR='{runtime_dir}'; export JUPYTER_RUNTIME_DIR\n"
        f"exec '{remote_jupyter()}' \"$@\"\n"
    )
    command.chmod(0o755)
    try:
        yield RemoteJupyterDirs(root, command, config_dir, runtime_dir, Path(entry.pw_dir))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_as_remote_user(argv: list[str], *, input_text: str | None = None) -> str:
    """Run a command as the remote account (``runuser``), for checks; its stdout."""
    result = subprocess.run(
        ["runuser", "-u", remote_user(), "--", *argv],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


__all__ = [
    "RemoteJupyterDirs",
    "remote_jupyter",
    "remote_jupyter_dirs",
    "remote_python",
    "remote_user",
    "run_as_remote_user",
    "unavailable_reason",
]
