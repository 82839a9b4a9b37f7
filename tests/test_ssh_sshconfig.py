"""The pure functions of sshjup.ssh.sshconfig, checked against OpenSSH's own rules.

Where a rule can be observed, ``ssh -G`` is the referee (tokenising, ``Key=Value``, Host
pattern matching with negation); the rest are exact expectations (insertion point, the
section's digest, damaged markers).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sshjup import hosts
from sshjup.cli import cli
from sshjup.errors import ConfigParseError
from sshjup.models import Forward, Target
from sshjup.ssh import sshconfig
from sshjup.ssh.sshconfig import (
    BEGIN_MARK,
    END_MARK_PREFIX,
    TERMINATOR,
    Capabilities,
    decode,
    digest,
    earlier_settings,
    host_line_matches,
    insertion_offset,
    pattern_matches,
    plan_text,
    render_block,
    render_section,
    split_args,
    split_keyword,
)
from tests.support import sshg


@pytest.fixture(autouse=True)
def _ssh_only_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sshg.restrict_path(monkeypatch, tmp_path / "ssh-only-bin")


# --- split_keyword: whitespace or one '=' (readconf.c strdelim) ---------------------------------

KEYWORD_LINES = [
    ("HostName x", ("HostName", "x")),
    ("HostName=x", ("HostName", "x")),
    ("HostName = x", ("HostName", "x")),
    ("HostName =x", ("HostName", "x")),
    ("HostName= x", ("HostName", "x")),
    ("HostName==x", ("HostName", "=x")),
    ("\tHostName\t=\tx", ("HostName", "x")),
    ("    HOSTNAME x", ("HOSTNAME", "x")),
    ("HostName x\r", ("HostName", "x")),
    ("HostName x\f", ("HostName", "x")),
    ("HostName x   # trailing comment", ("HostName", "x   # trailing comment")),
    ('HostName "x"', ("HostName", '"x"')),
]


@pytest.mark.parametrize(("line", "expected"), KEYWORD_LINES)
def test_split_keyword_splits_like_openssh(
    line: str, expected: tuple[str, str], tmp_path: Path
) -> None:
    assert split_keyword(line) == expected
    config = tmp_path / "c"
    config.write_bytes(f"Host t\n{line}\n".encode())
    resolved = sshg.ssh_g(config, "t")
    assert resolved.ok, resolved.error()
    keyword, rest = expected
    assert resolved.value(keyword.lower()) == (split_args(rest) or [""])[0].lower()


def test_split_keyword_of_blank_and_comment_lines() -> None:
    assert split_keyword("") == ("", "")
    assert split_keyword(" \t\r") == ("", "")
    assert split_keyword("# Host a")[0].startswith("#")
    assert split_keyword("  #Host a")[0].startswith("#")


# --- split_args: argv_split(..., terminate_on_comment=1) -----------------------------------------

ARG_CASES = [
    ("a b", ["a", "b"]),
    ("a\tb  c", ["a", "b", "c"]),
    ('"a b" c', ["a b", "c"]),
    ("'a b'", ["a b"]),
    ('a"b c"d', ["ab cd"]),
    ("a\\ b", ["a b"]),
    ('"a\\"b"', ['a"b']),
    ("'a\\'b'", ["a'b"]),
    ("a\\\\b", ["a\\b"]),
    ("a\\xb", ["a\\xb"]),  # an unknown escape keeps its backslash
    ('"a\\ b"', ["a\\ b"]),  # inside quotes, backslash-space is not an escape
    ("a#b", ["a#b"]),
    ("a #b", ["a"]),
    ('"#a" b', ["#a", "b"]),
    ("#a b", []),
    ("a\\", ["a\\"]),
    ('"a', None),
    ("'a b", None),
    ("a 'b", None),
]


@pytest.mark.parametrize(("rest", "expected"), ARG_CASES)
def test_split_args_tokenises_like_openssh(
    rest: str, expected: list[str] | None, tmp_path: Path
) -> None:
    assert split_args(rest) == expected
    assert sshg.argv_split(rest) == expected  # the test's own port agrees
    # ssh -G is the referee: it prints one `sendenv` line per SendEnv argument.
    config = tmp_path / "c"
    config.write_bytes(f"Host t\n    SendEnv {rest}\n".encode())
    resolved = sshg.ssh_g(config, "t")
    if expected is None:
        assert resolved.returncode == 255
        assert "invalid quotes" in resolved.error()
    else:
        assert resolved.ok, resolved.error()
        assert resolved.values("sendenv") == expected


def test_split_args_keeps_an_empty_quoted_argument() -> None:
    assert split_args('""') == [""]
    assert split_args("") == []


_keywords = st.sampled_from(
    ["Host", "HOST", "host", "Match", "Include", "HostName", "Hostx", "#Host"]
)
_separators = st.sampled_from([" ", "\t", "=", " = ", "=\t", "  ", "\t=", "=="])
_tokens = st.from_regex(r"[a-z*?!#\"'\\ -]{0,6}", fullmatch=True)
_lines = st.builds(
    lambda lead, kw, sep, args, end: lead + kw + sep + " ".join(args) + end,
    st.sampled_from(["", " ", "\t", "  \t", "\f", "\u00a0"]),
    _keywords,
    _separators,
    st.lists(_tokens, max_size=3),
    st.sampled_from(["", "\r", " ", "\f", " #c"]),
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(_lines, max_size=6))
def test_alias_scan_agrees_with_an_independent_reading_of_openssh_rules(lines: list[str]) -> None:
    """scan_directives + concrete_aliases == the test's own port of readconf.c (sshg)."""
    data = "\n".join(lines).encode()
    ours = sshconfig.concrete_aliases(sshconfig.scan_directives(decode(data)))
    theirs: dict[str, int] = {}
    for number, line in enumerate(sshg.config_lines(data), 1):
        keyword, args = sshg.keyword_and_args(line)
        if keyword == "host":
            for arg in args:
                if arg and arg[0] != "!" and "*" not in arg and "?" not in arg:
                    theirs.setdefault(arg, number)
    assert ours == theirs


# --- Host patterns: * and ?, case-sensitive, a matching !pattern disables the line -------------

HOST_LINES = [
    "jup-*",
    "jup-?",
    "*",
    "* !jup-*",
    "!jup-t",
    "jup-t !jup-t",
    "!jup-t jup-t",
    "JUP-*",
    "a.b",
    "*t",
    "j*p-*t",
    "[ab]",
    "* !alpha !beta",
]
NAMES = ["jup-t", "jup-tt", "JUP-T", "alpha", "axb", "a.b", "[ab]", "a"]


def test_host_patterns_match_exactly_like_openssh(tmp_path: Path) -> None:
    config = tmp_path / "c"
    mismatches = []
    for line in HOST_LINES:
        config.write_text(f"Host {line}\n    User matched\n")
        for name in NAMES:
            ours = host_line_matches(split_args(line) or [], name)
            resolved = sshg.ssh_g(config, name)
            assert resolved.ok, (name, resolved.error())
            theirs = resolved.value("user") == "matched"
            if ours != theirs:
                mismatches.append((line, name, ours, theirs))
    assert mismatches == []


def test_pattern_matches_wildcards() -> None:
    assert pattern_matches("jup-*", "jup-t")
    assert pattern_matches("jup-?", "jup-t")
    assert not pattern_matches("jup-?", "jup-tt")
    assert pattern_matches("*", "")
    assert not pattern_matches("a.b", "axb")
    assert not pattern_matches("JUP-*", "jup-t")
    assert pattern_matches("**", "x")


# --- insertion_offset: after a leading comment header, before anything else ------------------


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("", 0),
        ("Host a\n", 0),
        ("User bob\n", 0),
        ("# header\n\nHost a\n", len("# header\n\n")),
        ("# comment that belongs to the block\nHost a\n", 0),
        ("# header\n\n# about a\nHost a\n", len("# header\n\n")),
        ("# one\n# two\n\n\n# three\n\nHost a\n", len("# one\n# two\n\n\n# three\n\n")),
        ("# header\n\n", len("# header\n\n")),
        ("\n\n\n", 3),
        ("# header\r\n\r\nHost a\r\n", len("# header\r\n\r\n")),
        ("  # indented\n\t\n Host a\n", len("  # indented\n\t\n")),
        ("# header\n   ", 0),  # a whitespace-only last line without newline is no boundary
        ("# only a comment", 0),
        ("\u00a0\n\nHost a\n", 0),  # NBSP is not blank for OpenSSH
        ("# c\n\nHost a\n\n# later\n\n", len("# c\n\n")),
    ],
)
def test_insertion_offset(text: str, offset: int) -> None:
    assert insertion_offset(text) == offset


# --- plan_text: one insertion; Match all only when global options follow ----------------------

BODY = ["Host jup-t", "    HostName 192.0.2.1"]


@pytest.mark.parametrize(
    ("text", "terminator"),
    [
        ("", False),
        ("Host a\n", False),
        ("host=a\n", False),
        ("Match all\n  User x\n", False),
        ("User bob\nHost a\n", True),
        ("# c\n\nInclude /nonexistent/x\n", True),
        ("# c\n\n# only comments\n", False),
        ("Port=22\n", True),
    ],
)
def test_plan_text_inserts_one_section_with_a_terminator_when_needed(
    text: str, terminator: bool
) -> None:
    doc = decode(text.encode())
    new = plan_text(doc, BODY)
    start = new.index(BEGIN_MARK)
    end = new.index("\n", new.index(END_MARK_PREFIX)) + 1
    assert new[:start] + new[end:] == text
    assert (TERMINATOR in new[start:end]) is terminator
    # removing the only host removes the whole section
    assert plan_text(decode(new.encode()), []) == text


def test_plan_text_replaces_an_existing_section_in_place() -> None:
    head, tail = "Host a\n    User ann\n\n", "\nHost *\n    User star\n"
    first = plan_text(decode((head + tail).encode()), BODY)
    start = first.index(BEGIN_MARK)
    moved = head + tail + first[start:]  # the user moved it to the end
    doc = decode(moved.encode())
    again = plan_text(doc, [*BODY, "    User alice"])
    assert again.startswith(head + tail)
    assert "    User alice\n" in again[len(head + tail) :]
    assert plan_text(decode(b"Host a\n"), []) == "Host a\n"


def test_plan_text_writes_the_files_line_endings() -> None:
    doc = decode(b"Host a\r\n")
    new = plan_text(doc, BODY)
    assert new.count("\n") == new.count("\r\n")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Host a\n",
        "Host a\r\n    User x\r\n",
        "User bob\nHost a\n",
        "Host a",  # (no final line ending)
        "Host a\n" + render_section(["Host jup-old"], terminator=False, eol="\n") + "Host b\n",
        render_section(["Host jup-old"], terminator=True, eol="\r\n") + "User z\r\n",
    ],
)
@pytest.mark.parametrize("body", [BODY, [*BODY, "    User alice"], []])
def test_plan_is_the_new_text_read_again(text: str, body: list[str]) -> None:
    """plan() knows where it put the section; reading its text back finds the same."""
    planned = sshconfig.plan(decode(text.encode()), body)
    assert planned == sshconfig.from_text(planned.text)
    assert planned.text == plan_text(decode(text.encode()), body)


# --- earlier_settings: the line that wins, for a warning ----------------------------------------


def with_section_after(text: str) -> sshconfig.ConfigDoc:
    section = render_section(["Host jup-t"], terminator=False, eol="\n")
    return decode((text + section + "Host *\n    User later\n").encode())


def test_earlier_settings_names_the_first_line_per_keyword() -> None:
    doc = with_section_after(
        "# User commented\n"
        "Host other\n    User other\n"
        "Host * !alpha\n    USER=star\n    Port 2000\n    User second\n"
        "Match all\n    Port 3000\n"
    )
    found = {o.keyword: o for o in earlier_settings(doc, "jup-t", ["User", "PORT", "HostName"])}
    assert set(found) == {"user", "port"}
    assert (found["user"].line, found["user"].value) == (5, "star")
    assert found["user"].context == "Host * !alpha"
    assert found["user"].context_line == 4
    assert found["user"].certain
    assert found["port"].line == 6


def test_earlier_settings_respects_negation_and_reads_only_above_the_section() -> None:
    doc = with_section_after("Host * !jup-*\n    User notjup\n")
    assert earlier_settings(doc, "jup-t", ["User"]) == []
    doc = with_section_after("Host jup-x\n    User x\n")
    assert earlier_settings(doc, "jup-t", ["User"]) == []


def test_earlier_settings_global_and_match_contexts() -> None:
    doc = with_section_after("User bob\n")
    [o] = earlier_settings(doc, "jup-t", ["User"])
    assert (o.context, o.line, o.certain) == ("global", 1, True)
    doc = with_section_after("Match host gpu.example.org\n    User m\n")
    [o] = earlier_settings(doc, "jup-t", ["User"])
    assert (o.context, o.certain) == ("Match host gpu.example.org", False)
    doc = with_section_after("Host nothing\nMatch all\n    User everyone\n")
    [o] = earlier_settings(doc, "jup-t", ["User"])
    assert (o.context, o.line, o.certain) == ("Match all", 3, True)


def test_earlier_settings_without_a_section_looks_only_at_the_header() -> None:
    assert earlier_settings(decode(b"User bob\nHost a\n"), "jup-t", ["User"]) == []


# --- the section: digest, hand edits, damaged markers --------------------------------------------


def test_the_digest_covers_the_lines_not_the_line_endings() -> None:
    lf = decode(render_section(BODY, terminator=True, eol="\n").encode())
    crlf = decode(render_section(BODY, terminator=True, eol="\r\n").encode())
    assert lf.section is not None
    assert crlf.section is not None
    assert lf.section.body == (*BODY, TERMINATOR) == crlf.section.body
    assert lf.section.recorded_digest == crlf.section.recorded_digest == digest([*BODY, TERMINATOR])
    assert not lf.section.hand_edited
    assert not crlf.section.hand_edited
    assert (lf.section.begin_line, lf.section.end_line) == (1, len(BODY) + 3)


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace("192.0.2.1", "192.0.2.2"),
        lambda s: s.replace("    HostName", "\tHostName"),
        lambda s: s.replace("Host jup-t\n", "Host jup-t\n    User mallory\n"),
        lambda s: s.replace("    HostName 192.0.2.1\n", ""),
        lambda s: s.replace("    HostName 192.0.2.1\n", "    HostName 192.0.2.1 \n"),
    ],
)
def test_any_hand_edit_inside_the_section_is_detected(edit: object) -> None:
    text = "Host a\n" + render_section(BODY, terminator=False, eol="\n")
    edited = edit(text)  # type: ignore[operator]
    assert edited != text
    doc = decode(edited.encode())
    assert doc.section is not None
    assert doc.section.hand_edited


GOOD = render_section(BODY, terminator=False, eol="\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace(GOOD.splitlines()[-1] + "\n", ""), "end marker is missing"),
        (GOOD.split("\n", 1)[1], "no start marker before it"),
        (GOOD + GOOD, "more than one sshjup start marker"),
        ("Host a " + GOOD, "must be on a line of its own"),
        (GOOD.replace("(sha256:", "(sha256:zz"), "end marker is damaged"),
        (GOOD.replace(" <<<\n", "\n"), "end marker is damaged"),
    ],
)
def test_damaged_markers_are_a_parse_error_with_exit_code_5(
    text: str, message: str, ssh_config: Path
) -> None:
    with pytest.raises(ConfigParseError, match=message) as info:
        decode(text.encode())
    assert info.value.exit_code == 5
    assert "backup" in (info.value.hint or "")

    ssh_config.write_text(text)
    result = CliRunner().invoke(cli, ["add", "192.0.2.1", "--name", "t"])
    assert result.exit_code == 5, result.stdout + result.stderr
    assert message in result.stderr
    assert ssh_config.read_text() == text


def test_decode_of_a_missing_file() -> None:
    doc = decode(None)
    assert (doc.exists, doc.text, doc.section) == (False, "", None)
    assert decode(b"").exists


def test_decode_keeps_undecodable_bytes() -> None:
    data = b"# caf\xe9 (latin-1)\nHost a\n"
    doc = decode(data)
    assert doc.encode() == data
    new = plan_text(doc, BODY)
    assert (
        plan_text(decode(new.encode("utf-8", "surrogateescape")), []).encode(
            "utf-8", "surrogateescape"
        )
        == data
    )


# --- render_block ---------------------------------------------------------------------------------


def test_render_block_writes_the_bind_address_and_only_supported_keywords() -> None:
    target = Target(
        name="gpu",
        hostname="gpu.example.org",
        forwards=(Forward(8888, 8889), Forward(6006, 6006)),
        user="alice",
        port=2222,
    )
    full = render_block(target, Capabilities(), "/tmp/sj")
    assert full[0] == "Host jup-gpu"
    assert "    LocalForward 127.0.0.1:8888 localhost:8889" in full
    assert full.index("    LocalForward 127.0.0.1:8888 localhost:8889") < full.index(
        "    LocalForward 127.0.0.1:6006 localhost:6006"
    )
    assert "    SessionType none" in full
    assert "    ControlPath /tmp/sj/sshjup-jup-gpu" in full
    assert "    ServerAliveCountMax 2" in full
    old = render_block(target, Capabilities(False, False, False, "8.2"), "/tmp/sj")
    assert not any(k in line for line in old for k in ("SessionType", "ForkAfter", "Control"))


def test_control_path_that_cannot_be_a_socket_is_refused() -> None:
    with pytest.raises(ConfigParseError, match="too long"):
        sshconfig.control_path("/" + "d" * 80, "jup-gpu")


def test_each_alias_has_its_own_control_socket_that_fits_a_unix_socket() -> None:
    short = sshconfig.control_path("/tmp/sj/", "jup-gpu")
    assert short == "/tmp/sj/sshjup-jup-gpu"
    assert sshconfig.control_path("/tmp/sj", "jup-gpu2") != short
    long_alias = "jup-" + "n" * 120
    assert sshconfig.control_path("/" + "d" * 59, "jup-" + "n" * 28).endswith("n" * 28)
    hashed = sshconfig.control_path("/tmp/sj", long_alias)
    assert len(hashed.encode()) <= sshconfig.MAX_SOCKET_PATH
    assert hashed != sshconfig.control_path("/tmp/sj", long_alias + "x")
    assert hashed == sshconfig.control_path("/tmp/sj", long_alias)


def test_a_section_with_the_old_shared_control_path_is_migrated_by_the_next_write(
    ssh_config: Path,
) -> None:

    where = hosts.Where.locate(None)
    hosts.add_target(where, Target(name="gpu", hostname="gpu.example.org"))
    text = ssh_config.read_text()
    lines = text.splitlines()
    begin = lines.index(sshconfig.BEGIN_MARK)
    end = next(i for i, line in enumerate(lines) if line.startswith(sshconfig.END_MARK_PREFIX))
    inner = [
        re.sub(r"ControlPath (.*)/sshjup-jup-gpu$", r"ControlPath \1/sshjup-%C", line)
        for line in lines[begin + 1 : end]
    ]
    assert any(line.endswith("/sshjup-%C") for line in inner)
    old_end = f"{sshconfig.END_MARK_PREFIX} (sha256:{sshconfig.digest(inner)}) <<<"
    ssh_config.write_text("\n".join([*lines[:begin], lines[begin], *inner, old_end]) + "\n")

    hosts.edit_target(where, "gpu", {"user": "bob"})

    migrated = ssh_config.read_text()
    assert "sshjup-%C" not in migrated
    assert re.search(r"ControlPath .*/sshjup-jup-gpu\n", migrated)
