"""Writes never lose or tear a file: locking, atomic replace, symlinks, modes, backups, full disk.

* 20 ``sshjup add`` processes at once (different names): all 20 end up in the inventory and the
  section, and ``ssh -G -F`` resolves every alias to its values.
* A writer SIGKILLed at random moments (60 tries): the config is always a complete version (the
  original bytes plus a section whose digest is valid and whose blocks are exactly what sshjup
  renders), never a partial one; the inventory and the backup always parse; the next run works.
* A symlinked config stays a symlink and its target changes; modes are kept (0600, 0644); a new
  file is 0600 in a 0700 ``~/.ssh`` (created when missing); ``<config>.sshjup.bak`` holds the
  previous bytes.
* A full disk (ENOSPC from fsync or write): a clear message, a non-zero exit, the files unchanged
  and no temp file left behind.
* A candidate that ssh -G refuses (where it reads the config as it was): the same.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sshjup.cli import cli
from sshjup.ssh import openssh, sshconfig
from sshjup.store import fileio, inventory, paths
from tests.support import sshg, writer_child

ROOT = Path(__file__).resolve().parent.parent
TEMP_SUFFIX = ".sshjup-tmp"
USER_CONTENT = b"# my config\n\nHost build\n    HostName build.example.org\n\nHost *\n    User me\n"


def run(*argv: str) -> Result:
    return CliRunner().invoke(cli, list(argv))


def child_env() -> dict[str, str]:
    """The test's (isolated) environment, with the repo importable for ``python -m sshjup``."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def section_aliases(config: Path) -> list[str]:
    doc = sshconfig.decode(config.read_bytes())
    assert doc.section is not None
    assert not doc.section.hand_edited
    return sshconfig.managed_aliases(doc)


def temp_files(*dirs: Path) -> list[Path]:
    return [p for d in dirs if d.exists() for p in d.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def ssh_g(config: Path, alias: str) -> openssh.Resolved:
    resolved = openssh.resolve(config, alias)
    assert resolved.ok, resolved.error
    return resolved


@contextlib.contextmanager
def stopping(procs: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Whatever happens, every process started here is stopped by its PID."""
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


# --- concurrency -------------------------------------------------------------------------------


def test_twenty_concurrent_adds_all_land_and_the_file_stays_valid(ssh_config: Path) -> None:
    ssh_config.write_bytes(USER_CONTENT)
    count = 20
    procs: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    with stopping(procs):
        for i in range(count):
            argv = [sys.executable, "-m", "sshjup", "add", f"h{i}.example.org", "--name", f"h{i}"]
            argv += ["--local-port", str(19100 + i), "--user", f"u{i}"]
            procs.append(
                subprocess.Popen(
                    argv,
                    env=child_env(),
                    cwd=ssh_config.parent,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
        outputs = [proc.communicate(timeout=120) for proc in procs]
    elapsed = time.monotonic() - started
    failures = [
        (i, proc.returncode, err.decode())
        for i, (proc, (_, err)) in enumerate(zip(procs, outputs, strict=True))
        if proc.returncode != 0
    ]
    assert not failures
    assert elapsed < 60, elapsed

    inv = inventory.load(paths.inventory_path())
    assert inv is not None
    assert sorted(inv.hosts) == sorted(f"h{i}" for i in range(count))
    assert sorted(section_aliases(ssh_config)) == sorted(f"jup-h{i}" for i in range(count))
    # Everything outside the section is still the user's, byte for byte.
    doc = sshconfig.decode(ssh_config.read_bytes())
    assert doc.section is not None
    assert (doc.text[: doc.section.start] + doc.text[doc.section.end :]).encode() == USER_CONTENT
    for i in range(count):
        resolved = ssh_g(ssh_config, f"jup-h{i}")
        assert resolved.get("hostname") == f"h{i}.example.org"
        assert resolved.get("user") == f"u{i}"
        assert resolved.local_forwards == (f"[127.0.0.1]:{19100 + i} [localhost]:8889",)
    assert temp_files(ssh_config.parent, paths.app_dir()) == []


# --- SIGKILL at random moments -----------------------------------------------------------------

KILL_TRIES = 60
FIRST_WRITE_TIMEOUT = 30.0


def file_version(path: Path) -> tuple[int, int, int, int]:
    """Changes whenever the writer renames a new version over ``path``."""
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


def big_user_config() -> bytes:
    """About 120 kB of ordinary hosts, so that each write takes a little while."""
    blocks = [b"# a long config\n\n"]
    for i in range(2000):
        blocks.append(f"Host h{i} h{i}.corp\n    HostName 10.{i // 250}.{i % 250}.1\n\n".encode())
    return b"".join(blocks)


class VersionChecker:
    """Is a file one complete version that some sshjup run could have written?"""

    def __init__(self, original: bytes, config: Path) -> None:
        self.original = original
        self.caps = openssh.capabilities()
        self.control_dir, _ = paths.control_dir(config)
        self.targets = {name: writer_child.target(name) for name in writer_child.NAMES}

    def config(self, data: bytes) -> tuple[str, ...]:
        """The aliases in the section, after checking the whole file; raises when torn."""
        doc = sshconfig.decode(data)  # raises ConfigParseError on a cut-off section
        if doc.section is None:
            assert data == self.original
            return ()
        assert not doc.section.hand_edited, "section digest does not match its lines"
        outside = doc.text[: doc.section.start] + doc.text[doc.section.end :]
        assert outside.encode() == self.original, "bytes outside the section changed"
        names = [alias.removeprefix("jup-") for alias in sshconfig.managed_aliases(doc)]
        assert names, "an empty section"
        body = sshconfig.render_body([self.targets[n] for n in names], self.caps, self.control_dir)
        assert list(doc.section.body) == body, "section is not what sshjup renders"
        return tuple(names)

    def inventory(self, path: Path) -> tuple[str, ...] | None:
        data = fileio.read_bytes(path)
        if data is None:
            return None
        inv = inventory.loads(data.decode(), str(path))  # raises on a half-written file
        for name, target in inv.hosts.items():
            assert target == self.targets[name]
        return tuple(inv.hosts)


class ForkServer:
    """tests/support/writer_child.py: forks writers on request and reports their PIDs."""

    def __init__(self) -> None:
        script = Path(writer_child.__file__)
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _read(self, word: str) -> int:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith(word + " "):
            stderr = self.proc.stderr.read() if self.proc.stderr and self.proc.poll() else ""
            pytest.fail(f"fork server said {line!r}; stderr: {stderr}")
        return int(line.split()[1])

    def kill_one(self, seed: int, delay: float, after_a_write_of: Path | None = None) -> int:
        """Start a writer, SIGKILL it after ``delay`` s; its wait status.

        With ``after_a_write_of``, the ``delay`` starts once the writer has replaced that file
        once (bounded by ``FIRST_WRITE_TIMEOUT``): the kill then lands somewhere in its later
        writes however slow the machine is, so the tries make progress under load too.
        """
        assert self.proc.stdin is not None
        before = file_version(after_a_write_of) if after_a_write_of is not None else None
        self.proc.stdin.write(f"go {seed}\n")
        self.proc.stdin.flush()
        pid = self._read("pid")
        if after_a_write_of is not None:
            deadline = time.monotonic() + FIRST_WRITE_TIMEOUT
            while file_version(after_a_write_of) == before:
                if time.monotonic() > deadline:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, 9)
                    status = self._read("status")
                    pytest.fail(
                        f"the writer replaced nothing in {FIRST_WRITE_TIMEOUT} s ({status})"
                    )
                time.sleep(0.001)
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):  # it is the server's child: never reused
            os.kill(pid, 9)
        return self._read("status")

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.write("\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()


def test_a_writer_killed_at_random_moments_never_leaves_a_partial_file(ssh_config: Path) -> None:
    original = big_user_config()
    ssh_config.write_bytes(original)
    ssh_config.chmod(0o640)
    backup = ssh_config.with_name(ssh_config.name + fileio.BACKUP_SUFFIX)
    checker = VersionChecker(original, ssh_config)
    seed = int(os.environ.get("SSHJUP_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    server = ForkServer()
    try:
        for attempt in range(KILL_TRIES):
            # Every other writer is killed at a moment counted from its start (before, during
            # or after its first write); the rest at a moment counted from the end of its
            # first write, so that the versions move on even when a loaded machine makes every
            # write slower than the delays.
            after = ssh_config if attempt % 2 else None
            status = server.kill_one(rng.randrange(1 << 30), rng.uniform(0.0, 0.12), after)
            context = f"seed {seed}, try {attempt}"
            # Killed by us (not exited on its own with an error).
            assert os.WIFSIGNALED(status), (context, status)
            assert os.WTERMSIG(status) == 9, context
            seen.add(checker.config(ssh_config.read_bytes()))
            checker.inventory(paths.inventory_path())
            if backup.exists():
                checker.config(backup.read_bytes())
            assert stat.S_IMODE(ssh_config.stat().st_mode) == 0o640, context
    finally:
        server.stop()
    # The writers got somewhere: several different complete versions were seen. A kill during a
    # write leaves its temp file beside the real one (nothing can clean up after SIGKILL): their
    # number shows how many kills landed in the middle of a write.
    assert len(seen) >= 3, (seed, seen)
    mid_write = len(temp_files(ssh_config.parent, paths.app_dir()))

    # The next ordinary run works from whatever the last kill left, and makes the section and
    # the inventory agree again.
    result = subprocess.run(
        [sys.executable, "-m", "sshjup", "add", "final.example.org", "--local-port", "19999"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    inv = inventory.load(paths.inventory_path())
    assert inv is not None
    assert sorted(section_aliases(ssh_config)) == sorted(t.alias for t in inv.targets())
    assert "final" in inv.hosts
    print(f"seed {seed}: {len(seen)} versions, {mid_write} of {KILL_TRIES} kills mid-write")


# --- symlinks, modes, backups ------------------------------------------------------------------


def add(name: str, port: int) -> None:
    result = run("add", f"{name}.example.org", "--local-port", str(port))
    assert result.exit_code == 0, result.output


def test_a_symlinked_config_stays_a_symlink_and_its_target_gets_the_change(
    ssh_config: Path, isolated: Path
) -> None:
    dotfiles = isolated / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "ssh_config"
    real.write_bytes(USER_CONTENT)
    real.chmod(0o644)
    ssh_config.symlink_to(Path("..") / "dotfiles" / "ssh_config")  # relative, as dotfile tools do

    add("gpu", 19200)
    assert ssh_config.is_symlink()
    assert os.readlink(ssh_config) == str(Path("..") / "dotfiles" / "ssh_config")
    assert section_aliases(real) == ["jup-gpu"]
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    assert (dotfiles / ("ssh_config" + fileio.BACKUP_SUFFIX)).read_bytes() == USER_CONTENT
    assert temp_files(dotfiles, ssh_config.parent) == []

    result = run("remove", "gpu")
    assert result.exit_code == 0, result.output
    assert ssh_config.is_symlink()
    assert real.read_bytes() == USER_CONTENT


def test_a_dangling_symlink_gets_its_target_created(ssh_config: Path, isolated: Path) -> None:
    dotfiles = isolated / "dotfiles"
    dotfiles.mkdir()
    ssh_config.symlink_to(dotfiles / "ssh_config")
    add("gpu", 19200)
    assert ssh_config.is_symlink()
    assert section_aliases(dotfiles / "ssh_config") == ["jup-gpu"]
    assert stat.S_IMODE((dotfiles / "ssh_config").stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640])
def test_the_config_keeps_its_mode(ssh_config: Path, mode: int) -> None:
    ssh_config.write_bytes(USER_CONTENT)
    ssh_config.chmod(mode)
    add("gpu", 19200)
    assert stat.S_IMODE(ssh_config.stat().st_mode) == mode
    backup = ssh_config.with_name(ssh_config.name + fileio.BACKUP_SUFFIX)
    assert stat.S_IMODE(backup.stat().st_mode) == mode
    run("remove", "gpu")
    assert stat.S_IMODE(ssh_config.stat().st_mode) == mode


def test_a_new_config_is_0600_in_a_new_0700_ssh_dir(ssh_config: Path, isolated: Path) -> None:
    (isolated / ".ssh").rmdir()
    old_umask = os.umask(0)  # the modes must not depend on a lenient umask
    try:
        add("gpu", 19200)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((isolated / ".ssh").stat().st_mode) == 0o700
    assert stat.S_IMODE(ssh_config.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.app_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.inventory_path().stat().st_mode) == 0o600
    # No backup of a file that did not exist.
    assert not ssh_config.with_name(ssh_config.name + fileio.BACKUP_SUFFIX).exists()


def test_the_backup_holds_the_previous_bytes(ssh_config: Path) -> None:
    ssh_config.write_bytes(USER_CONTENT)
    backup = ssh_config.with_name(ssh_config.name + fileio.BACKUP_SUFFIX)
    add("gpu", 19200)
    assert backup.read_bytes() == USER_CONTENT
    after_first = ssh_config.read_bytes()
    add("cpu", 19201)
    assert backup.read_bytes() == after_first
    inv_backup = paths.inventory_path().with_name("inventory.yaml" + fileio.BACKUP_SUFFIX)
    assert inventory.loads(inv_backup.read_text(), "backup").hosts.keys() == {"gpu"}


# --- a full disk -------------------------------------------------------------------------------


def existing_state(ssh_config: Path) -> dict[Path, bytes | None]:
    ssh_config.write_bytes(USER_CONTENT)
    add("gpu", 19200)
    return watched_files(ssh_config)


def watched_files(ssh_config: Path) -> dict[Path, bytes | None]:
    files = [ssh_config, paths.inventory_path(), paths.app_dir() / "state.json"]
    return {path: fileio.read_bytes(path) for path in files}


PROC_FD = Path("/proc/self/fd")
# The files of one ssh config change: the config, the inventory and their backups. (Later
# writes, such as PuTTY sessions and their digests in state.json, are not counted here.)
CHANGE_FILES = ("config", "inventory.yaml")


def is_change_file(fd: int) -> bool:
    """Is ``fd`` a temp file for the config, the inventory or a backup of one of them?"""
    name = os.readlink(PROC_FD / str(fd)).rpartition("/")[2]  # .config.sshjup.bak.x1y2.sshjup-tmp
    return any(name.startswith(f".{real}.") for real in CHANGE_FILES)


def fail_nth_file_fsync(monkeypatch: pytest.MonkeyPatch, n: int) -> list[str]:
    """os.fsync raises ENOSPC on the n-th fsync (from 1) of the config's or inventory's files."""
    if not PROC_FD.is_dir():
        pytest.skip("needs /proc/self/fd to tell which file an fsync is for")
    calls: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode) and is_change_file(fd):
            calls.append(os.readlink(PROC_FD / str(fd)))
            if len(calls) == n:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def count_file_fsyncs(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    with monkeypatch.context() as patch:
        calls = fail_nth_file_fsync(patch, 0)
        result = run(*argv)
    assert result.exit_code == 0, result.output
    return len(calls)


def assert_clean_failure(result: Result, before: dict[Path, bytes | None], config: Path) -> None:
    assert result.exit_code != 0, result.output
    assert result.exit_code == 1  # a generic SshjupError, mapped to its exit code
    assert "not enough disk space" in result.stderr, result.stderr
    assert "Hint: free some space" in result.stderr
    assert "Traceback" not in result.stderr
    assert watched_files(config) == before
    assert temp_files(config.parent, paths.app_dir()) == []


def test_enospc_on_every_fsync_of_an_add_leaves_the_files_as_they_were(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ("add", "cpu.example.org", "--local-port", "19201")
    before = existing_state(ssh_config)
    # How many file fsyncs a successful add makes (backups, config, inventory), on a copy.
    total = count_file_fsyncs(monkeypatch, *argv)
    assert total == 4  # the config's backup, the config, the inventory's backup, the inventory
    run("remove", "cpu")
    before = watched_files(ssh_config)
    for n in range(1, total + 1):
        with monkeypatch.context() as patch:
            fail_nth_file_fsync(patch, n)
            result = run(*argv)
        assert_clean_failure(result, before, ssh_config)


def test_enospc_when_nothing_existed_leaves_nothing(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        fail_nth_file_fsync(patch, 1)
        result = run("add", "gpu.example.org")
    assert_clean_failure(result, {p: None for p in watched_files(ssh_config)}, ssh_config)


def test_enospc_from_write_itself_leaves_the_files_as_they_were(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = existing_state(ssh_config)
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fd: int, *args: object, **kwargs: object) -> None:
            self.file = real_fdopen(fd, *args, **kwargs)

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, data: bytes) -> int:
            self.file.write(data[: len(data) // 2])  # part of it reaches the temp file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name: str) -> object:
            return getattr(self.file, name)

    with monkeypatch.context() as patch:
        patch.setattr(fileio.os, "fdopen", FullDisk)
        result = run("add", "cpu.example.org", "--local-port", "19201")
    assert_clean_failure(result, before, ssh_config)


def test_a_failed_directory_fsync_after_the_rename_does_not_report_a_failed_write(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the new file is renamed into place, saying "it was left as it was" would be false."""
    existing_state(ssh_config)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        result = run("add", "cpu.example.org", "--local-port", "19201")
    assert result.exit_code == 0, result.output
    assert sorted(section_aliases(ssh_config)) == ["jup-cpu", "jup-gpu"]
    inv = inventory.load(paths.inventory_path())
    assert inv is not None
    assert sorted(inv.hosts) == ["cpu", "gpu"]


def test_a_change_ssh_refuses_leaves_every_file_and_no_temp_file(
    ssh_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ssh -G refuses the candidate (not the config as it was): the config, the inventory,
    the state and both backups stay as they were, and no temp file is left beside them."""
    ssh = sshg.real_ssh()
    if ssh is None:
        pytest.skip("the OpenSSH client (ssh) is not installed")
    before = existing_state(ssh_config)
    backups = [
        p.with_name(p.name + fileio.BACKUP_SUFFIX) for p in (ssh_config, paths.inventory_path())
    ]
    backups_before = {p: fileio.read_bytes(p) for p in backups}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    refusing = bin_dir / "ssh"
    refusing.write_text(  # (refuses any config that holds the new block; else the real ssh)
        f"#!{sys.executable}\n"
        "import os, subprocess, sys\n"
        "args = sys.argv[1:]\n"
        "name = args[args.index('-F') + 1] if '-F' in args else None\n"
        f"text = sys.stdin.buffer.read() if name == {openssh.FED_CONFIG!r} else None\n"
        "if text is None and name is not None and os.path.exists(name):\n"
        "    text = open(name, 'rb').read()\n"
        "if text is not None and b'Host jup-cpu' in text:\n"
        "    sys.exit('line 9: Bad configuration option: x')\n"
        f"sys.exit(subprocess.run([{ssh!r}, *args], input=text).returncode)\n"
    )
    refusing.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = run("add", "cpu.example.org", "--local-port", "19201")
    assert result.exit_code != 0, result.output
    assert "Bad configuration option" in result.output
    assert watched_files(ssh_config) == before
    assert {p: fileio.read_bytes(p) for p in backups} == backups_before
    assert temp_files(ssh_config.parent, paths.app_dir()) == []
