"""The one writer for every user file, and the lock that serialises sshjup runs.

Rules (design.md, "~/.ssh/config: the rules that make it safe"):

* resolve symlinks first, so a dotfiles symlink stays a symlink and its target is updated;
* write a temp file beside the real file, fsync it, give it the old mode (new files 0600),
  then ``os.replace`` it over the real file: a crash, a SIGKILL or a full disk leaves either the
  complete old file or the complete new one, never a mix;
* keep a backup of the previous bytes (``<name>.sshjup.bak``), written the same way;
* fsync the directory so the rename survives a power cut;
* only regular files: a device, FIFO, socket or directory (also behind a symlink) is refused
  before any lock, backup or temp file is made beside it, and every read is bounded in size;
* never lose another program's edit: :func:`read_snapshot` records size, mtime, inode and a
  digest, and :func:`atomic_write` checks them just before the rename (``expect=``);
* keep the owner, group and extended attributes (``user.*``, ACLs, SELinux labels) of the file
  it replaces; a file root creates in a user's directory belongs to that user;
* a file that cannot be renamed over (a bind mount: EBUSY) is rewritten in place, under the
  lock, with fsync; an immutable file (EPERM) gets its own message.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sshjup.errors import ConcurrentEdit, LockTimeout, NotARegularFile, SshjupError

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import BinaryIO

BACKUP_SUFFIX = ".sshjup.bak"
NEW_FILE_MODE = 0o600
NEW_DIR_MODE = 0o700

# Read limits: far above any real file of the kind, far below what exhausts memory.
MAX_CONFIG_BYTES = 256 * 1024 * 1024  # an ssh config (50 MB ones are handled)
MAX_FILE_BYTES = 64 * 1024 * 1024  # inventory, known_hosts, state
MAX_SMALL_FILE_BYTES = 1024 * 1024  # a key, a .ppk, a PuTTY session (Default Settings)

_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def real_path(path: Path) -> Path:
    """Follow symlinks (also dangling ones) to the file that should really be written."""
    return Path(os.path.realpath(path))


def _not_regular(path: Path, st_mode: int) -> NotARegularFile:
    kind = _KINDS.get(stat.S_IFMT(st_mode), "not a regular file")
    real = real_path(path)
    through = f" (through the symlink {path})" if real != Path(path).absolute() else ""
    msg = f"{real}{through} is {kind}, not a regular file; sshjup reads and writes regular files"
    return NotARegularFile(msg, hint="give the path of a regular file (or of one to be created)")


def check_regular(path: Path, limit: int | None = None) -> None:
    """Refuse ``path`` (after following symlinks) unless it is a regular file or missing,
    and no larger than ``limit`` when one is given."""
    try:
        st = Path(path).stat()
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as err:
        raise _read_error(path, err) from err
    except ValueError as err:  # an embedded NUL
        raise _bad_path(path) from err
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)
    if limit is not None and st.st_size > limit:
        raise _too_large(path, limit)


def _bad_path(path: object) -> NotARegularFile:
    return NotARegularFile(
        f"the path {path!r} cannot be used on this system (NUL byte or an unencodable character)",
        hint="give the path as the file system spells it",
    )


def _read_error(path: Path, err: OSError) -> SshjupError:
    msg = f"cannot read {path}: {err.strerror or err}"
    return SshjupError(msg, hint="check the file's permissions")


class Snapshot:
    """A file's bytes and what identifies that version: size, mtime_ns, inode, digest.

    ``data`` is the bytes read, or (after :meth:`to_text`) the text they decode to: a caller
    that decodes a large file keeps one copy of it, not two.
    """

    __slots__ = ("data", "dev", "ino", "mtime_ns", "size")

    def __init__(self, data: bytes, st: os.stat_result) -> None:
        self.data: bytes | str = data
        self.size = st.st_size
        self.mtime_ns = st.st_mtime_ns
        self.ino = st.st_ino
        self.dev = st.st_dev

    def same_stat(self, st: os.stat_result) -> bool:
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev) == (
            self.size,
            self.mtime_ns,
            self.ino,
            self.dev,
        )

    def to_text(self) -> str:
        """The content as text (UTF-8 with surrogateescape: lossless, it encodes back to the
        same bytes and digest), held from now on instead of the bytes."""
        if isinstance(self.data, bytes):
            self.data = self.data.decode("utf-8", "surrogateescape")
        return self.data

    @property
    def digest(self) -> bytes:
        from sshjup.store.digest import sha256  # noqa: PLC0415

        h = sha256()
        for piece in _pieces(self.data):
            h.update(piece)
        return h.digest()


def read_snapshot(path: Path, limit: int = MAX_FILE_BYTES) -> Snapshot | None:
    """The file's bytes and identity, or ``None`` when it does not exist.

    Opened non-blocking (a FIFO never hangs), checked to be a regular file after following
    symlinks, and read up to ``limit`` bytes (more is refused, so /dev/zero cannot fill memory).
    """
    found = _read(path, limit)
    return None if found is None else Snapshot(*found)


def _read(path: Path, limit: int) -> tuple[bytes, os.stat_result] | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError as err:  # (Windows)
        raise _not_regular(path, stat.S_IFDIR) from err
    except OSError as err:
        check_regular(path)  # a socket gives ENXIO: say what it is
        raise _read_error(path, err) from err
    except (ValueError, UnicodeEncodeError) as err:
        raise _bad_path(path) from err
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        if st.st_size > limit:
            raise _too_large(path, limit)
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, max(st.st_size - total, 0) + 65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _too_large(path, limit)
        data = b"".join(chunks)
    except OSError as err:
        raise _read_error(path, err) from err
    finally:
        os.close(fd)
    return data, st


def _too_large(path: Path, limit: int) -> NotARegularFile:
    msg = f"{path} is larger than {limit // (1024 * 1024)} MiB, too large for this kind of file"
    return NotARegularFile(msg, hint="check that the path names the right file")


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """The file's bytes, or ``None`` when it does not exist (see :func:`read_snapshot`)."""
    found = _read(path, limit)
    return None if found is None else found[0]


def ensure_dir(path: Path, mode: int = NEW_DIR_MODE) -> None:
    """Create a directory (and parents) with ``mode``; an existing one is left as it is.

    Run as root inside a user's directory (``sudo -E``), the new directories belong to the
    owner of the nearest existing parent, so the user can still write there afterwards.
    """
    if path.is_dir():
        return
    missing = []
    parent = path
    while not parent.exists() and parent.parent != parent:
        missing.append(parent)
        parent = parent.parent
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as err:
        msg = f"cannot create the directory {path}: {err.strerror}"
        raise SshjupError(msg, hint="check the permissions of its parent directory") from err
    if _is_root():
        with contextlib.suppress(OSError):
            owner = parent.stat()
            for created in missing:
                _chown_like(str(created), owner)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _chown_like(target: int | str, like: os.stat_result) -> None:
    """Give ``target`` (fd or path) the owner and group of ``like`` (root only; best effort)."""
    if not hasattr(os, "chown"):  # pragma: no cover - Windows
        return
    with contextlib.suppress(OSError):
        if isinstance(target, int):
            os.fchown(target, like.st_uid, like.st_gid)
        else:
            os.chown(target, like.st_uid, like.st_gid)


def _copy_xattrs(src: Path, dst_fd: int) -> None:
    """Copy extended attributes (user.*, ACLs, SELinux labels) as far as allowed."""
    if not hasattr(os, "listxattr"):  # pragma: no cover - not Linux
        return
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.setxattr(dst_fd, name, os.getxattr(src, name))


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


_CHUNK = 1 << 16  # characters of a text encoded at a time (a piece is up to 4x as many bytes)


def _pieces(data: bytes | str) -> Iterator[bytes]:
    """Bytes as they are, or text as UTF-8 (surrogateescape: the bytes it was decoded from)
    one piece at a time, so that a large text is never held a second time as bytes."""
    if not isinstance(data, str):
        yield data
        return
    for i in range(0, len(data), _CHUNK):  # (a code point is never split: str has no pairs)
        yield data[i : i + _CHUNK].encode("utf-8", "surrogateescape")


def _byte_length(data: bytes | str) -> int:
    """The length of ``data`` as written (see :func:`_pieces`)."""
    if not isinstance(data, str):
        return len(data)
    if data.isascii():
        return len(data)
    return sum(len(piece) for piece in _pieces(data))


def _write_replace(
    real: Path,
    data: bytes | str,
    mode: int,
    before_replace: Callable[[Path], None] | None,
    like: tuple[Path, os.stat_result] | None = None,
    check: Callable[[], None] | None = None,
    while_syncing: Callable[[Path], None] | None = None,
) -> None:
    """Write ``data`` to a temp file beside ``real`` and rename it over ``real``.

    ``like``: the file replaced and its stat (its owner, group and xattrs are kept); ``check``
    runs last, just before the rename (the concurrent-edit check). ``while_syncing`` runs
    with the finished temp file while its fsync is under way (``ssh -G`` reads it from the
    page cache); the fsync has ended, and succeeded, before ``before_replace`` runs.
    """
    fd, tmp = _create_temp(real)
    try:
        with os.fdopen(fd, "wb") as fh:
            _fill(fh, real, data, like)
            if while_syncing is None:
                os.fsync(fh.fileno())
                os.chmod(tmp, mode)
            else:
                synced = _fsync_in_background(fh.fileno())
                try:
                    os.chmod(tmp, mode)
                    while_syncing(tmp)
                finally:
                    synced()  # (raises the fsync's error: nothing is renamed then)
        if before_replace is not None:
            before_replace(tmp)
        if check is not None:
            check()
        _commit(tmp, real, data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fill(
    fh: BinaryIO, real: Path, data: bytes | str, like: tuple[Path, os.stat_result] | None
) -> None:
    """The temp file's content, owner, group and xattrs (not yet synced)."""
    for piece in _pieces(data):
        fh.write(piece)
    fh.flush()
    if like is not None:
        like_path, like_st = like
        if (like_st.st_uid, like_st.st_gid) != (_euid(), _egid()):
            _chown_like(fh.fileno(), like_st)
        _copy_xattrs(like_path, fh.fileno())
    elif _is_root():
        with contextlib.suppress(OSError):
            _chown_like(fh.fileno(), real.parent.stat())


def _commit(tmp: Path, real: Path, data: bytes | str) -> None:
    try:
        os.replace(tmp, real)
    except OSError as err:
        if err.errno != errno.EBUSY:
            raise
        _write_in_place(real, data)  # a bind-mounted file cannot be renamed over


def _prepare_in_background(
    real: Path, data: bytes | str, mode: int, like: tuple[Path, os.stat_result]
) -> Callable[[], Path]:
    """Write ``data`` to a synced temp file beside ``real`` in a thread (for a backup, while
    ``ssh -G`` checks the new file); the function returned waits and gives the temp file, or
    raises the thread's error (its temp file removed)."""
    made: list[Path] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fd, tmp = _create_temp(real)
            made.append(tmp)
            with os.fdopen(fd, "wb") as fh:
                _fill(fh, real, data, like)
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
        except BaseException as err:  # (handed to the waiting thread)
            errors.append(err)

    join = in_thread(run)

    def wait() -> Path:
        join()
        if errors:
            for tmp in made:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            raise errors[0]
        return made[0]

    return wait


def _fsync_in_background(fd: int) -> Callable[[], None]:
    """Start ``os.fsync(fd)`` in a thread (it waits for the disk, not for the GIL); the
    function returned waits for it and raises its error."""
    errors: list[OSError] = []

    def run() -> None:
        try:
            os.fsync(fd)
        except OSError as err:
            errors.append(err)

    join = in_thread(run)

    def wait() -> None:
        join()
        if errors:
            raise errors[0]

    return wait


def in_thread(work: Callable[[], None]) -> Callable[[], None]:
    """Run ``work`` (which catches its own errors) in a thread of its own; the function
    returned waits for it. A bare ``_thread``: ``threading`` costs `sshjup add` about 1 ms to
    import, for waits that need only a lock."""
    import _thread  # noqa: PLC0415

    done = _thread.allocate_lock()
    done.acquire()

    def run() -> None:
        try:
            work()
        finally:
            done.release()

    _thread.start_new_thread(run, ())

    def join() -> None:
        done.acquire()
        done.release()

    return join


def _euid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else -1


def _egid() -> int:
    return os.getegid() if hasattr(os, "getegid") else -1


def _write_in_place(real: Path, data: bytes | str) -> None:
    """Rewrite ``real`` through its own inode (the caller holds the lock): not atomic against
    a crash, so the backup written before it is what to restore if the machine dies mid-way."""
    fd = os.open(real, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        total = 0
        for piece in _pieces(data):
            view = memoryview(piece)
            total += len(view)
            while view:
                view = view[os.write(fd, view) :]
        os.ftruncate(fd, total)
        os.fsync(fd)
    finally:
        os.close(fd)


class _Absent:
    """``expect=ABSENT``: the caller found no file; one appearing meanwhile is an edit too."""


ABSENT = _Absent()


def atomic_write(
    path: Path,
    data: bytes | str,
    *,
    backup: bool = True,
    new_mode: int = NEW_FILE_MODE,
    before_replace: Callable[[Path], None] | None = None,
    previous: bytes | str | None = None,
    expect: Snapshot | _Absent | None = None,
    while_syncing: Callable[[Path], None] | None = None,
) -> Path:
    """Replace ``path``'s content with ``data`` atomically; returns the real path written.

    ``data`` (and ``previous``) are bytes, or text written as UTF-8 with surrogateescape (the
    ssh config's text as sshconfig decoded it), encoded piece by piece as it is written: a
    large text is never held a second time as bytes.

    ``previous``: the file's bytes as the caller read them under its lock; the backup is made
    from them instead of reading the file again (unless its size shows it changed since).

    ``expect``: the :class:`Snapshot` the caller read (:data:`ABSENT`: it did not exist). Just
    before the rename (after ``before_replace``) the file is checked against it; when another
    program changed it meanwhile, :class:`ConcurrentEdit` is raised and nothing is written. The
    backup then holds exactly the bytes replaced.

    ``before_replace`` is called with the finished temp file before it is renamed into place:
    the ssh config writer runs ``ssh -G -F <temp>`` there, so the file is verified by OpenSSH
    before it exists under its real name. If it raises, nothing is changed. ``while_syncing``
    is the same, but runs while the temp file's fsync is under way (it must only read the
    file: ``ssh -G`` does); it is called first, and ``before_replace`` once the fsync is done.
    """
    real = real_path(path)
    check_regular(real)
    ensure_dir(real.parent)
    try:
        st: os.stat_result | None = real.stat()
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise _read_error(real, err) from err
    if isinstance(expect, Snapshot):
        previous = expect.data
    mode = new_mode if st is None else stat.S_IMODE(st.st_mode)

    backup_path = real.with_name(real.name + BACKUP_SUFFIX)
    # While ssh -G checks the new file (while_syncing), the backup of the bytes it replaces
    # is written and synced beside it; it is renamed into place at the last moment, as always.
    early: list[Path] = []
    pending: Callable[[], Path] | None = None
    if (
        while_syncing is not None
        and backup
        and st is not None
        and previous is not None
        and _byte_length(previous) == st.st_size
    ):
        pending = _prepare_in_background(backup_path, previous, mode, (real, st))
        checks = while_syncing

        def while_syncing(tmp: Path) -> None:
            try:
                checks(tmp)
            finally:
                early.append(waited())  # (its error, if any, before anything is renamed)

    waits: list[bool] = []

    def waited() -> Path:
        assert pending is not None  # noqa: S101
        waits.append(True)
        return pending()

    def last_moment() -> None:
        if expect is not None:
            check_unchanged(real, expect if isinstance(expect, Snapshot) else None)
        if backup and st is not None:
            old: bytes | str | None = previous
            if early:
                _commit(early[0], backup_path, previous or b"")
            elif old is None or _byte_length(old) != st.st_size:
                old = read_bytes(real, max(st.st_size, MAX_CONFIG_BYTES))
            if old is not None and not early:
                _write_replace(backup_path, old, mode, None, (real, st))
            if old is not None and expect is not None:  # (the backup took a moment: look again)
                check_unchanged(real, expect if isinstance(expect, Snapshot) else None)

    try:
        like = None if st is None else (real, st)
        _write_replace(real, data, mode, before_replace, like, last_moment, while_syncing)
        _fsync_dir(real.parent)
    except OSError as err:
        raise _write_error(real, err) from err
    finally:
        if pending is not None and not waits:  # (the new file failed before it was checked)
            with contextlib.suppress(Exception):  # (the error that got here is the one to see)
                early.append(waited())
        for tmp in early:  # (not renamed: the write did not happen)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return real


def check_unchanged(real: Path, expect: Snapshot | None) -> None:
    """Raise :class:`ConcurrentEdit` when ``real`` is no longer the version ``expect`` read."""
    try:
        st = real.stat()
    except FileNotFoundError:
        if expect is None:
            return
        msg = f"{real} was deleted by another program while sshjup was working; it was not written"
        raise ConcurrentEdit(msg, hint="run the command again") from None
    if expect is not None and expect.same_stat(st):
        return
    if expect is not None and st.st_size == expect.size:
        now = read_snapshot(real, max(st.st_size, 1) + 1)
        if now is not None and now.digest == expect.digest:
            return  # touched (or rewritten with the same bytes): nothing would be lost
    what = "created" if expect is None else "changed"
    msg = (
        f"{real} was {what} by another program (an editor, a sync tool, a `Match exec` command?) "
        "while sshjup was working; sshjup did not overwrite it, so that edit is kept"
    )
    raise ConcurrentEdit(msg, hint="run the command again: it starts from the file as it is now")


def _write_error(real: Path, err: OSError) -> SshjupError:
    if err.errno == errno.ENOSPC:
        msg = f"not enough disk space to write {real}; it was left as it was"
        return SshjupError(msg, hint="free some space and run the command again")
    if err.errno == errno.EPERM:
        msg = f"{real} cannot be replaced: it (or its directory) is immutable or append-only"
        hint = "check with `lsattr`; remove the flag with `chattr -i` (as root) if it is yours"
        return SshjupError(msg, hint=hint)
    if err.errno == errno.EBUSY:
        msg = f"{real} is busy (a bind mount?) and could not be rewritten in place either"
        return SshjupError(msg, hint="write to the file the mount comes from, or unmount it")
    msg = f"cannot write {real}: {err.strerror}; it was left as it was"
    return SshjupError(msg, hint="check the permissions of the file and its directory")


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
    snap = read_snapshot(real, MAX_CONFIG_BYTES)
    if snap is None:
        return
    try:
        if backup:
            st = real.stat()
            backup_path = real.with_name(real.name + BACKUP_SUFFIX)
            _write_replace(backup_path, snap.data, stat.S_IMODE(st.st_mode), None, (real, st))
        real.unlink()
    except OSError as err:
        raise _write_error(real, err) from err
    _fsync_dir(real.parent)


@contextlib.contextmanager
def file_lock(lock_path: Path, *, timeout: float = 30.0) -> Iterator[None]:
    """An exclusive advisory lock on ``lock_path`` (created 0600), waiting up to ``timeout``.

    Two sshjup runs at once then take turns: the second one reads what the first wrote.
    """
    ensure_dir(lock_path.parent)
    try:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(lock_path, flags, NEW_FILE_MODE)
    except OSError as err:
        msg = f"cannot create the lock file {lock_path}: {err.strerror}; nothing was changed"
        hint = "make its directory writable for you (or run as the user who owns it)"
        raise SshjupError(msg, hint=hint) from err
    except (ValueError, UnicodeEncodeError) as err:
        raise _bad_path(lock_path) from err
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
    "ABSENT",
    "BACKUP_SUFFIX",
    "MAX_CONFIG_BYTES",
    "MAX_FILE_BYTES",
    "MAX_SMALL_FILE_BYTES",
    "Snapshot",
    "atomic_write",
    "check_regular",
    "check_unchanged",
    "delete_file",
    "ensure_dir",
    "file_lock",
    "read_bytes",
    "read_snapshot",
    "real_path",
    "remove_stale_temps",
]
