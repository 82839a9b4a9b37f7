"""sshconf 0.2.7's sharp edges, each pinned, next to proof that sshjup's own path avoids it.

sshjup uses sshconf only to read back the section it wrote itself (``parse_section``); the
user's file is handled as text by ``sshjup.ssh.sshconfig``. Each test first asserts what sshconf
does today (so a new sshconf release that changes it is noticed), then what sshjup does with
the same input. Include cycles make ``sshconf.read_ssh_config`` loop forever, so that one is
never called on a cycle: only sshjup's alias scan is run on one.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sshconf

from sshjup import hosts
from sshjup.errors import HostExists, InvalidInput
from sshjup.models import Forward, Target, validate_hostname, validate_user
from sshjup.ssh import sshconfig
from tests.support import sshg

IP = "192.0.2.30"


@pytest.fixture(autouse=True)
def _ssh_only_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sshg.restrict_path(monkeypatch, tmp_path / "ssh-only-bin")


def test_sshconf_is_the_pinned_version() -> None:
    assert sshconf.__version__ == "0.2.7", "re-check every test in this file for a new sshconf"


def sshconf_roundtrip(path: Path, data: bytes) -> bytes:
    """sshconf's read + write with no change in between."""
    path.write_bytes(data)
    sshconf.read_ssh_config_file(str(path)).write(str(path))
    return path.read_bytes()


def target(name: str = "t", **kw: object) -> Target:
    return Target(name=name, hostname=IP, **kw)  # type: ignore[arg-type]


def add_then_remove(config: Path, tgt: Target) -> tuple[bytes, bytes]:
    """sshjup's real path (api: lock, render, ssh -G check, atomic write); bytes after each."""
    where = hosts.Where.locate(config)
    hosts.add_target(where, tgt)
    added = config.read_bytes()
    hosts.remove_target(where, tgt.name)
    return added, config.read_bytes()


# --- 1.3 round-trip fidelity -------------------------------------------------------------------


def test_sshconf_drops_the_final_newline_sshjup_keeps_it(tmp_path: Path, ssh_config: Path) -> None:
    data = b"Host a\n  HostName a.example.org\n"
    assert sshconf_roundtrip(tmp_path / "c", data) == data[:-1]

    ssh_config.write_bytes(data)
    added, removed = add_then_remove(ssh_config, target())
    assert added.endswith(data) and added.endswith(b"\n")
    assert removed == data


def test_sshconf_turns_crlf_into_lf_sshjup_keeps_crlf(tmp_path: Path, ssh_config: Path) -> None:
    data = b"Host a\r\n  HostName a.example.org\r\n"
    assert sshconf_roundtrip(tmp_path / "c", data) == b"Host a\n  HostName a.example.org"

    ssh_config.write_bytes(data)
    added, removed = add_then_remove(ssh_config, target())
    assert added.count(b"\n") == added.count(b"\r\n"), "every line of the section is CRLF too"
    assert removed == data


def test_sshconf_splits_lines_at_u2028_sshjup_does_not(tmp_path: Path, ssh_config: Path) -> None:
    # A comment holding U+2028: for OpenSSH one comment line; for sshconf two lines, the
    # second one a live ProxyCommand that its next write turns into a real directive.
    data = "# note\u2028ProxyCommand touch /nonexistent/pwned\nHost a\n".encode()
    path = tmp_path / "c"
    path.write_bytes(data)
    parsed = sshconf.read_ssh_config_file(str(path))
    assert [line.key for line in parsed.lines_[:2]] == [None, "ProxyCommand"]
    assert b"\nProxyCommand touch" in sshconf_roundtrip(path, data)

    ssh_config.write_bytes(data)
    assert sshg.ssh_g(ssh_config, "a").value("proxycommand") is None
    added, removed = add_then_remove(ssh_config, target())
    assert data in added  # the comment line, U+2028 and all, is untouched
    assert removed == data
    assert sshg.ssh_g(ssh_config, "a").value("proxycommand") is None
    assert sshconfig.scan_directives(sshconfig.decode(data))[0].line == 2  # one line, not two
    # and a value holding U+2028 never reaches a renderer
    for validate in (validate_hostname, validate_user):
        with pytest.raises(InvalidInput):
            validate("x\u2028ProxyCommand touch /nonexistent/pwned")


# --- 1.3 parsing: Key=Value, Host=, '#' ---------------------------------------------------------


def test_sshconf_does_not_parse_key_equals_value_sshjup_does(ssh_config: Path) -> None:
    text = "Host a\n    HostName=a.example.org\n    User = alice\n"
    parsed = sshconf.SshConfigFile(text.splitlines())
    assert parsed.host("a") == {"user": "= alice"}  # HostName=... unseen, '= ' kept in User
    parsed.set("a", HostName="b.example.org")
    assert parsed.config().count("HostName") == 2  # a second line that ssh would ignore

    assert sshconfig.split_keyword("    HostName=a.example.org") == ("HostName", "a.example.org")
    assert sshconfig.split_keyword("    User = alice") == ("User", "alice")
    # sshjup sees a Key=Value setting above its section as the line that wins
    section = sshconfig.render_section(["Host jup-t"], terminator=False, eol="\n")
    doc = sshconfig.decode(f"User=bob\n{section}".encode())
    [override] = sshconfig.earlier_settings(doc, "jup-t", ["User"])
    assert (override.keyword, override.value, override.line) == ("user", "bob", 1)
    ssh_config.write_text(text)
    assert sshg.ssh_g(ssh_config, "a").value("hostname") == "a.example.org"


def test_sshconf_does_not_see_host_equals_sshjup_does(ssh_config: Path) -> None:
    text = "Host a\n    HostName a.example\nHost=jup-b\n    HostName b.example\n"
    parsed = sshconf.SshConfigFile(text.splitlines())
    assert parsed.hosts() == ("a",)
    assert parsed.host("a") == {"hostname": ["a.example", "b.example"]}
    parsed.set("a", HostName="new-a.example")
    assert "b.example" not in parsed.config()  # block b lost its HostName

    doc = sshconfig.decode(text.encode())
    assert sshconfig.concrete_aliases(sshconfig.scan_directives(doc)) == {"a": 1, "jup-b": 3}
    ssh_config.write_text(text)
    with pytest.raises(HostExists, match=r"'jup-b' is already defined at .*:3"):
        hosts.add_target(hosts.Where.locate(ssh_config), target("b"))
    assert ssh_config.read_text() == text


def test_sshconf_multi_pattern_host_is_one_string_sshjup_splits_it(ssh_config: Path) -> None:
    text = "Host a jup-c\n  HostName a\n"
    parsed = sshconf.SshConfigFile(text.splitlines())
    assert parsed.hosts() == ("a jup-c",)
    assert parsed.host("a") == {}

    ssh_config.write_text(text)
    with pytest.raises(HostExists, match="'jup-c'"):
        hosts.add_target(hosts.Where.locate(ssh_config), target("c"))


def test_sshconf_cuts_values_at_any_hash_openssh_and_sshjup_only_at_a_token_start(
    ssh_config: Path,
) -> None:
    parsed = sshconf.SshConfigFile(["Host a", "  HostName a#b", "  User u #comment"])
    assert parsed.host("a") == {"hostname": "a", "user": "u"}

    ssh_config.write_text("Host a\n  HostName a#b\n  User u #comment\n")
    resolved = sshg.ssh_g(ssh_config, "a")
    assert (resolved.value("hostname"), resolved.value("user")) == ("a#b", "u")
    assert sshconfig.split_args("a#b") == ["a#b"]
    assert sshconfig.split_args("u #comment") == ["u"]
    doc = sshconfig.decode(b"Host a#b x #y\n")
    assert sshconfig.concrete_aliases(sshconfig.scan_directives(doc)) == {"a#b": 1, "x": 1}


# --- 1.5 set() and unset() ----------------------------------------------------------------------


def test_sshconf_set_reverses_a_list_and_empties_the_callers_list(ssh_config: Path) -> None:
    parsed = sshconf.SshConfigFile(
        ["Host a", "  LocalForward 1 l:1", "  LocalForward 2 l:2", "  LocalForward 3 l:3"]
    )
    values = ["7 l:7", "8 l:8"]
    parsed.set("a", LocalForward=values)
    assert parsed.config().splitlines()[1:] == ["  LocalForward 8 l:8", "  LocalForward 7 l:7"]
    assert values == []

    forwards = (Forward(18801, 8801), Forward(18802, 8802), Forward(18803, 8803))
    tgt = target(forwards=forwards)
    where = hosts.Where.locate(ssh_config)
    hosts.add_target(where, tgt)
    assert tgt.forwards == forwards
    resolved = sshg.ssh_g(ssh_config, tgt.alias).values("localforward")
    assert resolved == [f"[127.0.0.1]:{f.local_port} [localhost]:{f.remote_port}" for f in forwards]
    doc = sshconfig.decode(ssh_config.read_bytes())
    assert doc.section is not None
    [host] = sshconfig.parse_section(doc.section.body)
    assert host.options["localforward"] == [
        f"127.0.0.1:{f.local_port} localhost:{f.remote_port}" for f in forwards
    ]
    assert hosts.get_target(where, "t").forwards == forwards


def test_sshconf_unset_matches_keys_case_sensitively_sshjup_edits_forwards_away(
    ssh_config: Path,
) -> None:
    lines = ["Host a", "  LocalForward 1 l:1", "  LocalForward 2 l:2"]
    parsed = sshconf.SshConfigFile(lines)
    parsed.unset("a", "LocalForward")
    assert parsed.config().count("LocalForward") == 2  # nothing removed
    parsed.unset("a", "localforward")
    assert parsed.config() == "Host a"

    where = hosts.Where.locate(ssh_config)
    hosts.add_target(where, target(forwards=(Forward(18801, 8801), Forward(18802, 8802))))
    hosts.edit_target(where, "t", {"forwards": (Forward(18801, 8801),)})
    assert sshg.ssh_g(ssh_config, "jup-t").values("localforward") == [
        "[127.0.0.1]:18801 [localhost]:8801"
    ]
    assert ssh_config.read_text().count("LocalForward") == 1


# --- 1.4 add() placement ------------------------------------------------------------------------


def test_sshconf_add_appends_after_host_star_sshjup_goes_first(
    tmp_path: Path, ssh_config: Path
) -> None:
    text = "Host *\n    User bob\n"
    parsed = sshconf.SshConfigFile(text.splitlines())
    parsed.add("jup-t", HostName=IP, User="alice")
    via_sshconf = tmp_path / "via-sshconf"
    via_sshconf.write_text(parsed.config())
    assert sshg.ssh_g(via_sshconf, "jup-t").value("user") == "bob"

    ssh_config.write_text(text)
    hosts.add_target(hosts.Where.locate(ssh_config), target(user="alice"))
    assert sshg.ssh_g(ssh_config, "jup-t").value("user") == "alice"


def test_sshconf_add_before_host_captures_global_options_sshjup_keeps_them_global(
    tmp_path: Path, ssh_config: Path
) -> None:
    text = "ServerAliveInterval 60\nHost *\n    User bob\n"
    parsed = sshconf.SshConfigFile(text.splitlines())
    parsed.add("jup-t", before_host="*", HostName=IP)
    via_sshconf = tmp_path / "via-sshconf"
    via_sshconf.write_text(parsed.config())
    assert parsed.config().index("Host jup-t") < parsed.config().index("ServerAliveInterval 60")
    assert sshg.ssh_g(via_sshconf, "other").value("serveraliveinterval") == "0"  # lost

    ssh_config.write_text(text)
    hosts.add_target(hosts.Where.locate(ssh_config), target())
    assert sshg.ssh_g(ssh_config, "other").value("serveraliveinterval") == "60"
    assert f"\n{sshconfig.TERMINATOR}\n" in ssh_config.read_text()


# --- 1.6 Match and Include ----------------------------------------------------------------------


def test_sshconf_gives_match_lines_to_the_previous_host_sshjup_does_not(
    ssh_config: Path,
) -> None:
    text = (
        "Host a\n    HostName a.example\n"
        'Match host b.example exec "true"\n    User matchuser\n    Port 2222\n'
        "Host c\n    HostName c.example\n"
    )
    parsed = sshconf.SshConfigFile(text.splitlines())
    assert parsed.host("a")["user"] == "matchuser"
    parsed.remove("a")
    assert "Match" not in parsed.config()  # the Match block went with Host a

    doc = sshconfig.decode(text.encode())
    kinds = [(d.keyword, d.line) for d in sshconfig.scan_directives(doc)]
    assert kinds == [("host", 1), ("match", 3), ("host", 6)]
    assert sshconfig.concrete_aliases(sshconfig.scan_directives(doc)) == {"a": 1, "c": 6}
    # earlier_settings reads the lines above the section: put one at the end
    section = sshconfig.render_section(["Host jup-t"], terminator=False, eol="\n")
    moved = sshconfig.decode((text + section).encode())
    [override] = sshconfig.earlier_settings(moved, "a", ["User"])
    assert override.context.startswith("Match host b.example")
    assert not override.certain
    ssh_config.write_text(text)
    _, removed = add_then_remove(ssh_config, target())
    assert removed.decode() == text


def _finishes(func: object, timeout: float = 10.0) -> list[object]:
    """Run func in a thread; fail (instead of hanging the suite) if it does not return."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(func()), daemon=True)  # type: ignore[operator]
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"did not finish within {timeout} s"
    return out


def test_include_cycles_end_sshjups_alias_scan_and_fail_cleanly_in_ssh(
    tmp_path: Path, ssh_config: Path
) -> None:
    # sshconf.read_ssh_config() never returns on this (reference section 1.6): not called here.
    loop = tmp_path / "loop.conf"
    one, two = tmp_path / "one.conf", tmp_path / "two.conf"
    loop.write_text(f"Include {loop}\nHost jup-in-loop\n")
    one.write_text(f"Include {two}\nHost jup-in-one\n")
    two.write_text(f"Include {one}\nHost jup-in-two\n")
    ssh_config.write_text(f"Include {loop}\nInclude {one}\nHost a\n")
    doc = sshconfig.decode(ssh_config.read_bytes())

    def scan(alias: str) -> list[tuple[str, int]]:
        return list(hosts._alias_definitions(doc, ssh_config, alias))

    [found] = _finishes(lambda: scan("jup-in-two"))
    assert found == [(str(two.resolve()), 2)]
    [missing] = _finishes(lambda: scan("jup-nowhere"))
    assert missing == []
    ssh = sshg.ssh_g(ssh_config, "a")
    assert ssh.returncode == 255
    assert "Too many recursive configuration includes" in ssh.error()


def test_sshconf_ignores_a_multi_path_include_sshjup_follows_each_path(
    tmp_path: Path, ssh_config: Path
) -> None:
    two, three = tmp_path / "two.conf", tmp_path / "three.conf"
    two.write_text("Host jup-two\n")
    three.write_text("Host jup-three\n")
    ssh_config.write_text(f"Include {two} {three}\nHost a\n")
    read = sshconf.read_ssh_config(str(ssh_config))  # no cycle here: safe to call
    assert "jup-three" not in read.hosts()
    assert sshg.ssh_g(ssh_config, "jup-three").ok

    doc = sshconfig.decode(ssh_config.read_bytes())
    assert list(hosts._alias_definitions(doc, ssh_config, "jup-three")) == [
        (str(three.resolve()), 1)
    ]
