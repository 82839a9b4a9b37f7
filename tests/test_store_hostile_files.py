"""What a hostile or unlucky machine does to sshjup's files (issue 9, "Files" and points 12-14).

* Only regular files are read or written as files: a device node (made with ``mknod`` in a temp
  dir, as root), a FIFO, a socket or a directory, directly or through a symlink, is refused
  with exit 2 before any lock, backup or temp file is made beside it; nothing blocks on a FIFO;
  reads are bounded (a sparse 300 MiB config is refused without being read).
* Another program's edit between the read and the rename (a ``Match exec`` command that changes
  the config while ``ssh -G`` verifies it: a real, deterministic race) is kept: the change is
  redone from the new bytes, or refused with exit 3; the backup holds the bytes replaced.
* Order of commits: a config rename that fails (immutable file: EPERM) leaves the inventory as
  it was; a bind-mounted config (EBUSY) is rewritten in place; a PuTTY phase that fails half-way
  is finished by the next run, with or without --force.
* Root writing a user's files keeps their owner and group (and a new app dir's); user.* xattrs
  survive a write.
* A dangling symlink in PuTTY's sessions dir is not followed outside it; remove deletes nothing
  outside it.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sshjup.cli import cli
from sshjup.ssh import sshconfig
from sshjup.store import fileio, paths

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (mknod, chown)")


def run(*argv: str) -> Result:
    return CliRunner().invoke(cli, list(argv))


def _cap_memory() -> None:
    import resource

    cap = 2 << 30  # reading a device forever fails in the child, not on the machine
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def run_process(*argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """sshjup in its own process, memory capped: a hang or an endless read fails the test
    instead of stopping the suite."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sshjup", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        preexec_fn=_cap_memory if os.name == "posix" else None,
    )


def beside(path: Path) -> list[str]:
    """What sshjup made next to ``path``: locks, backups, temp files."""
    return sorted(
        p.name for p in path.parent.iterdir() if p.name != path.name and "sshjup" in p.name
    )


# --- 1. only regular files ------------------------------------------------------------------


def _device(path: Path, major: int, minor: int) -> Path:
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    return path


@needs_root
@pytest.mark.parametrize("through_symlink", [False, True])
def test_a_device_node_as_ssh_config_is_refused_and_stays_a_device(
    tmp_path: Path, through_symlink: bool
) -> None:
    devdir = tmp_path / "dev"
    devdir.mkdir()
    full = _device(devdir / "full", 1, 7)  # what /dev/full is
    config = full
    if through_symlink:
        config = tmp_path / "config-link"
        config.symlink_to(full)
    result = run_process("add", "gpu.example.org", "--name", "gpu", "--ssh-config", str(config))
    assert result.returncode == 2, result.stderr
    assert "character device" in result.stderr and "not a regular file" in result.stderr
    assert stat.S_ISCHR(full.stat().st_mode)
    assert beside(full) == []
    assert not (paths.app_dir() / "inventory.yaml").exists()


@pytest.mark.parametrize("command", ["list", "add", "apply"])
def test_a_fifo_as_ssh_config_is_refused_without_hanging(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "config"
    os.mkfifo(fifo)
    inv = tmp_path / "hosts.yaml"
    inv.write_text("version: 1\nhosts:\n  gpu:\n    hostname: gpu.example.org\n")
    argv = {
        "list": ["list"],  # (reads the config: there is no inventory yet to read instead)
        "add": ["add", "gpu.example.org", "--name", "gpu"],
        "apply": ["apply", str(inv), "--yes"],
    }[command]
    started = time.monotonic()
    try:
        proc = run_process(*argv, "--ssh-config", str(fifo), timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`sshjup {command}` blocked on a FIFO")
    assert time.monotonic() - started < 20
    assert proc.returncode == 2, proc.stderr
    assert "FIFO" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert beside(fifo) == []


@needs_root
def test_apply_of_a_character_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    zero = _device(tmp_path / "zero", 1, 5)  # what /dev/zero is
    proc = run_process("apply", str(zero), "--yes", timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert "character device" in proc.stderr


def test_a_socket_or_directory_as_ssh_config_is_refused(short_tmp: Path) -> None:
    sock_path = short_tmp / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        result = run("add", "gpu.example.org", "--name", "gpu", "--ssh-config", str(sock_path))
    assert result.exit_code == 2, result.output
    assert "socket" in result.output
    directory = short_tmp / "dir"
    directory.mkdir()
    result = run("add", "gpu.example.org", "--name", "gpu", "--ssh-config", str(directory))
    assert result.exit_code == 2, result.output
    assert "a directory" in result.output
    assert sorted(p.name for p in short_tmp.iterdir()) == ["dir", "sock"]


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("argv", "env_config"),
    [
        (["add", "gpu.example.org", "--name", "gpu", "--ssh-config", "config"], False),  # fast
        (
            ["add", "gpu.example.org", "--name", "gpu", "--no-putty", "--ssh-config", "config"],
            False,
        ),
        (["list", "--ssh-config", "config"], False),
        (["--ssh-config", "config", "remove", "gpu"], False),
        (["list"], True),
    ],
)
def test_a_relative_ssh_config_in_a_deleted_directory_is_refused_with_exit_2(
    tmp_path: Path, isolated: Path, argv: list[str], env_config: bool
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    before = _files_under(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if env_config:
        env["SSHJUP_SSH_CONFIG"] = "config"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, runpy; os.rmdir(os.getcwd()); "
            "sys.argv = ['sshjup', *sys.argv[1:]]; runpy.run_module('sshjup', run_name='__main__')",
            *argv,
        ],
        cwd=gone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = child.communicate(timeout=30)
    assert child.returncode == 2, err
    assert "Traceback" not in err
    what = "SSHJUP_SSH_CONFIG" if env_config else "--ssh-config"
    assert f"Error: {what}: the relative path 'config'" in err
    assert "the current directory no longer exists" in err
    assert "Hint: cd to a directory that exists, or give the ssh config's absolute path" in err
    assert out == ""
    assert _files_under(tmp_path) == [p for p in before if p != "gone"]


def test_an_inventory_that_is_a_directory_is_refused(ssh_config: Path) -> None:
    (paths.app_dir() / "inventory.yaml").mkdir(parents=True)
    result = run("add", "gpu.example.org", "--name", "gpu")
    assert result.exit_code == 2, result.output
    assert "a directory" in result.output
    assert not ssh_config.exists()


def test_an_identity_file_that_is_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "id_ed25519"
    os.mkfifo(fifo)
    try:
        proc = run_process(
            "add", "gpu.example.org", "--name", "gpu", "--putty", "--identity-file", str(fifo)
        )
    except subprocess.TimeoutExpired:
        pytest.fail("reading a FIFO as a key blocked")
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "FIFO" in proc.stderr


def test_an_oversized_ssh_config_is_refused_without_reading_it(ssh_config: Path) -> None:
    with ssh_config.open("wb") as fh:  # sparse: no disk space, no memory
        fh.truncate(fileio.MAX_CONFIG_BYTES + 1)
    proc = run_process("add", "gpu.example.org", "--name", "gpu", timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert "larger than" in proc.stderr
    assert ssh_config.stat().st_size == fileio.MAX_CONFIG_BYTES + 1
    assert beside(ssh_config) == []


def test_reads_stop_at_their_limit(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2049)
    assert fileio.read_bytes(big, 4096) == b"x" * 2049
    with pytest.raises(fileio.NotARegularFile, match="larger than"):
        fileio.read_bytes(big, 2048)


# --- 2. another program's edit ---------------------------------------------------------------


def _racing_config(config: Path, mark: Path | None) -> bytes:
    """A config whose ``Match exec`` appends a line to the config itself while ssh -G runs
    (once when ``mark`` is given, else every time)."""
    edit = f"echo '# added by another program' >> {config}"
    command = f"test -e {mark} || {{ touch {mark}; {edit}; }}" if mark else edit
    text = f'Host build\n    HostName build.example.org\n\nMatch exec "{command}; false"\n'
    return text.encode()


def test_an_edit_made_while_ssh_g_runs_is_kept_and_the_change_redone(
    ssh_config: Path, tmp_path: Path
) -> None:
    original = _racing_config(ssh_config, tmp_path / "edited-once")
    ssh_config.write_bytes(original)
    result = run("add", "gpu.example.org", "--name", "gpu")
    assert result.exit_code == 0, result.output
    data = ssh_config.read_bytes()
    assert b"# added by another program" in data  # the other program's edit is kept
    assert b"Host jup-gpu" in data  # and sshjup's change was made on top of it
    backup = ssh_config.with_name(ssh_config.name + fileio.BACKUP_SUFFIX).read_bytes()
    assert backup == original + b"# added by another program\n"  # the bytes really replaced


def test_an_edit_made_on_every_try_is_refused_with_exit_3(ssh_config: Path) -> None:
    ssh_config.write_bytes(_racing_config(ssh_config, None))
    result = run("add", "gpu.example.org", "--name", "gpu")
    assert result.exit_code == 3, result.output
    assert "changed by another program" in result.output
    data = ssh_config.read_bytes()
    assert data.count(b"# added by another program") >= 2  # both tries' edits are there
    assert b"jup-gpu" not in data
    assert not (paths.app_dir() / "inventory.yaml").exists()  # rolled back with the config


def test_a_file_touched_without_a_change_is_written(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old\n")
    snap = fileio.read_snapshot(path)
    assert snap is not None
    os.utime(path, ns=(1, 1))
    fileio.atomic_write(path, b"new\n", expect=snap)
    assert path.read_bytes() == b"new\n"


def test_a_file_created_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "f"

    def create(_tmp: Path) -> None:
        path.write_bytes(b"someone else's\n")

    with pytest.raises(fileio.ConcurrentEdit):
        fileio.atomic_write(path, b"new\n", expect=fileio.ABSENT, before_replace=create)
    assert path.read_bytes() == b"someone else's\n"


# --- 3. order of commits ---------------------------------------------------------------------


def _fail_replace_of(monkeypatch: pytest.MonkeyPatch, target: Path, code: int) -> None:
    real_replace = os.replace

    def replace(src: object, dst: object) -> None:
        if Path(str(dst)) == target:
            raise OSError(code, os.strerror(code), str(dst))
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)


def test_a_config_rename_refused_leaves_the_inventory_unchanged(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("add", "one.example.org", "--name", "one").exit_code == 0
    inv_path = paths.app_dir() / "inventory.yaml"
    inv_before, config_before = inv_path.read_bytes(), ssh_config.read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        _fail_replace_of(mp, ssh_config, errno.EPERM)  # chattr +i gives EPERM
        result = run("add", "two.example.org", "--name", "two", "--local-port", "8890")
    assert result.exit_code == 1, result.output
    assert "immutable" in result.output
    assert inv_path.read_bytes() == inv_before
    assert ssh_config.read_bytes() == config_before
    listed = run("list")
    assert "two" not in listed.output


def test_a_bind_mounted_config_is_rewritten_in_place(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssh_config.write_bytes(b"Host build\n    HostName build.example.org\n")
    inode = ssh_config.stat().st_ino
    _fail_replace_of(monkeypatch, ssh_config, errno.EBUSY)  # what a bind mount gives
    result = run("add", "gpu.example.org", "--name", "gpu")
    assert result.exit_code == 0, result.output
    assert ssh_config.stat().st_ino == inode
    doc = sshconfig.decode(ssh_config.read_bytes())
    assert doc.section is not None and not doc.section.hand_edited
    assert b"Host build\n    HostName build.example.org\n" in ssh_config.read_bytes()
    assert not [p for p in ssh_config.parent.iterdir() if p.name.endswith(".sshjup-tmp")]


def test_an_apply_interrupted_in_the_putty_phase_is_finished_by_the_next_run(
    ssh_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sshjup.putty import unix

    inv = tmp_path / "hosts.yaml"
    hosts = "".join(
        f"  h{i}:\n    hostname: h{i}.example.org\n    local_port: {9000 + i}\n    putty: true\n"
        for i in range(3)
    )
    inv.write_text("version: 1\nhosts:\n" + hosts)
    real_write = unix.FileStore.write
    calls: list[str] = []

    def write_then_fail(self: unix.FileStore, name: str, settings: dict[str, object]) -> None:
        calls.append(name)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, name, settings)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(unix.FileStore, "write", write_then_fail)
        result = run("apply", str(inv), "--yes")
    assert result.exit_code != 0
    sessions = Path(os.environ["PUTTYDIR"]) / "sessions"
    assert (sessions / "jup-h0").exists()
    result = run("apply", str(inv), "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in sessions.iterdir()) == ["jup-h0", "jup-h1", "jup-h2"]
    rows = run("putty", "list", "--json")
    assert rows.exit_code == 0, rows.output
    assert rows.output.count('"in-sync"') == 3


def test_an_update_interrupted_in_the_putty_phase_is_not_called_hand_edited(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sshjup.putty import unix

    for name, port in (("a", 9100), ("b", 9101)):
        args = ("add", f"{name}.example.org", "--name", name, "--local-port", str(port))
        assert run(*args, "--putty").exit_code == 0
    real_write = unix.FileStore.write

    def fail(self: unix.FileStore, name: str, settings: dict[str, object]) -> None:
        if name == "jup-b":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, name, settings)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(unix.FileStore, "write", fail)
        assert run("edit", "a", "--user", "alice").exit_code == 0
        result = run("edit", "b", "--user", "bob")
    assert result.exit_code != 0
    result = run("edit", "b", "--user", "bob")  # the next run finishes it, no --force needed
    assert result.exit_code == 0, result.output
    settings = (Path(os.environ["PUTTYDIR"]) / "sessions" / "jup-b").read_text()
    assert "UserName=bob" in settings


# --- 4. ownership and attributes -------------------------------------------------------------

OTHER_UID = 4242
OTHER_GID = 4343


@needs_root
def test_root_writing_a_users_config_keeps_its_owner_and_group(
    ssh_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssh_config.write_bytes(b"Host build\n    HostName build.example.org\n")
    os.chown(ssh_config, OTHER_UID, OTHER_GID)
    user_dir = tmp_path / "userhome"
    user_dir.mkdir()
    os.chown(user_dir, OTHER_UID, OTHER_GID)
    monkeypatch.setenv("SSHJUP_HOME", str(user_dir / ".config" / "sshjup"))
    result = run("add", "gpu.example.org", "--name", "gpu")
    assert result.exit_code == 0, result.output
    for path in (
        ssh_config,
        ssh_config.with_name(ssh_config.name + fileio.BACKUP_SUFFIX),
        user_dir / ".config",
        user_dir / ".config" / "sshjup",
        user_dir / ".config" / "sshjup" / "inventory.yaml",
    ):
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (OTHER_UID, OTHER_GID), path


def test_user_xattrs_survive_a_write(ssh_config: Path) -> None:
    if not hasattr(os, "setxattr"):
        pytest.skip("no extended attributes on this platform")
    ssh_config.write_bytes(b"Host build\n    HostName build.example.org\n")
    try:
        os.setxattr(ssh_config, "user.sshjup-test", b"kept")
    except OSError as err:
        pytest.skip(f"the temp file system has no user.* xattrs ({err.strerror})")
    result = run("add", "gpu.example.org", "--name", "gpu")
    assert result.exit_code == 0, result.output
    assert os.getxattr(ssh_config, "user.sshjup-test") == b"kept"


# --- 6. PuTTY's sessions dir -----------------------------------------------------------------


def test_a_dangling_session_symlink_is_not_followed_outside_the_sessions_dir(
    ssh_config: Path, tmp_path: Path
) -> None:
    sessions = Path(os.environ["PUTTYDIR"]) / "sessions"
    sessions.mkdir(parents=True)
    outside = tmp_path / "outside" / "victim"
    outside.parent.mkdir()
    (sessions / "jup-gpu").symlink_to(outside)
    result = run("add", "gpu.example.org", "--name", "gpu", "--putty")
    assert result.exit_code == 6, result.output
    assert "outside" in result.output
    assert not outside.exists()
    assert not ssh_config.exists()


def test_remove_never_deletes_outside_the_sessions_dir(ssh_config: Path, tmp_path: Path) -> None:
    assert run("add", "gpu.example.org", "--name", "gpu", "--putty").exit_code == 0
    sessions = Path(os.environ["PUTTYDIR"]) / "sessions"
    session = sessions / "jup-gpu"
    outside = tmp_path / "elsewhere"
    outside.write_bytes(session.read_bytes())  # the same content: it would count as managed
    session.unlink()
    session.symlink_to(outside)
    result = run("remove", "gpu", "--force")
    assert result.exit_code == 6, result.output
    assert outside.exists()


# --- 5. the section lives where the user put it; an inventory per ssh config ---------------


def test_a_section_moved_into_an_included_file_is_not_duplicated(ssh_config: Path) -> None:
    assert run("add", "gpu.example.org", "--name", "gpu").exit_code == 0
    section = ssh_config.read_bytes()
    included = ssh_config.parent / "jup.conf"
    included.write_bytes(section)  # the user moves the section into its own file
    ssh_config.write_bytes(
        f"Include {included}\n\nHost build\n    HostName b.example.org\n".encode()
    )
    before = ssh_config.read_bytes()
    result = run("add", "cpu.example.org", "--name", "cpu", "--local-port", "8890")
    assert result.exit_code == 3, result.output
    assert str(included) in result.output and "--ssh-config" in result.output
    assert ssh_config.read_bytes() == before
    assert included.read_bytes() == section
    result = run("add", "cpu.example.org", "--name", "cpu", "--local-port", "8890",
                 "--ssh-config", str(included))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sshconfig.managed_aliases(sshconfig.decode(included.read_bytes())) == [
        "jup-gpu",
        "jup-cpu",
    ]
    assert ssh_config.read_bytes() == before


def test_two_ssh_configs_never_write_each_others_hosts(ssh_config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other" / "config"
    assert run("add", "a.example.org", "--name", "a").exit_code == 0
    result = run("add", "b.example.org", "--name", "b", "--local-port", "8890",
                 "--ssh-config", str(other))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert run("add", "c.example.org", "--name", "c", "--local-port", "8891").exit_code == 0
    assert sshconfig.managed_aliases(sshconfig.decode(ssh_config.read_bytes())) == [
        "jup-a",
        "jup-c",
    ]
    assert sshconfig.managed_aliases(sshconfig.decode(other.read_bytes())) == ["jup-b"]
    listed = run("list", "--json", "--ssh-config", str(other))
    assert '"b"' in listed.output and '"a"' not in listed.output


def test_a_config_written_with_the_shared_inventory_is_migrated_to_its_own(
    ssh_config: Path, tmp_path: Path
) -> None:
    """What older versions left: one inventory.yaml with the hosts of two configs."""
    other = tmp_path / "other" / "config"
    assert run("add", "a.example.org", "--name", "a").exit_code == 0
    assert run("add", "b.example.org", "--name", "b", "--local-port", "8890",
               "--ssh-config", str(other)).exit_code == 0  # fmt: skip
    shared = paths.app_dir() / "inventory.yaml"
    own = paths.inventory_path(other)
    text = shared.read_text()  # put b (with a jupyter setting) into the shared file
    shared.write_text(text + own.read_text().split("hosts:\n", 1)[1])
    own.unlink()
    result = run("edit", "b", "--user", "bob", "--ssh-config", str(other))
    assert result.exit_code == 0, result.output
    assert "bob" in own.read_text()
    assert "b.example.org" not in shared.read_text()  # moved out of the shared inventory
    assert "a.example.org" in shared.read_text()


# --- 12. no traceback ------------------------------------------------------------------------


def test_a_lock_file_that_cannot_be_created_is_a_message(ssh_config: Path) -> None:
    (ssh_config.parent / ".config.sshjup.lock").mkdir()  # (root ignores a read-only ~/.ssh)
    result = run("add", "gpu.example.org", "--name", "gpu")
    assert result.exit_code == 1, result.output
    assert "cannot create the lock file" in result.output
    assert not isinstance(result.exception, OSError)


@pytest.mark.parametrize("bad", ["conf\ud800ig", "con\0fig"])
def test_a_path_the_file_system_cannot_take_is_refused(tmp_path: Path, bad: str) -> None:
    from sshjup import hosts
    from sshjup.errors import InvalidInput

    with pytest.raises(InvalidInput, match="cannot be used"):
        hosts.Where.locate(str(tmp_path / bad))
    result = run("list", "--ssh-config", str(tmp_path / bad))
    assert result.exit_code == 2, result.output
    assert "cannot be used" in result.output


def test_a_known_hosts_line_of_3000_stars_is_matched_quickly() -> None:
    from sshjup.putty.settings import known_host_fingerprints

    line = (
        "*" * 3000
        + " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    started = time.monotonic()
    assert len(known_host_fingerprints(line * 20, "gpu.example.org")) == 1
    bad = ("*a" * 3000 + "b") + " ssh-ed25519 AAAA\n"
    assert known_host_fingerprints(bad, "a" * 255) == []
    assert time.monotonic() - started < 1


# --- 13. add ALIAS keeps what makes the alias work --------------------------------------------


def _alias_config(ssh_config: Path, extra: str = "") -> None:
    ssh_config.write_text(
        f"Host box\n    HostName box.example.org\n    User carol\n    Port 2222\n{extra}"
    )


@pytest.mark.parametrize(
    ("spec", "user", "port"),
    [("dave@box", "dave", 2222), ("box:2200", "carol", 2200), ("box", "carol", 2222)],
)
def test_user_at_alias_and_alias_port_resolve_the_alias_with_ssh_g(
    ssh_config: Path, spec: str, user: str, port: int
) -> None:
    from sshjup.store import inventory

    _alias_config(ssh_config)
    result = run("add", spec, "--name", "gpu")
    assert result.exit_code == 0, result.output
    inv = inventory.load(paths.inventory_path())
    assert inv is not None
    target = inv.hosts["gpu"]
    assert (target.hostname, target.user, target.port) == ("box.example.org", user, port)


@pytest.mark.parametrize(
    "setting",
    [
        "ProxyCommand nc -X connect -x proxy.example.org:8080 %h %p",
        "HostKeyAlias box-key",
        "UserKnownHostsFile ~/.ssh/known_hosts_box",
    ],
)
def test_an_alias_that_needs_what_the_block_cannot_carry_is_refused(
    ssh_config: Path, setting: str
) -> None:
    _alias_config(ssh_config, f"    {setting}\n")
    before = ssh_config.read_bytes()
    result = run("add", "box", "--name", "gpu")
    assert result.exit_code == 2, result.output
    assert setting.split(maxsplit=1)[0] in result.output and "cannot carry" in result.output
    assert ssh_config.read_bytes() == before


# --- 14. paths with spaces and Windows paths ---------------------------------------------------


@pytest.mark.parametrize(
    "key", [r"C:\Users\John Smith\.ssh\id_ed25519", "/home/John Smith/.ssh/id_ed25519"]
)
def test_a_key_path_with_spaces_or_backslashes_is_written_as_ssh_reads_it(
    ssh_config: Path, key: str
) -> None:
    from sshjup.ssh import openssh

    result = run("add", "gpu.example.org", "--name", "gpu", "--identity-file", key)
    assert result.exit_code == 0, result.output
    resolved = openssh.resolve(ssh_config, "jup-gpu")  # the real ssh -G is the oracle
    assert key in resolved.identity_files
    # The section reads back (adopted) as the same path when the inventory is lost.
    (paths.app_dir() / "inventory.yaml").unlink()
    shown = run("list", "--json")
    assert shown.exit_code == 0, shown.output
    assert key.replace("\\", "\\\\") in shown.output


def test_a_bad_key_path_hint_talks_about_paths(ssh_config: Path) -> None:
    result = run("add", "gpu.example.org", "--name", "gpu", "--identity-file", "/tmp/a\tb")
    assert result.exit_code == 2, result.output
    assert "path" in result.output.split("Hint:", 1)[1]
    result = run("add", "gpu.example.org", "--name", "gpu", "--identity-file", '/tmp/"x"')
    assert result.exit_code == 2, result.output
    assert "path" in result.output.split("Hint:", 1)[1]
