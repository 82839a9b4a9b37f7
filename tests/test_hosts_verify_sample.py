"""Which changed aliases a bulk change checks with ``ssh -G``, and what it says of the rest.

Each ``ssh -G`` reads the whole file, so ``apply`` runs as few as tell something: one when no
line outside sshjup's section can set a host name, user, port or forward of a changed alias
(sshjup's reading of the lines, :func:`sshconfig.outside_influence`), else the aliases such
lines apply to. The reading is checked against ``ssh -G`` itself on generated configs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sshjup import hosts, proc
from sshjup.models import Forward, Target
from sshjup.ssh import openssh, sshconfig
from sshjup.store import inventory
from tests.support import sshg

pytestmark = pytest.mark.skipif(sshg.real_ssh() is None, reason="needs OpenSSH's ssh for ssh -G")

ALIASES = ["jup-a1", "jup-a2", "jup-b1", "jup-b2"]


def section(below: str = "") -> str:
    """sshjup's section for ALIASES, as it is written above ``below`` (with the ``Host *``
    that ends its last block when ``below`` starts with lines of no block)."""
    body = []
    for alias in ALIASES:
        body += [f"Host {alias}", f"    HostName {alias[4:]}.example.org", "    User u"]
        body += ["    Port 2022"] if alias.endswith("1") else []  # (as sshjup: when one is set)
        body += ["    LocalForward 127.0.0.1:9000 localhost:8889"]
    terminator = sshconfig._needs_terminator(below, 0)
    return sshconfig.render_section(body, terminator=terminator, eol="\n")


def influence(above: str, below: str = "") -> sshconfig.Influence:
    doc = sshconfig.from_text(above + section(below) + below)
    return sshconfig.outside_influence(doc, ALIASES)


# --- sshjup's reading of the lines outside the section ------------------------------------------


def test_nothing_outside_the_section_exposes_no_alias() -> None:
    below = "".join(f"Host h{i}\n    User x\n    Port 22{i}\n" for i in range(50))
    below += "Host *\n    ServerAliveInterval 60\n"
    assert influence("# my config\n\n", below) == sshconfig.Influence(False, frozenset())


@pytest.mark.parametrize(
    ("above", "below", "exposed"),
    [
        ("User bob\n", "", ALIASES),  # a global line above applies to all
        ("Host jup-a*\n    User bob\n", "", ["jup-a1", "jup-a2"]),
        ("Host jup-* !jup-b1\n    Port=2222\n", "", ["jup-a1", "jup-a2", "jup-b2"]),
        ("Host jup-b2 other\n    HOSTNAME x\n", "", ["jup-b2"]),
        ("Host jup-a1\n    Compression yes\n", "", []),  # no checked keyword
        ("", "Host jup-b?\n    User late\n", []),  # first value wins: the section's
        ("", "Host *\n    LocalForward 1234 localhost:1\n", ALIASES),  # forwards add up
        ("", "Host jup-a2\n\tlocalforward=1234 localhost:1\n", ["jup-a2"]),
    ],
)
def test_lines_that_set_a_checked_value_expose_the_aliases_they_match(
    above: str, below: str, exposed: list[str]
) -> None:
    assert influence(above, below) == sshconfig.Influence(False, frozenset(exposed))


@pytest.mark.parametrize(
    ("above", "below"),
    [
        ("Match host x\n    User m\n", ""),
        ("Include other\n", ""),
        ("CanonicalizeHostname yes\n", ""),
        ("", "Match all\n    User m\n"),
        ("", "Host *\n  include ~/.ssh/more\n"),
        ("Host 'unclosed\n    User x\n", ""),
    ],
)
def test_lines_only_ssh_can_judge_are_reported_as_such(above: str, below: str) -> None:
    assert influence(above, below).unjudged


_OUTSIDE_LINES = st.sampled_from(
    [
        "Host jup-a*",
        "Host jup-?2",
        "Host * !jup-b1",
        "Host jup-b1 jup-a2",
        "Host other",
        "Host *",
        "    User bob",
        "    Port 2200",
        "    HostName elsewhere.example.org",
        "    LocalForward 127.0.0.1:9100 localhost:1",
        "    Compression yes",
        "    ServerAliveInterval 5",
        "# a comment",
        "",
    ]
)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(_OUTSIDE_LINES, max_size=6), st.lists(_OUTSIDE_LINES, max_size=6))
def test_every_alias_ssh_resolves_otherwise_is_exposed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, above: list[str], below: list[str]
) -> None:
    """ssh -G is the oracle: an alias the outside lines change is one sshjup calls exposed."""
    sshg.restrict_path(monkeypatch, tmp_path / "bin")
    alone = tmp_path / "alone"
    alone.write_text(section())
    full = tmp_path / "full"
    above_text = "".join(line + "\n" for line in above)
    below_text = "".join(line + "\n" for line in below)
    full.write_text(above_text + section(below_text) + below_text)
    found = influence(above_text, below_text)
    assert not found.unjudged
    for alias in ALIASES:
        # What sshjup checks: the values its block sets (a Port only where it has one).
        keys = ("hostname", "user", "localforward") + (("port",) if alias.endswith("1") else ())
        before, after = sshg.ssh_g(alone, alias), sshg.ssh_g(full, alias)
        assert before.ok, before.error()
        assert after.ok, after.error()
        changed = any(before.values(k) != after.values(k) for k in keys)
        assert not changed or alias in found.exposed, (alias, full.read_text())


# --- what apply checks with ssh -G ---------------------------------------------------------------


def node(i: int) -> Target:
    return Target(
        f"n{i:02d}", f"n{i:02d}.example.org", user="alice", forwards=(Forward(9100 + i, 8889),)
    )


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The aliases sshjup's own ssh -G runs resolve (the real ssh runs): ``ALIAS (fed)`` for
    the run that reads the new text through a pipe as it is made (hosts._FedCheck)."""
    seen: list[str] = []
    real, real_start = openssh.resolve, openssh.start_resolve
    real_fed = openssh.FedResolve.__init__

    def fed(self: openssh.FedResolve, alias: str) -> None:
        seen.append(f"{alias} (fed)")
        real_fed(self, alias)

    def resolve(path: Path, alias: str, **kwargs: object) -> openssh.Resolved:
        seen.append(alias)
        return real(path, alias, **kwargs)  # type: ignore[arg-type]

    def start_resolve(path: Path, alias: str) -> proc.Started:
        seen.append(alias)
        return real_start(path, alias)

    monkeypatch.setattr(openssh, "resolve", resolve)
    monkeypatch.setattr(openssh, "start_resolve", start_resolve)
    monkeypatch.setattr(openssh.FedResolve, "__init__", fed)
    return seen


def apply(config: Path, tmp_path: Path, count: int) -> hosts.ChangeResult:
    where = hosts.Where(ssh_config=config, inventory=tmp_path / "app" / "inventory.yaml")
    desired = inventory.Inventory()
    for i in range(count):
        desired.hosts[node(i).name] = node(i)
    return hosts.apply_inventory(where, desired)


def test_apply_on_a_plain_config_checks_one_alias(
    ssh_config: Path, tmp_path: Path, spy: list[str]
) -> None:
    ssh_config.write_text("Host build\n    HostName build.example.org\n\nHost *\n    User me\n")
    result = apply(ssh_config, tmp_path, 12)
    assert spy == ["jup-n00 (fed)"]  # (and no run on the file: what it read was the file's text)
    assert result.verified == ["jup-n00"]
    assert [w for w in result.warnings if not w.startswith("local port")] == []
    for i in (0, 5, 11):  # and the file means what sshjup says, for every alias
        assert openssh.resolve(ssh_config, f"jup-n{i:02d}").get("user") == "alice"


def with_lines_above(config: Path, lines: str) -> None:
    """The user moved sshjup's section below ``lines`` (it stays where they put it)."""
    config.write_text(lines + config.read_text())


def test_apply_checks_the_aliases_lines_outside_the_section_apply_to(
    ssh_config: Path, tmp_path: Path, spy: list[str]
) -> None:
    ssh_config.write_text("")
    apply(ssh_config, tmp_path, 1)
    with_lines_above(ssh_config, "Host jup-n07* jup-n1?\n    User bob\n")
    spy.clear()
    result = apply(ssh_config, tmp_path, 14)
    # The first changed alias (n01; n00 is unchanged), then the exposed ones, three in all.
    checked = ["jup-n01", "jup-n07", "jup-n10"]
    assert sorted(spy) == ["jup-n01 (fed)", "jup-n07", "jup-n10"]
    assert result.verified == checked
    wrong = [w for w in result.warnings if "ssh resolves User to 'bob'" in w]
    assert [w.split(":")[0] for w in wrong] == ["jup-n07", "jup-n10"]
    assert "sets it first" in wrong[0]
    [unchecked] = [w for w in result.warnings if "outside sshjup's section" in w]
    assert unchecked == (
        f"lines of {ssh_config} outside sshjup's section set a host name, user, port or forward "
        "for more of the changed aliases than ssh -G checks in one change: it checked jup-n01, "
        "jup-n07, jup-n10, not jup-n11, jup-n12, jup-n13 (run `sshjup doctor` to check each)"
    )


def test_apply_spreads_its_checks_when_only_ssh_can_judge(
    ssh_config: Path, tmp_path: Path, spy: list[str]
) -> None:
    ssh_config.write_text("Host *\n    User me\n\nMatch host nothing.example.org\n    Port 1\n")
    result = apply(ssh_config, tmp_path, 9)
    # ssh may read a file with a Match twice: the run fed the text is stopped, and the file
    # itself is read instead (side by side: in any order).
    assert sorted(spy) == ["jup-n00", "jup-n00 (fed)", "jup-n04", "jup-n08"]
    assert result.verified == ["jup-n00", "jup-n04", "jup-n08"]


def test_apply_warns_of_a_busy_local_port_found_while_ssh_g_runs(
    ssh_config: Path, tmp_path: Path
) -> None:
    """The port probes of a bulk change run on a thread beside ssh -G: a port something
    listens on is still named, and only that one."""
    import socket

    ssh_config.write_text("")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        where = hosts.Where(ssh_config=ssh_config, inventory=tmp_path / "app" / "inventory.yaml")
        desired = inventory.Inventory()
        for i, local in enumerate([port, 0, 0]):
            t = node(i)
            if local:
                t = Target(t.name, t.hostname, user="alice", forwards=(Forward(local, 8889),))
            desired.hosts[t.name] = t
        result = hosts.apply_inventory(where, desired)
    busy_warnings = [w for w in result.warnings if w.startswith("local port")]
    assert busy_warnings == [
        f"local port {port} is in use on this machine right now; `ssh jup-n00` will fail "
        "until it is free (see `sshjup doctor`)"
    ]
