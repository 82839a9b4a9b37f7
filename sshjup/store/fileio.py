"""The one writer for every user file, and the lock that serialises sshjup runs.

Rules (design.md, "~/.ssh/config: the rules that make it safe"):

* resolve symlinks first, so a dotfiles symlink stays a symlink and its target is updated;
* write a temp file beside the real file, fsync it, give it the old mode (new files 0600),
  then ``os.replace`` it over the real file: a crash, a SIGKILL or a full disk leaves either the
  complete old file or the complete new one, never a mix;
* keep a backup of the previous bytes (``<name>.sshjup.bak``), written the same way;
* fsync the directory so the rename survives a power cut.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from sshjup.errors import LockTimeout, SshjupError

BACKUP_SUFFIX = ".sshjup.bak"
NEW_FILE_MODE = 0o600
NEW_DIR_MODE = 0o700


def real_path(path: Path) -> Path:
    """Follow symlinks (also dangling ones) to the file that should really be written."""
    return Path(os.path.realpath(path))


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or ``None`` when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        msg = f"cannot read {path}: {err.strerror}"
        raise SshjupError(msg, hint="check the file's permissions") from err


def ensure_dir(path: Path, mode: int = NEW_DIR_MODE) -> None:
    """Create a directory (and parents) with ``mode``; an existing one is left as it is."""
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as err:
        msg = f"cannot create the directory {path}: {err.strerror}"
        raise SshjupError(msg, hint="check the permissions of its parent directory") from err


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable. Best effort: it runs after the new file is already in place, so
    a failure here must not be reported as a failed (left-as-it-was) write."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# What tempfile.mkstemp opens with: a new file, never through a symlink, not inherited.
_TEMP_FLAGS = (
    os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
)


def _create_temp(real: Path) -> tuple[int, Path]:
    """A new 0600 file ``.<name>.<random>.sshjup-tmp`` beside ``real``, as tempfile.mkstemp
    makes it (without importing tempfile, random and shutil for every write)."""
    for _ in range(100):
        tmp = real.with_name(f".{real.name}.{os.urandom(6).hex()}.sshjup-tmp")
        try:
            return os.open(tmp, _TEMP_FLAGS, NEW_FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(real.parent))


_CHUNK = 1 << 20  # characters of a text encoded at a time


def _write_data(fh: BinaryIO, data: bytes | str) -> None:
    """Write bytes, or text as UTF-8 (surrogateescape: the bytes it was decoded from) one
    piece at a time, so that a large text is never held a second time as bytes."""
    if isinstance(data, bytes):
        fh.write(data)
        return
    for i in range(0, len(data), _CHUNK):  # (a code point is never split: str has no pairs)
        fh.write(data[i : i + _CHUNK].encode("utf-8", "surrogateescape"))


def _byte_length(data: bytes | str) -> int | None:
    """The encoded length, when it is known without encoding (bytes, or ASCII text)."""
    if isinstance(data, bytes):
        return len(data)
    return len(data) if data.isascii() else None


def _write_replace(
    real: Path, data: bytes | str, mode: int, before_replace: Callable[[Path], None] | None
) -> None:
    fd, tmp = _create_temp(real)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_data(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if before_replace is not None:
            before_replace(tmp)
        os.replace(tmp, real)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write(
    path: Path,
    data: bytes | str,
    *,
    backup: bool = True,
    new_mode: int = NEW_FILE_MODE,
    before_replace: Callable[[Path], None] | None = None,
    previous: bytes | str | None = None,
) -> Path:
    """Replace ``path``'s content with ``data`` atomically; returns the real path written.

    ``data`` is bytes, or text written as UTF-8 with surrogateescape (the ssh config's text as
    sshconfig decoded it), encoded piece by piece.

    ``previous``: the file's content as the caller read it under its lock (bytes, or text as
    above); the backup is made from it instead of reading the file again (unless its size
    shows it changed since).

    ``before_replace`` is called with the finished temp file before it is renamed into place:
    the ssh config writer runs ``ssh -G -F <temp>`` there, so the file is verified by OpenSSH
    before it exists under its real name. If it raises, nothing is changed.
    """
    real = real_path(path)
    ensure_dir(real.parent)
    try:
        st = real.stat()
    except FileNotFoundError:
        old: bytes | str | None = None
        mode = new_mode
    else:
        mode = stat.S_IMODE(st.st_mode)
        if not backup:
            old = None
        elif previous is not None and _byte_length(previous) == st.st_size:
            old = previous
        else:
            old = real.read_bytes()
    try:
        if old is not None:
            _write_replace(real.with_name(real.name + BACKUP_SUFFIX), old, mode, None)
        _write_replace(real, data, mode, before_replace)
        _fsync_dir(real.parent)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            msg = f"not enough disk space to write {real}; it was left as it was"
            raise SshjupError(msg, hint="free some space and run the command again") from err
        msg = f"cannot write {real}: {err.strerror}; it was left as it was"
        raise SshjupError(msg, hint="check the permissions of the file and its directory") from err
    return real


def remove_stale_temps(path: Path) -> None:
    """Remove temp files a killed sshjup left beside ``path``.

    Call it only while holding the lock for ``path``: then no other sshjup is writing there,
    so every ``.<name>.*.sshjup-tmp`` is a leftover of a run that was killed mid-write.
    """
    real = real_path(path)
    with contextlib.suppress(OSError):
        for leftover in real.parent.glob(f".{real.name}.*.sshjup-tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()


def delete_file(path: Path, *, backup: bool = True) -> None:
    """Remove a file sshjup owns, keeping a backup of its last content."""
    real = real_path(path)
    old = read_bytes(real)
    if old is None:
        return
    if backup:
        mode = stat.S_IMODE(real.stat().st_mode)
        _write_replace(real.with_name(real.name + BACKUP_SUFFIX), old, mode, None)
    real.unlink()
    _fsync_dir(real.parent)


@contextlib.contextmanager
def file_lock(lock_path: Path, *, timeout: float = 30.0) -> Iterator[None]:
    """An exclusive advisory lock on ``lock_path`` (created 0600), waiting up to ``timeout``.

    Two sshjup runs at once then take turns: the second one reads what the first wrote.
    """
    ensure_dir(lock_path.parent)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, NEW_FILE_MODE)
    try:
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() > deadline:
                msg = f"another sshjup run has held {lock_path} for over {timeout:.0f} s"
                raise LockTimeout(msg, hint="wait for it to finish, then run the command again")
            time.sleep(0.02)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt  # noqa: PLC0415 (Windows-only module)

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            return False
        return True
    import fcntl  # noqa: PLC0415 (POSIX-only module)

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt  # noqa: PLC0415 (Windows-only module)

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        return
    import fcntl  # noqa: PLC0415 (POSIX-only module)

    fcntl.flock(fd, fcntl.LOCK_UN)


__all__ = [
    "BACKUP_SUFFIX",
    "atomic_write",
    "delete_file",
    "ensure_dir",
    "file_lock",
    "read_bytes",
    "real_path",
    "remove_stale_temps",
]
