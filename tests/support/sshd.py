"""A throwaway OpenSSH server on 127.0.0.1 for end-to-end tests.

``start_sshd(base_dir)`` generates an ed25519 host key and client key, writes a key-only
sshd_config on a free high port, validates it with ``sshd -t``, runs ``sshd -D -e`` as a child
process (log in ``base_dir/sshd.log``) and stops it, and every connection it accepted, by PID
on exit. Nothing here touches ~/.ssh: tests give ssh ``-F`` with a config that ends with
``server.client_config_tail(known_hosts)``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.net import LOOPBACK, free_port, port_accepts
from tests.support.procs import descendants_of, pid_alive, stop_pid, stop_process

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
STARTUP_TIMEOUT = 10.0
PORT_ATTEMPTS = 5

# OpenSSH >= 9.8 penalises sources that connect without authenticating (port probes, failed
# logins); a test suite does that on purpose. Older sshd rejects the keyword, so it is probed.
_OPTIONAL_LINES = ("PerSourcePenalties no",)
_supported_optional: dict[str, bool] = {}


class SshdUnavailable(RuntimeError):
    """sshd cannot run here (missing program, no privileges for the requested login user)."""


def find_sshd() -> str | None:
    """The sshd binary (an absolute path: sshd refuses to re-exec itself otherwise)."""
    for candidate in SSHD_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("sshd")
    return os.path.abspath(found) if found else None


def unavailable_reason() -> str | None:
    """Why the throwaway sshd cannot run on this machine, or None when it can."""
    if find_sshd() is None:
        return "sshd not found (install openssh-server)"
    for tool in ("ssh-keygen", "ssh"):
        if shutil.which(tool) is None:
            return f"{tool} not found (install openssh-client)"
    return None


def current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _check_login_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        msg = f"no local account named {user!r}"
        raise SshdUnavailable(msg) from None
    if user != current_user() and os.geteuid() != 0:
        msg = f"logging in as {user!r} needs sshd to run as root"
        raise SshdUnavailable(msg)
    # With UsePAM no, sshd refuses accounts whose password field is locked ("!..."), even for
    # public-key logins. Debian's `useradd` creates new accounts locked.
    with contextlib.suppress(OSError):
        for line in Path("/etc/shadow").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name == user and rest.startswith("!"):
                msg = (
                    f"the account {user!r} is locked (password field starts with '!'), so sshd "
                    f"refuses it; unlock it for key logins with: usermod -p '*' {user}"
                )
                raise SshdUnavailable(msg)


def _keygen(path: Path, comment: str) -> None:
    for stale in (path, path.with_name(path.name + ".pub")):
        stale.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
        timeout=30,
    )
    path.chmod(0o600)


def _quote(path: Path | str, *, tokens: bool = False) -> str:
    """A double-quoted config value; refuses what would change its meaning (quotes, %TOKENS)."""
    text = str(path)
    bad = '"\n\r' if tokens else '"%\n\r'
    if any(ch in text for ch in bad) or not text.isprintable():
        msg = f"path not usable in an sshd/ssh config: {text!r}"
        raise ValueError(msg)
    return f'"{text}"'


def ensure_privsep_dir() -> None:
    """sshd running as root needs /run/sshd (a tmpfs, so gone after every boot)."""
    if os.geteuid() == 0 and not PRIVSEP_DIR.is_dir():
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)


@dataclass
class SshServer:
    """A running throwaway sshd. ``user`` may log in with ``client_key``."""

    base_dir: Path
    host: str
    port: int
    user: str
    client_key: Path
    host_key_public: str  # "ssh-ed25519 AAAA..." (no comment)
    config_path: Path
    log_path: Path
    pid: int
    _proc: subprocess.Popen[bytes] = field(repr=False)
    _extra_dirs: list[Path] = field(default_factory=list, repr=False)

    def known_hosts_line(self) -> str:
        return f"[{self.host}]:{self.port} {self.host_key_public}"

    def write_known_hosts(self, path: Path) -> Path:
        path.write_text(self.known_hosts_line() + "\n")
        return path

    def client_config_tail(self, known_hosts: Path, *, identity: bool = True) -> str:
        """A ``Host *`` block to put AFTER sshjup's section in a test's ssh config.

        It pins the host key, never prompts, and ignores the global known_hosts. With
        ``identity`` it also offers ``client_key`` (only that key: no agent, no ~/.ssh keys).
        """
        lines = [
            "Host *",
            f"    UserKnownHostsFile {_quote(known_hosts)}",
            "    StrictHostKeyChecking yes",
            "    BatchMode yes",
            "    GlobalKnownHostsFile /dev/null",
            "    ConnectTimeout 10",
        ]
        if identity:
            lines += [
                f"    IdentityFile {_quote(self.client_key)}",
                "    IdentitiesOnly yes",
                "    IdentityAgent none",
            ]
        return "\n".join(lines) + "\n"

    def host_block(
        self,
        alias: str,
        *,
        local_port: int,
        remote_port: int,
        control_dir: Path,
        remote_host: str = "localhost",
    ) -> str:
        """A Host block shaped like the one sshjup writes, pointing at this server."""
        return "\n".join(
            [
                f"Host {alias}",
                f"    HostName {self.host}",
                f"    Port {self.port}",
                f"    User {self.user}",
                f"    IdentityFile {_quote(self.client_key)}",
                f"    LocalForward 127.0.0.1:{local_port} {remote_host}:{remote_port}",
                "    ExitOnForwardFailure yes",
                "    SessionType none",
                "    ForkAfterAuthentication yes",
                "    ControlMaster auto",
                f"    ControlPath {_quote(f'{control_dir}/sshjup-{alias}', tokens=True)}",
                "    ControlPersist yes",
                "    ServerAliveInterval 15",
                "    ServerAliveCountMax 2",
                "",
            ]
        )

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def connection_pids(self) -> list[int]:
        """PIDs of the sshd processes serving connections right now."""
        return descendants_of(self.pid)

    def pause(self) -> None:
        """A server going down: stop the listener and every connection (by PID), keep files."""
        children = descendants_of(self.pid)
        stop_process(self._proc)
        for pid in children:
            stop_pid(pid)

    def resume(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """The server back on the same port, same host key, same config."""
        sshd = find_sshd()
        assert sshd is not None
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [sshd, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.pid = self._proc.pid
        state = _wait_until_listening(self._proc, self.log_path, self.port, timeout)
        assert state == "ready", self.log_text()

    def stop(self) -> None:
        """Stop the listener and every connection it accepted (by PID), then clean up."""
        children = descendants_of(self.pid)
        stop_process(self._proc)
        for pid in children:
            stop_pid(pid)
        for extra in self._extra_dirs:
            shutil.rmtree(extra, ignore_errors=True)
        self._extra_dirs.clear()


def _render_config(
    *,
    port: int,
    host_key: Path,
    pid_file: Path,
    authorized_keys: Path,
    user: str,
    optional: list[str],
) -> str:
    lines = [
        "# throwaway sshd for sshjup tests",
        f"ListenAddress {LOOPBACK}:{port}",
        f"Port {port}",
        f"HostKey {_quote(host_key)}",
        f"PidFile {_quote(pid_file)}",
        f"AuthorizedKeysFile {_quote(authorized_keys)}",
        "PubkeyAuthentication yes",
        "AuthenticationMethods publickey",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "AllowTcpForwarding yes",
        "PermitRootLogin prohibit-password",
        f"AllowUsers {user}",
        "X11Forwarding no",
        "PrintMotd no",
        # scp (SFTP protocol since OpenSSH 9.0), sftp and sshfs: in-process, no binary needed.
        "Subsystem sftp internal-sftp",
        "LogLevel VERBOSE",
        *optional,
    ]
    return "\n".join(lines) + "\n"


def _validate(sshd: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sshd, "-t", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def _write_valid_config(
    sshd: str,
    config: Path,
    *,
    port: int,
    host_key: Path,
    pid_file: Path,
    authorized_keys: Path,
    user: str,
    extra: tuple[str, ...] = (),
) -> None:
    optional = [line for line in _OPTIONAL_LINES if _supported_optional.get(line, True)]
    while True:
        text = _render_config(
            port=port,
            host_key=host_key,
            pid_file=pid_file,
            authorized_keys=authorized_keys,
            user=user,
            optional=optional,
        )
        config.write_text(text + "".join(line + "\n" for line in extra))
        result = _validate(sshd, config)
        if result.returncode == 0:
            for line in optional:
                _supported_optional[line] = True
            return
        unknown = [ln for ln in optional if ln.split()[0] in result.stderr]
        if not unknown:
            msg = f"sshd -t rejected {config}:\n{result.stderr.strip()}"
            raise RuntimeError(msg)
        for line in unknown:
            _supported_optional[line] = False
            optional.remove(line)


def _wait_until_listening(
    proc: subprocess.Popen[bytes], log_path: Path, port: int, timeout: float
) -> str:
    """'ready', 'port-busy' or 'failed'."""
    needle = f"Server listening on {LOOPBACK} port {port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        if proc.poll() is not None:
            busy = "Address already in use" in log or "Cannot bind any address" in log
            return "port-busy" if busy else "failed"
        if needle in log and port_accepts(LOOPBACK, port):
            return "ready"
        time.sleep(0.05)
    return "failed"


@contextlib.contextmanager
def start_sshd(
    base_dir: Path,
    *,
    login_user: str | None = None,
    startup_timeout: float = STARTUP_TIMEOUT,
    extra_config: tuple[str, ...] = (),
) -> Iterator[SshServer]:
    """Run a throwaway sshd for the ``with`` block; stop it (by PID) however the block ends.

    ``extra_config``: more sshd_config lines (``SetEnv SLURM_CONF=...``).
    """
    reason = unavailable_reason()
    if reason:
        raise SshdUnavailable(reason)
    sshd = find_sshd()
    assert sshd is not None
    user = login_user or current_user()
    _check_login_user(user)
    base_dir.mkdir(parents=True, exist_ok=True)
    ensure_privsep_dir()

    host_key = base_dir / "ssh_host_ed25519_key"
    client_key = base_dir / "client_ed25519"
    _keygen(host_key, "sshjup-test-host")
    _keygen(client_key, "sshjup-test-client")
    host_key_public = " ".join(Path(f"{host_key}.pub").read_text().split()[:2])
    client_public = Path(f"{client_key}.pub").read_text()

    extra_dirs: list[Path] = []
    if user == current_user():
        authorized_keys = base_dir / "authorized_keys"
    else:
        # sshd reads authorized_keys as the login user, who cannot enter a 0700 tmp_path.
        shared = Path(tempfile.mkdtemp(prefix="sjkeys"))
        shared.chmod(0o755)
        extra_dirs.append(shared)
        authorized_keys = shared / "authorized_keys"
    authorized_keys.write_text(client_public)
    authorized_keys.chmod(0o644)

    config = base_dir / "sshd_config"
    log_path = base_dir / "sshd.log"
    pid_file = base_dir / "sshd.pid"
    server: SshServer | None = None
    try:
        last_log = ""
        for _attempt in range(PORT_ATTEMPTS):
            port = free_port()
            _write_valid_config(
                sshd,
                config,
                port=port,
                host_key=host_key,
                pid_file=pid_file,
                authorized_keys=authorized_keys,
                user=user,
                extra=extra_config,
            )
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [sshd, "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            state = _wait_until_listening(proc, log_path, port, startup_timeout)
            if state == "ready":
                server = SshServer(
                    base_dir=base_dir,
                    host=LOOPBACK,
                    port=port,
                    user=user,
                    client_key=client_key,
                    host_key_public=host_key_public,
                    config_path=config,
                    log_path=log_path,
                    pid=proc.pid,
                    _proc=proc,
                    _extra_dirs=extra_dirs,
                )
                break
            stop_process(proc)
            last_log = log_path.read_text(errors="replace")
            if state != "port-busy":
                break
        if server is None:
            msg = f"sshd did not start on 127.0.0.1; its log:\n{last_log.strip()}"
            raise RuntimeError(msg)
        yield server
    finally:
        if server is not None:
            server.stop()
        for extra in extra_dirs:
            shutil.rmtree(extra, ignore_errors=True)


# --- the OpenSSH client, run safely from tests ---------------------------------------------

_MASTER_RE = re.compile(r"Master running \(pid=(\d+)\)")


def run_ssh(config: Path, *args: str, timeout: float = 30.0) -> tuple[int, str]:
    """``ssh -F config ARGS``; its exit code and stderr.

    stdout goes to /dev/null and stderr to a temp file: an ssh that forks into the background
    (ForkAfterAuthentication, ControlPersist) inherits both, so pipes would never close and
    ``subprocess.run(capture_output=True)`` would wait forever.
    """
    with tempfile.TemporaryFile() as err:
        result = subprocess.run(
            ["ssh", "-F", str(config), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            timeout=timeout,
            check=False,
        )
        err.seek(0)
        return result.returncode, err.read().decode("utf-8", errors="replace")


def master_pid(config: Path, alias: str) -> int | None:
    """The PID of the ControlMaster for ``alias`` (``ssh -O check``), or None."""
    code, err = run_ssh(config, "-O", "check", alias, timeout=15)
    match = _MASTER_RE.search(err)
    return int(match.group(1)) if code == 0 and match else None


def stop_master(config: Path, alias: str, timeout: float = 5.0) -> None:
    """Teardown: ``ssh -O exit``, and as a last resort stop the master by the PID ssh reported."""
    pid = master_pid(config, alias)
    if pid is None:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        run_ssh(config, "-O", "exit", alias, timeout=15)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        stop_pid(pid)


__all__ = [
    "SshServer",
    "SshdUnavailable",
    "current_user",
    "ensure_privsep_dir",
    "find_sshd",
    "master_pid",
    "run_ssh",
    "start_sshd",
    "stop_master",
    "unavailable_reason",
]
