"""The ``ssh -G`` that reads the new text through a pipe as sshjup makes it (hosts._FedCheck).

The first changed alias's ``ssh -G -F /dev/stdin`` starts before the section is rendered and is
given the text as it is made, so OpenSSH parses the file while sshjup renders and writes it.
What it read must be the very bytes the config holds afterwards; where ssh may read the file
twice or read others (Match, Include, CanonicalizeHostname), or the run fails, or what was sent
is not the text's beginning, the candidate file itself is checked instead. Every run started is
ended and reaped. The real ssh runs throughout (PATH holds only it, and a wrapper around it
that keeps a copy of what it read).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sshjup import hosts, proc
from sshjup.errors import HandEdited
from sshjup.models import Forward, Target
from sshjup.records import replace
from sshjup.ssh import openssh
from sshjup.store import inventory
from tests.support import sshg

pytestmark = [
    pytest.mark.skipif(sshg.real_ssh() is None, reason="needs OpenSSH's ssh for ssh -G"),
    pytest.mark.skipif(not openssh.can_feed(), reason="ssh cannot read a pipe here"),
]


@pytest.fixture
def fed_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holds a wrapper ``ssh`` that, when it is to read its config from stdin, keeps a
    copy of what it read in the file returned (then runs the real ssh on the same bytes)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    copy = tmp_path / "ssh-read"
    wrapper = bin_dir / "ssh"
    wrapper.write_text(
        "#!/bin/sh\n"
        'case " $* " in\n'
        f'  *" {openssh.FED_CONFIG} "*) /usr/bin/tee "{copy}" | exec "{sshg.real_ssh()}" "$@" ;;\n'
        f'  *) exec "{sshg.real_ssh()}" "$@" ;;\n'
        "esac\n"
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return copy


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, proc.Started]]:
    """Every ssh -G sshjup starts, fed (``fed``) or on the file (``file``), with its run."""
    started: list[tuple[str, proc.Started]] = []
    real_fed, real_start = proc.start_fed, proc.start

    def start_fed(argv: list[str], **kwargs: object) -> proc.Started:
        run = real_fed(argv, **kwargs)  # type: ignore[arg-type]
        started.append(("fed", run))
        return run

    def start(argv: list[str], **kwargs: object) -> proc.Started:
        run = real_start(argv, **kwargs)  # type: ignore[arg-type]
        started.append(("file", run))
        return run

    monkeypatch.setattr(proc, "start_fed", start_fed)
    monkeypatch.setattr(proc, "start", start)
    return started


def assert_all_ended(started: list[tuple[str, proc.Started]]) -> None:
    for _, run in started:
        assert run.pid == 0  # (reaped)
        assert run._in is None  # (stdin's write end closed)
        assert run._fds is None  # (stdout's and stderr's read ends closed)
        assert run._writer is None or run._writer.acquire(blocking=False)  # (the thread ended)


def node(i: int) -> Target:
    return Target(
        f"n{i:02d}", f"n{i:02d}.example.org", user="alice", forwards=(Forward(9100 + i, 8889),)
    )


def apply(config: Path, tmp_path: Path, count: int, **kwargs: bool) -> hosts.ChangeResult:
    where = hosts.Where(ssh_config=config, inventory=tmp_path / "app" / "inventory.yaml")
    desired = inventory.Inventory()
    for i in range(count):
        desired.hosts[node(i).name] = node(i)
    return hosts.apply_inventory(where, desired, **kwargs)


BIG = "".join(f"Host h{i}\n    HostName 10.0.{i >> 8 & 255}.{i & 255}\n" for i in range(40_000))

CONFIGS = {
    "plain": b"Host build\n    HostName build.example.org\n\nHost *\n    User me\n",
    "crlf": b"# mine\r\n\r\nHost build\r\n    HostName b.example.org\r\n",
    "no final newline": b"Host build\n    HostName build.example.org",
    "undecodable bytes": b"# caf\xe9 \xff\xfe\nHost b\xc3\xa9\n    HostName b.example.org\n",
    "larger than the pipe": BIG.encode(),  # (~1.5 MB: the rest goes from the writer thread)
    "empty": b"",
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_ssh_reads_the_very_bytes_the_config_then_holds(
    name: str,
    ssh_config: Path,
    tmp_path: Path,
    fed_reads: Path,
    runs: list[tuple[str, proc.Started]],
) -> None:
    ssh_config.write_bytes(CONFIGS[name])
    result = apply(ssh_config, tmp_path, 12)
    assert [kind for kind, _ in runs] == ["fed"]  # (its outcome was used: no run on the file)
    assert result.verified == ["jup-n00"]
    written = ssh_config.read_bytes()
    assert fed_reads.read_bytes() == written
    assert all(line in written for line in CONFIGS[name].split(b"\n"))  # (theirs are kept)
    assert_all_ended(runs)


def test_a_section_the_user_moved_down_is_fed_after_their_lines(
    ssh_config: Path, tmp_path: Path, fed_reads: Path, runs: list[tuple[str, proc.Started]]
) -> None:
    ssh_config.write_text("")
    apply(ssh_config, tmp_path, 1)
    ssh_config.write_text(BIG + "\n" + ssh_config.read_text())  # (the section stays there)
    runs.clear()
    result = apply(ssh_config, tmp_path, 3)
    assert [kind for kind, _ in runs] == ["fed"]
    assert result.verified == ["jup-n01"]
    assert fed_reads.read_bytes() == ssh_config.read_bytes()
    assert ssh_config.read_text().startswith(BIG)
    assert_all_ended(runs)


@pytest.mark.parametrize(
    "outside",
    [
        "Match host nothing.example.org\n    Port 1\n",
        "Include /nonexistent-sshjup-test/*.conf\n",
        "CanonicalizeHostname no\n",
    ],
    ids=["Match", "Include", "CanonicalizeHostname"],
)
@pytest.mark.parametrize("count", [1, 3], ids=["one host", "a bulk change"])
def test_where_ssh_may_read_twice_or_others_the_file_itself_is_checked(
    outside: str,
    count: int,
    ssh_config: Path,
    tmp_path: Path,
    fed_reads: Path,
    runs: list[tuple[str, proc.Started]],
) -> None:
    """One host: sshjup looks for the words; a bulk change: its reading of the lines outside
    the section (which it makes anyway) says so."""
    ssh_config.write_text("Host *\n    User me\n\n" + outside)
    result = apply(ssh_config, tmp_path, count)
    assert [kind for kind, _ in runs] == ["fed"] + ["file"] * count  # (the fed one: unused)
    assert result.verified == [f"jup-n{i:02d}" for i in range(count)]
    assert openssh.resolve(ssh_config, "jup-n00").get("user") == "alice"
    assert_all_ended(runs)


def test_a_fed_run_that_fails_is_asked_again_of_the_file(
    ssh_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runs: list[tuple[str, proc.Started]],
) -> None:
    """ssh that cannot read its stdin (here: a name that is not there) fails; the file's own
    ssh -G decides, so the change is not refused for it."""
    sshg.restrict_path(monkeypatch, tmp_path / "bin")
    monkeypatch.setattr(openssh, "FED_CONFIG", str(tmp_path / "no-such-stdin"))
    ssh_config.write_text("Host build\n    HostName build.example.org\n")
    result = apply(ssh_config, tmp_path, 2)
    assert [kind for kind, _ in runs] == ["fed", "file"]
    assert result.verified == ["jup-n00"]
    assert [w for w in result.warnings if not w.startswith("local port")] == []
    assert_all_ended(runs)


def test_what_ssh_read_that_is_not_the_texts_beginning_is_not_taken(
    ssh_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runs: list[tuple[str, proc.Started]],
) -> None:
    """A piece sent that the new text does not have: the run is stopped at once and the
    file checked (a bug's safety net: ssh's word is only taken on the file's very text)."""
    sshg.restrict_path(monkeypatch, tmp_path / "bin")
    real_progress = hosts._FedCheck.progress

    def progress(self: hosts._FedCheck, body: list[str]) -> None:
        real_progress(self, body)
        self.resolve.send("Host extra\n")

    monkeypatch.setattr(hosts._FedCheck, "progress", progress)
    ssh_config.write_text("Host build\n    HostName build.example.org\n")
    result = apply(ssh_config, tmp_path, 2)
    assert [kind for kind, _ in runs] == ["fed", "file"]
    assert result.verified == ["jup-n00"]
    assert "Host extra" not in ssh_config.read_text()
    assert_all_ended(runs)


def test_a_change_refused_after_the_run_started_ends_it(
    ssh_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runs: list[tuple[str, proc.Started]],
) -> None:
    sshg.restrict_path(monkeypatch, tmp_path / "bin")
    ssh_config.write_text("")
    apply(ssh_config, tmp_path, 1)
    edited = ssh_config.read_text().replace("User alice", "User mallory")
    ssh_config.write_text(edited)
    runs.clear()
    with pytest.raises(HandEdited):
        apply(ssh_config, tmp_path, 2)
    assert [kind for kind, _ in runs] == ["fed"]  # (started before the section was rendered)
    assert ssh_config.read_text() == edited
    assert_all_ended(runs)


def test_a_dry_run_or_no_change_starts_no_run(
    ssh_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runs: list[tuple[str, proc.Started]],
) -> None:
    sshg.restrict_path(monkeypatch, tmp_path / "bin")
    ssh_config.write_text("")
    assert apply(ssh_config, tmp_path, 2, dry_run=True).changed
    assert runs == []
    apply(ssh_config, tmp_path, 2)
    runs.clear()
    assert not apply(ssh_config, tmp_path, 2).changed
    assert runs == []
    # What only the inventory holds (the PuTTY choice, Jupyter settings): no block changes.
    where = hosts.Where(ssh_config=ssh_config, inventory=tmp_path / "app" / "inventory.yaml")
    desired = inventory.Inventory({n.name: replace(n, putty=False) for n in map(node, range(2))})
    before = ssh_config.read_bytes()
    result = hosts.apply_inventory(where, desired)
    assert result.changed
    assert not result.config_changed
    assert ssh_config.read_bytes() == before
    assert runs == []


def test_nothing_is_fed_where_ssh_cannot_read_a_pipe(
    ssh_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runs: list[tuple[str, proc.Started]],
) -> None:
    sshg.restrict_path(monkeypatch, tmp_path / "bin")
    monkeypatch.setattr(openssh, "can_feed", lambda: False)
    ssh_config.write_text("Host build\n    HostName build.example.org\n")
    result = apply(ssh_config, tmp_path, 3)
    assert [kind for kind, _ in runs] == ["file"]
    assert result.verified == ["jup-n00"]
    assert_all_ended(runs)


def test_no_descriptor_is_left_open(ssh_config: Path, tmp_path: Path, fed_reads: Path) -> None:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd here")
    ssh_config.write_text("")
    apply(ssh_config, tmp_path, 1)  # (the first change opens the app dir's files once)
    before = set(os.listdir("/proc/self/fd"))
    apply(ssh_config, tmp_path, 4)
    assert set(os.listdir("/proc/self/fd")) == before
