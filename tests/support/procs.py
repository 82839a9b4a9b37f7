"""Stopping test processes by their PID (never by name), and finding a process's children."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

_PROC = Path("/proc")


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # The state letter follows the command name in parentheses, which may contain spaces.
    return stat.rpartition(")")[2].split()[0] != "Z"


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc; an empty list elsewhere)."""
    found: list[int] = []
    if not _PROC.is_dir():
        return found
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def descendants_of(pid: int) -> list[int]:
    """Every descendant of ``pid``, parents before children."""
    result: list[int] = []
    todo = [pid]
    while todo:
        kids = children_of(todo.pop())
        result.extend(kids)
        todo.extend(kids)
    return result


def stop_pid(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` s, then SIGKILL. Quiet if it is already gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.05)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Stop a child started with Popen: terminate, wait, kill, wait (so no zombie is left)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=timeout)


__all__ = ["children_of", "descendants_of", "pid_alive", "stop_pid", "stop_process"]


class PtyOutput:
    """What a process on a pseudo-terminal printed so far (``jupyter console``), read from
    the pty's master end with a bound."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.seen = b""

    def read_until(self, needle: bytes, timeout: float) -> bool:
        """Read until ``needle`` was printed (True) or ``timeout`` seconds passed (False)."""
        import select

        deadline = time.monotonic() + timeout
        while needle not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:
                    break
        return needle in self.seen

    def text(self) -> str:
        return self.seen.decode(errors="replace")
