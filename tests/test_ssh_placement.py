"""Where sshjup's section goes, and what ``ssh -G`` then resolves (the real client decides).

OpenSSH keeps the first value it reads for User, Port, HostName..., while LocalForward lines
add up across every matching block. A new section therefore goes above anything that would
set those for ``jup-*`` aliases; once it exists it stays where the user put it, and sshjup names
the line that wins instead. A hand edit inside the section is refused unless ``--force``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sshjup.cli import cli
from sshjup.ssh.sshconfig import BEGIN_MARK, END_MARK_PREFIX, TERMINATOR
from tests.support import sshg

IP = "192.0.2.20"


@pytest.fixture(autouse=True)
def _ssh_only_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sshg.restrict_path(monkeypatch, tmp_path / "ssh-only-bin")


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def add(name: str, *extra: str, host: str = IP) -> Result:
    result = run_cli("add", host, "--name", name, "--local-port", "18800", *extra)
    return result


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def section_bounds(text: str) -> tuple[int, int]:
    start = text.index(BEGIN_MARK)
    end = text.index("\n", text.index(END_MARK_PREFIX, start)) + 1
    return start, end


def line_number(text: str, needle: str) -> int:
    """1-based number of the (only) line that equals ``needle`` once stripped."""
    found = [i for i, line in enumerate(text.split("\n"), 1) if line.strip() == needle]
    assert len(found) == 1, (needle, found)
    return found[0]


# --- a new section goes above everything that would win ----------------------------------------


@pytest.mark.parametrize(
    "top",
    [
        pytest.param(
            "Host *\n    User star\n    Port 2001\n    HostName wrong.example\n", id="host-star"
        ),
        pytest.param("User bob\nPort 2002\nHostName wrong.example\n", id="global-options"),
        pytest.param("Match all\n    User everyone\n    Port 2003\n", id="match-all"),
        pytest.param(f"Match host {IP}\n    User matched\n    Port 2004\n", id="match-host"),
        pytest.param("Match originalhost jup-*\n    User orig\n", id="match-originalhost"),
        pytest.param("Host jup-*\n    User jupyter\n    Port 2005\n", id="host-jup-star"),
        pytest.param("Host * !alpha\n    User notalpha\n", id="host-star-negated"),
        pytest.param("host=*\n  USER=shouty\n", id="lower-case-key-value"),
        pytest.param("# header\n\nUser bob\n", id="header-then-global"),
    ],
)
def test_new_alias_gets_the_requested_values_whatever_comes_first(
    top: str, ssh_config: Path
) -> None:
    original = top + "\nHost alpha\n    HostName alpha.example.org\n"
    ssh_config.write_text(original)
    before = sshg.ssh_g(ssh_config, "alpha")
    result = ok(add("t", "--user", "alice", "--port", "2222"))
    resolved = sshg.ssh_g(ssh_config, "jup-t")
    assert resolved.ok, resolved.error()
    assert resolved.value("user") == "alice"
    assert resolved.value("port") == "2222"
    assert resolved.value("hostname") == IP
    assert "sets it first" not in result.stderr
    # and nothing else moved
    assert sshg.ssh_g(ssh_config, "alpha").comparable(ssh_config) == before.comparable(ssh_config)


def test_host_star_user_first_in_the_file_does_not_beat_the_requested_user(
    ssh_config: Path,
) -> None:
    ssh_config.write_text("Host *\n    User star\n\nHost alpha\n    HostName alpha.example.org\n")
    ok(add("t", "--user", "alice"))
    text = ssh_config.read_text()
    assert text.index(BEGIN_MARK) < text.index("Host *")
    assert sshg.ssh_g(ssh_config, "jup-t").value("user") == "alice"
    assert sshg.ssh_g(ssh_config, "alpha").value("user") == "star"


def test_global_options_stay_global_behind_a_match_all_terminator(ssh_config: Path) -> None:
    original = (
        "User bob\n"
        "Port 2100\n"
        "ServerAliveInterval 20\n"
        "\n"
        "Host alpha\n"
        "    HostName alpha.example.org\n"
        "\n"
        "Host beta\n"
        "    HostName beta.example.org\n"
        "    User bee\n"
    )
    ssh_config.write_text(original)
    names = ["alpha", "beta", "192.0.2.99", "other-host"]
    before = {n: sshg.ssh_g(ssh_config, n).comparable(ssh_config) for n in names}

    ok(add("t", "--user", "alice", "--port", "2222"))
    text = ssh_config.read_text()
    start, end = section_bounds(text)
    section_lines = text[start:end].splitlines()
    assert section_lines[-2] == TERMINATOR, "global options must not fall under Host jup-t"
    assert text[end:] == original

    mine = sshg.ssh_g(ssh_config, "jup-t")
    assert (mine.value("user"), mine.value("port")) == ("alice", "2222")
    # a global option sshjup does not set still reaches the new alias
    assert mine.value("serveraliveinterval") == "15"  # sshjup's own value comes first
    for name in names:
        assert sshg.ssh_g(ssh_config, name).comparable(ssh_config) == before[name], name
    # without --user the global User applies to the new alias too: that is what the user wrote
    ok(add("u", "--local-port", "18801"))
    assert sshg.ssh_g(ssh_config, "jup-u").value("user") == "bob"

    ok(run_cli("remove", "t"))
    ok(run_cli("remove", "u"))
    assert ssh_config.read_text() == original


def test_no_terminator_when_a_host_line_follows(ssh_config: Path) -> None:
    ssh_config.write_text("# header\n\nHost alpha\n    User ann\n")
    ok(add("t"))
    text = ssh_config.read_text()
    assert TERMINATOR not in text


def test_forwards_from_a_users_jup_star_block_add_up_and_are_reported(ssh_config: Path) -> None:
    ssh_config.write_text(
        "Host jup-*\n"
        "    User jupyter\n"
        "    LocalForward 127.0.0.1:17200 localhost:17200\n"
        "\n"
        "Host alpha\n"
        "    HostName alpha.example.org\n"
    )
    result = ok(add("t", "--user", "alice", "--forward", "16006:16006"))
    resolved = sshg.ssh_g(ssh_config, "jup-t")
    assert resolved.value("user") == "alice"
    assert resolved.values("localforward") == [
        "[127.0.0.1]:18800 [localhost]:8889",
        "[127.0.0.1]:16006 [localhost]:16006",
        "[127.0.0.1]:17200 [localhost]:17200",
    ]
    assert "jup-t: ssh adds forward(s) sshjup did not write: [127.0.0.1]:17200" in result.stderr
    assert "LocalForward lines add up across every matching block" in result.stderr


def test_a_moved_section_stays_where_the_user_put_it_and_the_winning_line_is_named(
    ssh_config: Path,
) -> None:
    ssh_config.write_text(
        "Host alpha\n    HostName alpha.example.org\n\nHost *\n    User star\n    Port 2300\n"
    )
    ok(add("t", "--user", "alice", "--port", "2222"))
    text = ssh_config.read_text()
    start, end = section_bounds(text)
    section = text[start:end]
    # The user cuts the section and pastes it at the end, below Host *.
    moved = text[:start] + text[end:] + "\n" + section
    ssh_config.write_text(moved)
    star_user_line = line_number(moved, "User star")
    star_port_line = line_number(moved, "Port 2300")

    # edit: the section is rewritten in place, and the overriding lines are named
    result = ok(run_cli("edit", "t", "--local-port", "18810"))
    after_edit = ssh_config.read_text()
    new_start, _ = section_bounds(after_edit)
    assert after_edit[:new_start] == moved[: moved.index(BEGIN_MARK)]
    assert "LocalForward 127.0.0.1:18810 localhost:8889" in after_edit[new_start:]
    config = re.escape(str(ssh_config))
    assert re.search(
        rf"jup-t: ssh resolves User to 'star', not 'alice'; line {star_user_line} of {config} "
        r"\(`user star` under `Host \*`\) sets it first",
        result.stderr,
    ), result.stderr
    assert re.search(
        rf"jup-t: ssh resolves Port to '2300', not '2222'; line {star_port_line} of {config}",
        result.stderr,
    ), result.stderr
    assert "move sshjup's section above that block" in result.stderr

    # add: a second host joins the section where it is, with the same explanation
    result = ok(add("u", "--user", "bob", "--local-port", "18811"))
    after_add = ssh_config.read_text()
    assert after_add[: after_add.index(BEGIN_MARK)] == moved[: moved.index(BEGIN_MARK)]
    assert f"line {star_user_line} of {ssh_config}" in result.stderr
    assert "jup-u: ssh resolves User to 'star', not 'bob'" in result.stderr
    assert sshg.ssh_g(ssh_config, "jup-u").value("user") == "star"  # ssh agrees with the warning


def test_an_override_under_match_is_named_with_its_condition(ssh_config: Path) -> None:
    ssh_config.write_text("Host alpha\n    HostName alpha.example.org\n")
    ok(add("t", "--user", "alice"))
    text = ssh_config.read_text()
    start, end = section_bounds(text)
    match_line = "Match originalhost jup-*"
    moved = f"{match_line}\n    User matched\n\n{text[:start]}{text[end:]}{text[start:end]}"
    ssh_config.write_text(moved)
    result = ok(run_cli("edit", "t", "--local-port", "18812"))
    assert "ssh resolves User to 'matched', not 'alice'; line 2 of" in result.stderr
    assert f"under `{match_line}`) (if that Match applies)" in result.stderr
    assert sshg.ssh_g(ssh_config, "jup-t").value("user") == "matched"


def test_a_hand_edit_inside_the_section_is_refused_with_a_diff_until_force(
    ssh_config: Path,
) -> None:
    ssh_config.write_text("Host alpha\n    HostName alpha.example.org\n")
    ok(add("t", "--user", "alice"))
    edited = ssh_config.read_text().replace("    User alice\n", "    User mallory\n")
    ssh_config.write_text(edited)

    attempts = [
        ("edit", "t", "--port", "2223"),
        ("add", IP, "--name", "u", "--local-port", "18820"),
        ("remove", "t"),
    ]
    for args in attempts:
        refused = run_cli(*args)
        assert refused.exit_code == 3, (args, refused.stdout, refused.stderr)
        assert "changed by hand" in refused.stderr
        assert "-    User mallory" in refused.stderr
        if args[0] != "remove":
            assert "+    User alice" in refused.stderr
        assert "--force" in refused.stderr
        assert ssh_config.read_text() == edited

    forced = ok(run_cli("edit", "t", "--port", "2223", "--force"))
    assert forced.exit_code == 0
    text = ssh_config.read_text()
    assert "User mallory" not in text
    resolved = sshg.ssh_g(ssh_config, "jup-t")
    assert (resolved.value("user"), resolved.value("port")) == ("alice", "2223")
    ok(run_cli("remove", "t"))
    assert ssh_config.read_text() == "Host alpha\n    HostName alpha.example.org\n"


def test_rewriting_the_same_host_changes_nothing(ssh_config: Path) -> None:
    ssh_config.write_text("Host alpha\n    HostName alpha.example.org\n")
    ok(add("t", "--user", "alice"))
    first = ssh_config.read_bytes()
    again = ok(add("t", "--user", "alice"))
    assert "nothing written" in again.stdout
    assert ssh_config.read_bytes() == first
