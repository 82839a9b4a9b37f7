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
    import _thread
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
        # A fed run's stdin (start_fed): its pipe's write end while input may still go, the
        # text not yet written (slices of texts), the bytes of the slice being written, and
        # whether the input is complete (stdin closes once all of it has gone).
        self._in: int | None = None
        self._queue: list[tuple[str, int, int]] = []
        self._buf = memoryview(b"")
        self._closing = False
        self._writer: _thread.LockType | None = None  # (held while the writer thread runs)

    def send(self, text: str, start: int = 0, end: int | None = None) -> None:
        """Give ``text[start:end]`` to a fed run's stdin (as UTF-8, surrogateescape: the
        bytes sshjup writes for that text), as much of it at once as the pipe takes; the rest
        goes with the next send, or after :meth:`end_input`. Nothing goes once the run has
        stopped reading (it exited: its outcome says why), nor after :meth:`end_input`."""
        if self._in is None or self._closing:
            return
        self._queue.append((text, start, len(text) if end is None else end))
        self._pump()

    def end_input(self) -> None:
        """No more input. What the pipe did not take yet is written by a thread of its own
        (a blocking write: the kernel lets it go on as the reader makes room), which then
        closes stdin; :meth:`wait` and :meth:`stop` wait for it."""
        if self._in is None or self._writer is not None:
            return
        self._closing = True
        self._pump()
        if self._in is None:  # (all of it went at once)
            return
        import _thread  # noqa: PLC0415 (threading costs `sshjup add` about 1 ms to import)

        done = _thread.allocate_lock()
        done.acquire()
        fd = self._in

        def write_rest() -> None:
            try:
                os.set_blocking(fd, True)
                self._pump()
            finally:
                done.release()

        self._writer = done
        _thread.start_new_thread(write_rest, ())

    def _pump(self) -> None:
        """Write to stdin what its pipe takes now (all of it, once the pipe blocks)."""
        while self._in is not None:
            if not self._buf:
                if not self._queue:
                    if self._closing:
                        self._close_input()
                    return
                text, start, end = self._queue[0]
                stop = min(end, start + _SEND_CHARS)  # (encoded a slice at a time)
                self._buf = memoryview(text[start:stop].encode("utf-8", "surrogateescape"))
                if stop == end:
                    del self._queue[0]
                else:
                    self._queue[0] = (text, stop, end)
            try:
                written = os.write(self._in, self._buf)
            except BlockingIOError:
                return
            except OSError:  # (EPIPE: the run has stopped reading)
                self._queue.clear()
                self._close_input()
                return
            self._buf = self._buf[written:]

    def _close_input(self) -> None:
        self._buf = memoryview(b"")
        if self._in is not None:
            fd, self._in = self._in, None
            os.close(fd)

    def _join_writer(self) -> None:
        if self._writer is not None:
            self._writer.acquire()  # (it ends: all written, or the reader is gone)
            self._writer.release()

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
        self.end_input()  # (a fed run: what is still to go is written beside this loop)
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
        self._join_writer()  # (after the kill: a write it is blocked in fails)
        self._writer = None
        self._queue.clear()
        self._close_input()
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


CAN_FEED = _CAN_SPAWN  # (start_fed is there)


def start_fed(
    argv: Sequence[str], *, timeout: float = 30.0, keep_newlines: bool = False
) -> Started:
    """:func:`start` with a pipe on the run's stdin: :meth:`Started.send` gives it its input
    as it is made, while it runs, and :meth:`Started.end_input` (or ``wait``) ends it. The
    pipe is made as large as the system lets this process make it (1 MiB on Linux), so the
    sender seldom has to wait for the reader. Where :data:`CAN_FEED` is true only."""
    return _spawn(argv, timeout, keep_newlines=keep_newlines, fed=True)


_SEND_CHARS = 1 << 16  # (a fed text is encoded this many characters at a time)
_PIPE_BYTES = 1 << 20  # (Linux's /proc/sys/fs/pipe-max-size unless raised)


def _spawn(
    argv: Sequence[str], timeout: float, *, keep_newlines: bool, fed: bool = False
) -> Started:
    import time  # noqa: PLC0415

    running = Started(argv, timeout, keep_newlines=keep_newlines)
    # (Every end closes on exec: only the dup2'd copies reach the child.)
    in_r, in_w = os.pipe() if fed else (-1, -1)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    stdin = (
        (os.POSIX_SPAWN_DUP2, in_r, 0)
        if fed
        else (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
    )
    try:
        running.pid = os.posix_spawnp(
            argv[0],
            list(argv),
            os.environ,
            file_actions=[
                stdin,
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
            ],
            setsigdef=_DEFAULT_IN_CHILD,
        )
    except BaseException as err:
        for fd in (out_r, out_w, err_r, err_w, in_r, in_w):
            if fd >= 0:
                os.close(fd)
        if isinstance(err, FileNotFoundError):
            raise missing(argv[0]) from err
        raise
    os.close(out_w)
    os.close(err_w)
    running._fds = (out_r, err_r)
    if fed:
        os.close(in_r)
        os.set_blocking(in_w, False)
        _grow_pipe(in_w)
        running._in = in_w
    running._deadline = time.monotonic() + timeout
    return running


def _grow_pipe(fd: int) -> None:
    import fcntl  # noqa: PLC0415 (POSIX-only module)

    grow = getattr(fcntl, "F_SETPIPE_SZ", None)  # (Linux; elsewhere the pipe is as it is)
    if grow is not None:
        with contextlib.suppress(OSError):  # (a lower limit: the pipe keeps its size)
            fcntl.fcntl(fd, grow, _PIPE_BYTES)


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


__all__ = [
    "CAN_FEED",
    "Completed",
    "Started",
    "missing",
    "run",
    "spawn",
    "start",
    "start_fed",
    "which",
]
