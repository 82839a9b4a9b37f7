"""``sshjup add`` then ``sshjup remove`` on real-world and hand-made ssh configs.

For every config (the shared corpus, tests/data/ssh/*.conf, and no file at all), through the CLI:

(a) add then remove gives back the exact original bytes (and no file when there was none);
(b) after add, the file is the original with one contiguous insertion: sshjup's section;
(c) ``ssh -G`` of every alias that was there before (and two probe names) resolves exactly as
    before, full output; a file ssh cannot parse fails the same way before and after;
(d) the new alias resolves to the requested hostname, user, port and forwards, or sshjup's
    output named the line that overrides each value that differs.

``ssh -G`` runs ``Match exec`` commands: every run (ours and sshjup's) has a PATH holding only
``ssh`` (tests/support/sshg.py). sshjup's target is an IP literal from 192.0.2.0/24, so no
name is ever looked up.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sshjup.cli import cli
from sshjup.ssh.sshconfig import BEGIN_MARK, END_MARK_PREFIX
from tests.support import sshg

MISSING = "(no file)"

TARGET_HOST = "192.0.2.10"
ADD_ARGS = [
    "add",
    TARGET_HOST,
    "--name",
    "t",
    "--user",
    "alice",
    "--port",
    "2222",
    "--local-port",
    "18888",
    "--remote-port",
    "18889",
    "--forward",
    "16006:16006",
]
ALIAS = "jup-t"
EXPECTED = {"hostname": TARGET_HOST, "user": "alice", "port": "2222"}
EXPECTED_FORWARDS = [
    "[127.0.0.1]:18888 [localhost]:18889",
    "[127.0.0.1]:16006 [localhost]:16006",
]
# Names no config defines: they show what Host * / Match / global options give everyone.
# The IP literal is safe even where CanonicalizeHostname is on (ssh never looks it up).
PROBES = ("192.0.2.99", "sshjup-probe")


def _params() -> list[object]:
    params: list[object] = [pytest.param(None, id=MISSING)]
    params += [pytest.param(p, id=f"own/{p.stem}") for p in sshg.own_fixtures()]
    corpus = sshg.corpus_fixtures()
    if corpus:
        params += [pytest.param(p, id=f"corpus/{p.stem}") for p in corpus]
    else:
        params.append(
            pytest.param(
                None,
                id="corpus",
                marks=pytest.mark.skip(reason="the shared ssh_configs corpus is not here"),
            )
        )
    return params


@pytest.fixture(autouse=True)
def _ssh_only_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sshg.restrict_path(monkeypatch, tmp_path / "ssh-only-bin")


def install_fixture(source: Path | None, config: Path, tmp_path: Path) -> bytes | None:
    """Copy a fixture into the isolated config path (None: leave no file)."""
    if source is None:
        return None
    data = sshg.fixture_bytes(source, tmp_path)
    config.write_bytes(data)
    config.chmod(0o600)
    return data


def run_cli(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def resolve_all(config: Path, data: bytes, names: list[str]) -> dict[str, tuple[int, str, str]]:
    """ssh -G of each name, comparable across line-number shifts.

    In a file that turns CanonicalizeHostname on, a name ssh would look up in DNS is resolved
    with canonicalisation off (sshg.resolve_safely): only that part of the comparison is
    skipped, because it would depend on the network.
    """
    settings = sshg.canonicalize_settings(data)
    return {name: sshg.resolve_safely(config, name, settings).comparable(config) for name in names}


def names_to_check(config: Path) -> list[str]:
    """Every concrete alias (also from absolute Includes), then the probe names."""
    return [*sshg.concrete_aliases(config, follow_includes=True), *PROBES]


def section_span(new: str) -> tuple[int, int]:
    """Start and end offsets of sshjup's section (whole lines, markers included)."""
    start = new.index(BEGIN_MARK)
    end = new.index("\n", new.index(END_MARK_PREFIX, start)) + 1
    return start, end


def common_prefix_suffix(original: bytes, new: bytes) -> tuple[int, int]:
    p = 0
    limit = min(len(original), len(new))
    while p < limit and original[p] == new[p]:
        p += 1
    s = 0
    while s < limit - p and original[-1 - s] == new[-1 - s]:
        s += 1
    return p, s


def assert_one_insertion(original: bytes, new: bytes) -> str:
    """new is original with exactly one contiguous run of bytes inserted; return that run."""
    p, s = common_prefix_suffix(original, new)
    assert p + s == len(original), "bytes of the original file were changed, not only inserted"
    inserted = new[p : len(new) - s]
    assert len(inserted) == len(new) - len(original)
    # The run is sshjup's whole section, as whole lines, in the file's line endings.
    text = new.decode("utf-8", "surrogateescape")
    start, end = section_span(text)
    assert (text[:start] + text[end:]).encode("utf-8", "surrogateescape") == original
    assert start == 0 or text[start - 1] == "\n", "the section must start on a line of its own"
    section = text[start:end]
    crlf = original.split(b"\n", 1)[0].endswith(b"\r") and b"\n" in original
    assert section.count("\n") == section.count("\r\n" if crlf else "\n")
    if not crlf:
        assert "\r" not in section
    return section


def check_new_alias(config: Path, result: Result, data: bytes | None) -> None:
    """The new alias resolves as asked, or the output names the line that wins instead."""
    resolved = sshg.ssh_g(config, ALIAS)
    output = result.stdout + result.stderr
    if not resolved.ok:
        # Only acceptable when ssh could not parse the file before sshjup touched it.
        assert data is not None
        assert "ssh cannot parse" in output and "before this change as after it" in output, output
        assert "was not checked" in output, output
        assert "Checked with ssh -G" not in output, output
        return
    for key, wanted in EXPECTED.items():
        got = resolved.value(key)
        if got == wanted:
            continue
        keyword = {"hostname": "HostName", "user": "User", "port": "Port"}[key]
        m = re.search(
            rf"{ALIAS}: ssh resolves {keyword} to '[^']*', not '{re.escape(wanted)}'; "
            rf"line (\d+) of {re.escape(str(config))} \(`(\w+) ",
            output,
        )
        assert m, f"{key} is {got!r}, not {wanted!r}, and the output does not say why:\n{output}"
        line_no, named_keyword = int(m.group(1)), m.group(2)
        line = sshg.config_lines(config.read_bytes())[line_no - 1]
        assert sshg.keyword_and_args(line)[0] == key == named_keyword.lower(), line
    forwards = resolved.values("localforward")
    for fwd in EXPECTED_FORWARDS:
        assert fwd in forwards, f"{fwd} missing from {forwards}"
    extra = [f for f in forwards if f not in EXPECTED_FORWARDS]
    if extra:
        assert "ssh adds forward(s) sshjup did not write" in output, output
        for fwd in extra:
            assert fwd in output
    assert resolved.value("exitonforwardfailure") == "yes"
    assert resolved.value("serveraliveinterval") is not None


@pytest.mark.parametrize("fixture", _params())
def test_add_then_remove_keeps_every_byte_and_every_alias(
    fixture: Path | None, ssh_config: Path, tmp_path: Path
) -> None:
    data = install_fixture(fixture, ssh_config, tmp_path)
    if data is not None:
        leaks = sshg.real_include_matches(data)
        if leaks and fixture is not None and fixture.parent != sshg.DATA:
            # ssh (ours and sshjup's) would read these files of the real ~/.ssh.
            pytest.skip(f"this machine's ~/.ssh has files the corpus file includes: {leaks}")
        assert not leaks, f"an own fixture must not include real files: {leaks}"
    names = names_to_check(ssh_config) if data is not None else []
    before = resolve_all(ssh_config, data, names) if data is not None else {}

    dry = run_cli([*ADD_ARGS, "--dry-run"])
    assert dry.exit_code == 0, dry.output + dry.stderr
    assert BEGIN_MARK in dry.stdout
    assert (ssh_config.read_bytes() if data is not None else None) == data
    assert ssh_config.exists() == (data is not None)

    added = run_cli(ADD_ARGS)
    assert added.exit_code == 0, added.output + added.stderr
    new = ssh_config.read_bytes()

    # (b) one contiguous insertion, everything else untouched
    assert_one_insertion(data or b"", new)

    # (c) every alias that was there resolves exactly as before (or fails the same way)
    if data is not None:
        after = resolve_all(ssh_config, data, names)
        for name in names:
            assert after[name] == before[name], f"ssh -G {name} changed"

    # (d) the new alias
    check_new_alias(ssh_config, added, data)

    # (a) remove gives back the original bytes, or no file
    removed = run_cli(["remove", "t"])
    assert removed.exit_code == 0, removed.output + removed.stderr
    if data is None:
        assert not ssh_config.exists()
    else:
        assert ssh_config.read_bytes() == data


def test_every_own_fixture_has_a_purpose() -> None:
    """The hand-made fixtures cover the forms issue 2 names (guards against losing one)."""
    by_name = {p.stem: p.read_bytes() for p in sshg.own_fixtures()}
    assert b"\r\n" in by_name["crlf"]
    assert not by_name["no-final-newline"].endswith(b"\n")
    assert b"\t" in by_name["tabs"]
    assert "\u00a0".encode() in by_name["nbsp"]
    assert b"Host=alpha" in by_name["key-value"]
    assert b"HostName=" in by_name["key-value"]
    assert b"Match all" in by_name["match"]
    assert b"Include sshjup-test" in by_name["include-relative"]
    assert sshg.INCLUDED_PLACEHOLDER.encode() in by_name["include-absolute"]
    assert by_name["host-star-first"].startswith(b"Host *")
    assert by_name["host-star-last"].rsplit(b"\nHost ", 1)[1].startswith(b"*")
    assert by_name["global-options"].startswith(b"User bob")
    assert by_name["empty"] == b""
    assert by_name["comment-header"].startswith(b"#")
    assert by_name["ends-in-comment-no-newline"].rsplit(b"\n", 1)[1].startswith(b"#")
    assert by_name["whitespace-last-line"].rsplit(b"\n", 1)[1].strip() == b""
    assert not by_name["whitespace-last-line"].endswith(b"\n")
