"""Ask the installed OpenSSH client: its version (what it can parse) and ``ssh -G`` (the oracle).

``ssh -G -F FILE ALIAS`` prints the fully evaluated options without connecting. It exits 0 for
an alias that is not configured at all, and 255 on a syntax error anywhere in the file, so
callers compare values, never just the exit code. Note that it runs ``Match exec`` commands.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

from sshjup import proc
from sshjup.records import dataclass, field
from sshjup.ssh.sshconfig import Capabilities
from sshjup.store import paths

_VERSION_RE = re.compile(r"OpenSSH_for_Windows_(\d+)\.(\d+)|OpenSSH_(\d+)\.(\d+)")
SSH_G_TIMEOUT = 20.0


@functools.lru_cache(maxsize=1)
def capabilities() -> Capabilities:
    """What the local ssh supports; conservative when the version cannot be read.

    ``ssh -V`` runs once per ssh binary: its answer is kept in the app dir
    (``ssh-version.cache``), keyed by the binary's path, inode, size and modification time, so
    an upgraded or replaced ssh is asked again. The cache is written only into an app dir that
    exists already (a dry run creates nothing).
    """
    key = _binary_key()
    text = _cached_version(key) if key else None
    if text is None:
        result = proc.run(["ssh", "-V"], timeout=10.0, quick=True)
        text = (result.stderr or "") + (result.stdout or "")
        if key:
            _save_version(key, text)
    return capabilities_from_version(text, windows=sys.platform == "win32")


VERSION_CACHE = "ssh-version.cache"


def _binary_key() -> str | None:
    """``path inode size mtime_ns`` of the ``ssh`` that PATH finds (as execvp would), or None."""
    if sys.platform == "win32":
        return None  # (PATHEXT, App Execution Aliases: ask ssh -V every time)
    import os  # noqa: PLC0415

    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = Path(directory or ".", "ssh")
        try:
            st = candidate.stat()
        except OSError:
            continue
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return f"{candidate.absolute()}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}"
    return None


def _cached_version(key: str) -> str | None:
    from sshjup.store import fileio  # noqa: PLC0415

    data = fileio.read_bytes(paths.app_dir() / VERSION_CACHE)
    if data is None:
        return None
    cached_key, sep, text = data.decode("utf-8", "replace").partition("\n")
    return text if sep and cached_key == key else None


def _save_version(key: str, text: str) -> None:
    """Best effort: a cache that cannot be written only costs the next run an ``ssh -V``."""
    from sshjup.errors import SshjupError  # noqa: PLC0415
    from sshjup.store import fileio  # noqa: PLC0415

    app = paths.app_dir()
    if not app.is_dir():
        return
    import contextlib  # noqa: PLC0415

    with contextlib.suppress(SshjupError):
        fileio.atomic_write(
            app / VERSION_CACHE, f"{key}\n{text}".encode("utf-8", "replace"), backup=False
        )


def capabilities_from_version(text: str, *, windows: bool) -> Capabilities:
    """Pure: SessionType and ForkAfterAuthentication need 8.7; Windows has no fork, no mux."""
    m = _VERSION_RE.search(text)
    if m is None:
        return Capabilities(False, False, not windows, text.strip())
    major, minor = (
        (int(m.group(1)), int(m.group(2)))
        if m.group(1)
        else (
            int(m.group(3)),
            int(m.group(4)),
        )
    )
    modern = (major, minor) >= (8, 7)
    is_windows = windows or m.group(1) is not None
    return Capabilities(
        session_type=modern,
        fork_after_authentication=modern and not is_windows,
        control_master=not is_windows,
        version=f"{major}.{minor}",
    )


def base_argv(ssh_config: Path) -> list[str]:
    """``ssh``, plus ``-F FILE`` unless FILE is the one ssh reads by default."""
    if paths.is_default_ssh_config(ssh_config):
        return ["ssh"]
    return ["ssh", "-F", str(ssh_config)]


@dataclass(frozen=True)
class Resolved:
    """What ``ssh -G`` printed: single values and the lists that accumulate."""

    ok: bool
    error: str
    values: dict[str, str] = field(default_factory=dict)
    local_forwards: tuple[str, ...] = ()
    identity_files: tuple[str, ...] = ()

    def get(self, key: str) -> str | None:
        return self.values.get(key)


def resolve(config_file: Path, alias: str, *, use_default: bool = False) -> Resolved:
    """Run ``ssh -G`` for ``alias`` on ``config_file`` (with ``-F`` unless ``use_default``)."""
    argv = _g_argv(config_file, alias, use_default=use_default)
    return resolved(proc.run(argv, timeout=SSH_G_TIMEOUT, keep_newlines=True, quick=True))


def start_resolve(config_file: Path, alias: str) -> proc.Started:
    """``resolve(config_file, alias)`` started: give its :meth:`~proc.Started.wait` to
    :func:`resolved`. Several overlap (each reads the whole file)."""
    argv = _g_argv(config_file, alias, use_default=False)
    return proc.start(argv, timeout=SSH_G_TIMEOUT, keep_newlines=True)


# ``ssh -G -F /dev/stdin``: the file's text through a pipe. ssh reads its -F file once, line
# by line, unless a Match, an Include or CanonicalizeHostname makes it read a file again or read
# others (sshconfig.read_once says whether a text may have them).
FED_CONFIG = "/dev/stdin"


def can_feed() -> bool:
    """Whether ``ssh -G`` can read the file's text from a pipe here (:class:`FedResolve`)."""
    return proc.CAN_FEED and _has_dev_stdin()


@functools.lru_cache(maxsize=1)
def _has_dev_stdin() -> bool:
    return Path("/dev/fd").is_dir()  # (/dev/stdin is its fd 0; on Linux, when /proc is there)


class FedResolve:
    """``resolve(FILE, alias)`` started before FILE's text is whole: ssh reads the text from
    its stdin as it is given (:meth:`send`, in order), so it parses the file while sshjup
    makes the rest of it. :meth:`finish` takes the whole text, checks that what was sent is
    its beginning, and sends the rest: ssh then reads exactly the text of FILE. Only for a
    text ssh reads once (``sshconfig.read_once``) and where :func:`can_feed`."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        argv = _g_argv(Path(FED_CONFIG), alias, use_default=False)
        self.run: proc.Started | None = proc.start_fed(
            argv, timeout=SSH_G_TIMEOUT, keep_newlines=True
        )
        self._sent: list[tuple[str, int, int]] = []

    def send(self, text: str, start: int = 0, end: int | None = None) -> None:
        """The next part of the text: ``text[start:end]``."""
        if self.run is not None:
            piece = (text, start, len(text) if end is None else end)
            self._sent.append(piece)
            self.run.send(*piece)

    def finish(self, whole: str) -> proc.Started | None:
        """The run, once given the rest of ``whole``; None (and stopped) when what was sent
        is not the beginning of ``whole`` (check it with the file itself then)."""
        run, self.run = self.run, None
        if run is None:
            return None
        at = 0
        for text, start, end in self._sent:
            if not _same_text(whole, at, text, start, end):
                run.stop()
                return None
            at += end - start
        self._sent.clear()
        run.send(whole, at)
        run.end_input()
        return run

    def stop(self) -> None:
        """End the run unless :meth:`finish` handed it on."""
        run, self.run = self.run, None
        if run is not None:
            run.stop()


def _same_text(whole: str, at: int, text: str, start: int, end: int) -> bool:
    """``whole[at:at + end - start] == text[start:end]``, copying no more than a piece."""
    if start == 0 and end == len(text):
        return whole.startswith(text, at)
    step = 1 << 16
    for i in range(start, end, step):
        j = min(i + step, end)
        if not whole.startswith(text[i:j], at + i - start):
            return False
    return True


def _g_argv(config_file: Path, alias: str, *, use_default: bool) -> list[str]:
    head = ["ssh"] if use_default else ["ssh", "-F", str(config_file)]
    return [*head, "-G", "--", alias]


def resolved(result: proc.Completed) -> Resolved:
    """What a finished ``ssh -G`` run says."""
    if result.returncode != 0:
        return Resolved(False, _error_lines(result.stderr))
    return parse_g_output(result.stdout)


def parse_g_output(text: str) -> Resolved:
    values: dict[str, str] = {}
    forwards: list[str] = []
    identities: list[str] = []
    # Only "\n" ends a line: a quoted value may hold "\r", U+2028 or NEL, and must stay whole
    # (and then be refused by the validators) rather than become a line of its own.
    for line in text.split("\n"):
        key, _, value = line.partition(" ")
        if key == "localforward":
            forwards.append(value)
        elif key == "identityfile":
            identities.append(value)
        else:
            values.setdefault(key, value)
    return Resolved(True, "", values, tuple(forwards), tuple(identities))


def _error_lines(stderr: str) -> str:
    lines = [
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith("Pseudo-terminal will not be allocated")
    ]
    return "; ".join(lines[:3]) or "ssh -G failed without a message"


def expected_forward(
    bind: str, local_port: int, host: str, remote_port: int, socket: str | None = None
) -> str:
    """How ``ssh -G`` prints ``LocalForward bind:lport host:rport`` (or ``bind:lport /socket``)."""
    if socket is not None:
        return f"[{bind}]:{local_port} {socket}"
    return f"[{bind}]:{local_port} [{host}]:{remote_port}"


__all__ = [
    "FED_CONFIG",
    "FedResolve",
    "Resolved",
    "base_argv",
    "can_feed",
    "capabilities",
    "capabilities_from_version",
    "expected_forward",
    "parse_g_output",
    "resolve",
    "resolved",
    "start_resolve",
]
