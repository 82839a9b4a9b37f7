"""The one place that starts local processes (ssh, plink, puttygen).

Every call passes an argv list (never a shell string) built from validated values, with a
timeout. A missing program becomes ``ToolMissing`` with the package to install.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence

from sshjup.errors import SshjupError, ToolMissing
from sshjup.records import dataclass

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    import subprocess

_PACKAGES = {
    "ssh": "the OpenSSH client (Debian/Ubuntu: apt install openssh-client)",
    "plink": "PuTTY's command-line tools (Debian/Ubuntu: apt install putty-tools)",
    "puttygen": "PuTTY's command-line tools (Debian/Ubuntu: apt install putty-tools)",
}


@dataclass(frozen=True)
class Completed:
    """A finished process: what ``subprocess.CompletedProcess`` holds, its output as text."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def which(program: str) -> str | None:
    import shutil  # noqa: PLC0415 (imports bz2 and lzma: off the start-up path)

    return shutil.which(program)


def run(
    argv: Sequence[str],
    *,
    input_text: str | None = None,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    stdin_devnull: bool = True,
    keep_newlines: bool = False,
    quick: bool = False,
) -> Completed:
    """Run ``argv`` to completion and capture its output (text, undecodable bytes replaced).

    ``keep_newlines``: decode the output without universal-newline translation, so a ``\r``
    inside a value (``ssh -G`` prints quoted values raw) is not mistaken for a line break.
    ``quick``: a short run that starts nothing that outlives it (``ssh -G``, ``ssh -V``), so
    it may go through posix_spawn (see below).
    """
    if quick and input_text is None and stdin_devnull and env is None and _CAN_SPAWN:
        return _run_spawned(argv, timeout, keep_newlines=keep_newlines)
    import subprocess  # noqa: PLC0415 (commands that run nothing, like `list`, skip its import)

    full_env = None if env is None else {**os.environ, **env}
    try:
        if keep_newlines:
            raw = subprocess.run(
                list(argv),
                input=None if input_text is None else input_text.encode("utf-8"),
                stdin=None if input_text is not None or not stdin_devnull else subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                env=full_env,
                check=False,
            )
            return Completed(
                list(argv),
                raw.returncode,
                raw.stdout.decode("utf-8", "replace"),
                raw.stderr.decode("utf-8", "replace"),
            )
        done = subprocess.run(
            list(argv),
            input=input_text,
            stdin=None if input_text is not None or not stdin_devnull else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=full_env,
            check=False,
        )
        return Completed(list(argv), done.returncode, done.stdout, done.stderr)
    except FileNotFoundError as err:
        raise missing(argv[0]) from err
    except subprocess.TimeoutExpired as err:
        msg = f"`{argv[0]}` did not finish within {timeout:.0f} s"
        raise SshjupError(
            msg, hint="check the network and the remote host, then try again"
        ) from err


# A quick run with no input and the process's own environment (``ssh -G``, the check of
# every change, and ``ssh -V``) goes through posix_spawn: the same process with the same
# output, without importing subprocess (about 4 ms of `sshjup add`, with selectors, signal
# and threading). SIGPIPE and SIGXFSZ are reset in the child, as subprocess does. Unlike
# subprocess, posix_spawn closes no inherited descriptor in the child: Python opens every
# descriptor of its own non-inheritable, and a quick run ends before the caller does, so a
# descriptor sshjup itself inherited cannot be kept open by it. Anything that may outlive
# the call (a master, a session) runs through subprocess. POSIX only.
_CAN_SPAWN = hasattr(os, "posix_spawnp") and hasattr(os, "waitstatus_to_exitcode")
if _CAN_SPAWN:
    import _signal  # type: ignore[import-not-found]  # (the C module: no enums to build)

    _DEFAULT_IN_CHILD = tuple(
        getattr(_signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(_signal, name)
    )


def _run_spawned(argv: Sequence[str], timeout: float, *, keep_newlines: bool) -> Completed:
    """``run(argv)`` with stdin from /dev/null: stdout and stderr captured, decoded as
    subprocess decodes them (without ``keep_newlines``, ``\r\n`` and ``\r`` become ``\n``, as
    in its text mode)."""
    return _spawn(argv, timeout, keep_newlines=keep_newlines).wait()


class Started:
    """A quick run under way (:func:`start`): :meth:`wait` gives what :func:`run` gives;
    :meth:`stop` ends it unless it has ended and been reaped."""

    def __init__(self, argv: Sequence[str], timeout: float, *, keep_newlines: bool) -> None:
        self.argv = list(argv)
        self.timeout = timeout
        self.keep_newlines = keep_newlines
        self.pid = 0  # (while spawned and not reaped)
        self._fds: tuple[int, int] | None = None  # (stdout's and stderr's read ends, while open)
        self._deadline = 0.0
        self._outcome: Completed | None = None

    def wait(self) -> Completed:
        if self._outcome is None:
            if self._deadline:
                self._outcome = self._collect()
            else:  # (no posix_spawn here: it runs now)
                self._outcome = run(
                    self.argv, timeout=self.timeout, keep_newlines=self.keep_newlines
                )
        return self._outcome

    def _collect(self) -> Completed:
        import select  # noqa: PLC0415
        import time  # noqa: PLC0415

        if self._fds is None:
            msg = f"`{self.argv[0]}` was stopped before it was waited for"
            raise SshjupError(msg, hint="please report this as a bug")
        out_r, err_r = self._fds
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        poller = select.poll()
        for fd in chunks:
            poller.register(fd, select.POLLIN)
        open_fds = set(chunks)
        status = None
        try:
            while open_fds:
                left = self._deadline - time.monotonic()
                if left <= 0:
                    break
                for fd, _ in poller.poll(left * 1000):
                    data = os.read(fd, 65536)
                    if data:
                        chunks[fd].append(data)
                    else:
                        poller.unregister(fd)
                        open_fds.discard(fd)
            if not open_fds:
                _, status = os.waitpid(self.pid, 0)
                self.pid = 0
        finally:
            self.stop()  # (the time ran out, or an interrupt: it has not been reaped)
        if status is None:
            msg = f"`{self.argv[0]}` did not finish within {self.timeout:.0f} s"
            raise SshjupError(msg, hint="check the network and the remote host, then try again")
        stdout, stderr = (b"".join(chunks[fd]).decode("utf-8", "replace") for fd in (out_r, err_r))
        if not self.keep_newlines:
            stdout, stderr = (t.replace("\r\n", "\n").replace("\r", "\n") for t in (stdout, stderr))
        return Completed(self.argv, os.waitstatus_to_exitcode(status), stdout, stderr)

    def stop(self) -> None:
        """Kill and reap the process unless it has been reaped, and close its pipes (once)."""
        if self.pid:
            pid, self.pid = self.pid, 0
            _kill(pid)
        if self._fds is not None:
            fds, self._fds = self._fds, None
            for fd in fds:
                os.close(fd)


def start(argv: Sequence[str], *, timeout: float = 30.0, keep_newlines: bool = False) -> Started:
    """Start a quick run of ``argv`` (as ``run(argv, quick=True)``: no input, this process's
    environment) and return at once; :meth:`Started.wait` gives its outcome. Runs started
    together overlap, with each other and with this process's own work, without a thread
    (where posix_spawn exists; elsewhere each runs when it is waited for). Each run started
    is waited for or stopped, which reaps its process."""
    if _CAN_SPAWN:
        return _spawn(argv, timeout, keep_newlines=keep_newlines)
    return Started(argv, timeout, keep_newlines=keep_newlines)


def _spawn(argv: Sequence[str], timeout: float, *, keep_newlines: bool) -> Started:
    import time  # noqa: PLC0415

    running = Started(argv, timeout, keep_newlines=keep_newlines)
    out_r, out_w = os.pipe()  # (both ends close on exec: only the dup2'd copies reach ssh)
    err_r, err_w = os.pipe()
    try:
        running.pid = os.posix_spawnp(
            argv[0],
            list(argv),
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
            ],
            setsigdef=_DEFAULT_IN_CHILD,
        )
    except BaseException as err:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        if isinstance(err, FileNotFoundError):
            raise missing(argv[0]) from err
        raise
    os.close(out_w)
    os.close(err_w)
    running._fds = (out_r, err_r)
    running._deadline = time.monotonic() + timeout
    return running


def _kill(pid: int) -> None:
    """End the spawned process (SIGKILL) and reap it; it may have ended already."""
    import signal  # noqa: PLC0415 (only when a run is cut short)

    with contextlib.suppress(ProcessLookupError):  # (a zombie until reaped: the pid is its)
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def spawn(argv: Sequence[str], *, own_group: bool = True) -> subprocess.Popen[bytes]:
    """Start ``argv`` with pipes on its stdin and stdout (stderr inherited) and return it:
    for a process that lives as long as its owner (``sshjup kernel run``'s ssh session).

    The caller owns its end: it closes stdin (the child sees EOF), waits, and terminates
    it if need be. ``own_group``: a process group of its own (POSIX), so a signal the front
    end sends the owner's group does not reach it.
    """
    import subprocess  # noqa: PLC0415

    new_session = own_group and os.name == "posix"
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=new_session,
        )
    except FileNotFoundError as err:
        raise missing(argv[0]) from err


def missing(program: str) -> ToolMissing:
    what = _PACKAGES.get(os.path.basename(program), program)
    msg = f"`{program}` was not found on PATH"
    return ToolMissing(msg, hint=f"install {what}")


__all__ = ["Completed", "Started", "missing", "run", "spawn", "start", "which"]
