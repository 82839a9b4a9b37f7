"""Where the end-to-end tests find the "remote" Jupyter account (made by .ci/setup-remote-jupyter.sh).

* ``SSHJUP_TEST_REMOTE_USER`` (default ``sshjup-remote``): an unprivileged local account that
  the throwaway sshd logs into (Jupyter refuses to run as root);
* ``SSHJUP_TEST_REMOTE_JUPYTER`` (default ``/opt/sshjup-remote-venv/bin/jupyter``): a
  ``jupyter`` with jupyter_server that this account can run.

Shared by the end-to-end Jupyter tests (import the fixtures into the test module):

* ``remote_account``: the throwaway sshd logging in as that account, per-test Jupyter dirs and
  a user ssh config that trusts the server; ``remote_account.add(...)`` runs ``sshjup add``
  through the CLI and returns a ``RemoteHost``. Every host added is cleaned up afterwards
  (its Jupyter stopped, falling back to PIDs from the runtime dir; its tunnel closed).
* ``remote_host``: ``remote_account.add("jr")``.
* ``memory_keyring`` lives in tests/conftest.py (shared by every test module).
* ``http_status``: a loopback GET/POST without proxies or redirects; the status code.
* ``ProcessStartRecorder``, ``ProcSampler``, ``files_holding``: where secrets could leak
  (argv and environment of local process starts, every command line in /proc, files).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from sshjup.cli import cli
from sshjup.jupyter import remote
from sshjup.jupyter.scripts import CONFIG_FILE, parse_server_list
from sshjup.models import JupyterSpec
from tests.support.net import free_port
from tests.support.procs import pid_alive, stop_pid
from tests.support.sshd import SshServer, stop_master

if TYPE_CHECKING:
    from collections.abc import Callable

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


START_TIMEOUT = 90.0


# -- a managed host whose remote is the throwaway sshd and the real Jupyter -------------------


@dataclass
class RemoteHost:
    """A managed host ``jup-NAME`` whose remote is the throwaway sshd and real Jupyter."""

    name: str
    cfg: Path
    sshd: SshServer
    dirs: RemoteJupyterDirs
    local_port: int
    remote_port: int
    spec: JupyterSpec
    pids: list[int] = field(default_factory=list)
    sock: str | None = None  # the remote socket (``add --remote-socket``), read back after add

    @property
    def alias(self) -> str:
        return "jup-" + self.name

    @property
    def config_file(self) -> Path:
        """This host's own config on the remote (``jupyter setup``), not the user's global one."""
        return self.dirs.config_dir / "sshjup" / self.alias / CONFIG_FILE

    @property
    def global_config_file(self) -> Path:
        return self.dirs.config_dir / CONFIG_FILE

    @property
    def log_file(self) -> Path:
        return self.dirs.log_dir / f"jupyter-{self.remote_port}.log"


def invoke(*args: str, input: str | None = None) -> Result:
    """``sshjup ARGS`` in-process (``input``: its stdin); asserts exit 0, returns the result."""
    result = CliRunner().invoke(cli, list(args), input=input)
    assert result.exit_code == 0, f"sshjup {' '.join(args)}: {result.output}{result.stderr}"
    return result


def _running_pids(dirs: RemoteJupyterDirs) -> list[int]:
    """PIDs from Jupyter's runtime files (what `jupyter server list` reports)."""
    pids = []
    for info in dirs.runtime_dir.glob("jpserver-*.json"):
        with contextlib.suppress(OSError, ValueError):
            pids += [s.pid for s in parse_server_list(json.dumps(json.loads(info.read_text())))]
    return pids


def _cleanup(host: RemoteHost) -> None:
    with contextlib.suppress(Exception):
        remote.stop(
            host.alias, host.cfg, host.spec, host.remote_port, grace_seconds=5, sock=host.sock
        )
    for pid in {*host.pids, *_running_pids(host.dirs)}:
        if pid_alive(pid):
            stop_pid(pid)
    with contextlib.suppress(Exception):
        CliRunner().invoke(cli, ["down", host.name])
    stop_master(host.cfg, host.alias)
    host.log_file.unlink(missing_ok=True)
    if host.sock is not None:  # a socket a killed server left behind
        Path(host.sock).unlink(missing_ok=True)


@dataclass
class RemoteAccount:
    """The throwaway sshd (logging in as the remote account), its Jupyter dirs, the ssh config."""

    cfg: Path
    sshd: SshServer
    dirs: RemoteJupyterDirs
    hosts: list[RemoteHost] = field(default_factory=list)

    def add(
        self,
        name: str = "jr",
        *,
        local_port: int | None = None,
        remote_port: int | None = None,
        extra: tuple[str, ...] = (),
    ) -> RemoteHost:
        """``sshjup add`` through the CLI (free ports unless given); cleaned up at teardown.

        ``extra``: more options for ``sshjup add`` (``--remote-socket``...).
        """
        local = local_port if local_port is not None else free_port()
        rport = remote_port if remote_port is not None else free_port()
        spec = JupyterSpec(kind="server", command=str(self.dirs.command))
        host = RemoteHost(name, self.cfg, self.sshd, self.dirs, local, rport, spec)
        self.hosts.append(host)
        invoke(
            "add",
            f"{self.sshd.user}@127.0.0.1:{self.sshd.port}",
            "--name",
            name,
            "--identity-file",
            str(self.sshd.client_key),
            "--local-port",
            str(local),
            "--remote-port",
            str(rport),
            *extra,
        )
        if "--remote-socket" in extra:
            [listed] = [t for t in json.loads(invoke("list", "--json").stdout) if t["name"] == name]
            host.sock = listed["remote_socket"]
        return host


@pytest.fixture
def remote_account(
    ssh_config: Path, sshd_factory: Callable[..., SshServer], tmp_path: Path
) -> Iterator[RemoteAccount]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    yield from _remote_account(sshd_factory(login_user=remote_user()), ssh_config, tmp_path)


def _remote_account(server: SshServer, ssh_config: Path, tmp_path: Path) -> Iterator[RemoteAccount]:
    with remote_jupyter_dirs() as dirs:
        known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
        ssh_config.write_text(server.client_config_tail(known_hosts))
        ssh_config.chmod(0o600)
        account = RemoteAccount(ssh_config, server, dirs)
        try:
            yield account
        finally:
            for host in account.hosts:
                _cleanup(host)


def remote_account_on(
    server: SshServer, ssh_config: Path, tmp_path: Path
) -> contextlib.AbstractContextManager[RemoteAccount]:
    """``remote_account`` for an sshd the caller started (with its own ``extra_config``)."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    return contextlib.contextmanager(_remote_account)(server, ssh_config, tmp_path)


@pytest.fixture
def remote_host(remote_account: RemoteAccount) -> RemoteHost:
    return remote_account.add("jr")


# -- HTTP through the tunnel ------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def make_opener(jar: http.cookiejar.CookieJar | None = None) -> urllib.request.OpenerDirector:
    """No proxy (loopback only), no redirects followed; cookies kept in ``jar`` if given."""
    handlers: list[urllib.request.BaseHandler] = [
        urllib.request.ProxyHandler({}),  # loopback only, never through a proxy
        _NoRedirect(),
    ]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


def http_status(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    opener: urllib.request.OpenerDirector | None = None,
) -> int:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with (opener or make_opener()).open(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


# -- where a secret could leak ----------------------------------------------------------------

_AUDIT_EVENTS = ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system")
_recorders: list[list[tuple[str, tuple[object, ...]]]] = []
_hook_installed = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _recorders and event in _AUDIT_EVENTS:
        for events in _recorders:
            events.append((event, args))


class ProcessStartRecorder:
    """Records the audit event (argv, and env where given) of every process this one starts.

    The audit hook is installed once per process (it cannot be removed); it only records
    between ``start()`` and ``stop()``.
    """

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[object, ...]]] = []

    def start(self) -> None:
        global _hook_installed  # noqa: PLW0603 (one hook per process)
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True
        _recorders.append(self.events)

    def stop(self) -> None:
        if self.events in _recorders:
            _recorders.remove(self.events)

    def __enter__(self) -> ProcessStartRecorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ProcSampler(threading.Thread):
    """Reads every process's command line from /proc, about every 10 ms, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.cmdlines: set[bytes] = set()
        self.rounds = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    with contextlib.suppress(OSError):
                        self.cmdlines.add(Path(entry.path, "cmdline").read_bytes())
            self.rounds += 1
            self._stop_event.wait(0.01)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def files_holding(root: Path, needles: dict[str, str]) -> dict[str, list[str]]:
    """{secret name: [files under root that contain it]} (unreadable files are skipped)."""
    found: dict[str, list[str]] = {name: [] for name in needles}
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for name, value in needles.items():
            if value.encode() in data:
                found[name].append(str(path))
    return found


def record_proc_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], str | None]]:
    """Wrap ``sshjup.proc.run``: every (argv, stdin text) it runs is appended to the list."""
    from sshjup import proc

    runs: list[tuple[list[str], str | None]] = []
    real_run = proc.run

    def recording_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        runs.append((list(argv), kwargs.get("input_text")))
        return real_run(argv, **kwargs)

    monkeypatch.setattr(proc, "run", recording_run)
    return runs


__all__ = [
    "record_proc_runs",
    "START_TIMEOUT",
    "ProcSampler",
    "ProcessStartRecorder",
    "RemoteAccount",
    "RemoteHost",
    "RemoteJupyterDirs",
    "files_holding",
    "http_status",
    "invoke",
    "make_opener",
    "remote_account",
    "remote_account_on",
    "remote_host",
    "remote_jupyter",
    "remote_jupyter_dirs",
    "remote_python",
    "remote_user",
    "run_as_remote_user",
    "unavailable_reason",
]
