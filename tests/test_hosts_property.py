"""Hypothesis: any valid target, added to any config, then removed, gives back the same bytes.

The configs are the hand-made fixtures, the shared corpus (when present) and no file at all.
The targets cover names, IP and DNS host names, users, ports, forwards, identity files and
jump hosts. Two properties per example, through the library API (``sshjup.hosts``: lock, render,
``ssh -G`` check of the candidate, atomic write):

* add then remove round-trips byte for byte (and leaves no file where there was none);
* the section sshjup wrote, on its own, passes ``ssh -G`` for the alias with exactly the
  requested hostname, user, port and forwards, whatever the rest of the file holds.

Host names are IP literals from the documentation ranges or DNS names with at least two dots
under ``.invalid``: no CanonicalizeHostname setting in any fixture looks them up in DNS
(checked per example), so nothing leaves this machine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sshjup import hosts
from sshjup.models import Forward, Target
from sshjup.ssh import sshconfig
from tests.support import sshg

FIXTURES: list[Path | None] = [None, *sshg.own_fixtures(), *sshg.corpus_fixtures()]

_label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
dns_names = st.lists(_label, min_size=1, max_size=3).map(
    lambda ls: ".".join(ls) + ".sshjup.invalid"
)
ipv4 = st.integers(1, 254).flatmap(
    lambda n: st.sampled_from([f"192.0.2.{n}", f"198.51.100.{n}", f"203.0.113.{n}"])
)
ipv6 = st.integers(1, 0xFFFF).map(lambda n: f"2001:db8::{n:x}")
hostnames = st.one_of(ipv4, ipv6, dns_names)
names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
users = st.none() | st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._@-]{0,15}", fullmatch=True)
ports = st.none() | st.integers(1, 65535)
# The first forward is Jupyter's: always to localhost, as the CLI and the inventory write it.
main_forwards = st.builds(
    Forward, local_port=st.integers(1024, 65535), remote_port=st.integers(1, 65535)
)
extra_forwards = st.builds(
    Forward,
    local_port=st.integers(1024, 65535),
    remote_port=st.integers(1, 65535),
    remote_host=st.sampled_from(["localhost", "127.0.0.1", "192.0.2.7", "tb.sshjup.invalid"]),
)
forward_lists = (
    st.tuples(main_forwards, st.lists(extra_forwards, max_size=2))
    .map(lambda parts: (parts[0], *parts[1]))
    .filter(lambda fs: len({f.local_port for f in fs}) == len(fs))
)
identity_files = st.none() | st.from_regex(r"~/\.ssh/[a-z0-9_.-]{1,12}", fullmatch=True)
proxy_jumps = st.none() | st.builds(
    lambda user, n, port: f"{user}@192.0.2.{n}" + (f":{port}" if port else ""),
    st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True),
    st.integers(1, 254),
    st.none() | st.integers(1, 65535),
)
targets = st.builds(
    Target,
    name=names,
    hostname=hostnames,
    forwards=forward_lists,
    user=users,
    port=ports,
    identity_file=identity_files,
    proxy_jump=proxy_jumps,
)


@pytest.fixture(autouse=True)
def _ssh_only_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sshg.restrict_path(monkeypatch, tmp_path / "ssh-only-bin")


def check_section_alone(section: str, target: Target, workdir: Path) -> None:
    """The section text, as its own config file, resolves exactly as requested."""
    alone = workdir / "section-only"
    alone.write_text(section)
    resolved = sshg.ssh_g(alone, target.alias)
    assert resolved.ok, resolved.error()
    assert resolved.value("hostname") == target.hostname.lower()
    if target.user is not None:
        assert resolved.value("user") == target.user
    if target.port is not None:
        assert resolved.value("port") == str(target.port)
    expected = [
        f"[{f.bind}]:{f.local_port} [{f.remote_host}]:{f.remote_port}" for f in target.forwards
    ]
    assert resolved.values("localforward") == list(dict.fromkeys(expected))
    if target.proxy_jump is not None:
        # ssh -G prints one hop's IP literal in brackets: a@[192.0.2.1]:22
        shown = (resolved.value("proxyjump") or "").replace("[", "").replace("]", "")
        assert shown == target.proxy_jump
    assert resolved.value("exitonforwardfailure") == "yes"


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fixture=st.sampled_from(FIXTURES), target=targets)
def test_any_target_added_to_any_config_and_removed_round_trips(
    fixture: Path | None, target: Target
) -> None:
    with tempfile.TemporaryDirectory(prefix="sjprop") as tmp:
        workdir = Path(tmp)
        config = workdir / "ssh" / "config"
        config.parent.mkdir(mode=0o700)
        data = sshg.fixture_bytes(fixture, workdir) if fixture is not None else None
        if data is not None:
            config.write_bytes(data)
            assume(not sshg.real_include_matches(data))  # never read this machine's ~/.ssh
            settings_ = sshg.canonicalize_settings(data)
            assume(not sshg.would_canonicalise(settings_, target.hostname))
            assume(target.alias not in sshg.concrete_aliases(config, follow_includes=True))
        where = hosts.Where(ssh_config=config, inventory=workdir / "app" / "inventory.yaml")

        hosts.add_target(where, target)
        new = config.read_bytes()
        doc = sshconfig.decode(new)
        assert doc.section is not None
        section = sshconfig.current_section_text(doc)
        assert (new.decode("utf-8", "surrogateescape").replace(section, "", 1)).encode(
            "utf-8", "surrogateescape"
        ) == (data or b"")
        check_section_alone(section, target, workdir)

        hosts.remove_target(where, target.name)
        if data is None:
            assert not config.exists()
        else:
            assert config.read_bytes() == data


# --- generated configs: placement and the named override, with ssh -G as the referee ------------

_patterns = st.sampled_from(
    ["*", "jup-*", "jup-t", "!jup-t", "!jup-*", "other", "j?p-t", "*-t", "JUP-T", "!other"]
)
_host_lines = st.builds(
    lambda kw, sep, ps: f"{kw}{sep}{' '.join(ps)}",
    st.sampled_from(["Host", "host", "HOST"]),
    st.sampled_from([" ", "=", " = ", "\t"]),
    st.lists(_patterns, min_size=1, max_size=3),
)
_match_lines = st.sampled_from(
    [
        "Match all",
        "Match all # comment",
        "Match originalhost jup-t",
        "Match originalhost other",
        "Match host 192.0.2.1",
        "Match !originalhost jup-t",
    ]
)
_options = st.builds(
    lambda indent, kw, sep, value: f"{indent}{kw}{sep}{value}",
    st.sampled_from(["", "  ", "\t"]),
    st.sampled_from(["User", "user", "USER", "Port"]),
    st.sampled_from([" ", "=", " = "]),
    st.sampled_from(["u1", "u2", "2201", "2202"]),
)
_other_lines = st.sampled_from(
    [
        "# comment",
        "",
        "   ",
        "\t# indented comment",
        "Include /nonexistent/sshjup-test/*.conf",
        "ServerAliveInterval 7",
        "LocalForward 127.0.0.1:17000 localhost:7000",
    ]
)
_blocks = st.builds(
    lambda head, opts, rest: [*([head] if head else []), *opts, *rest],
    st.one_of(_host_lines, _match_lines, st.none()),
    st.lists(_options, max_size=2),
    st.lists(_other_lines, max_size=2),
)
generated_configs = st.builds(
    lambda blocks, eol, final: (
        eol.join(line for b in blocks for line in b) + (eol if final and blocks else "")
    ),
    st.lists(_blocks, max_size=5),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
OTHER_NAMES = ("other", "jup-x", "192.0.2.5")
BODY = [
    "Host jup-t",
    "    HostName 192.0.2.1",
    "    User alice",
    "    Port 2222",
    "    ServerAliveInterval 30",
]
FAST = settings(max_examples=30, deadline=None, database=None)


@FAST
@given(text=generated_configs)
def test_a_new_section_wins_for_its_alias_and_changes_no_other_name(text: str) -> None:
    with tempfile.TemporaryDirectory(prefix="sjgen") as tmp:
        config = Path(tmp) / "config"
        config.write_bytes(text.encode())
        before = {n: sshg.ssh_g(config, n).comparable(config) for n in OTHER_NAMES}
        parses = sshg.ssh_g(config, "jup-t").ok

        planned = sshconfig.plan(sshconfig.decode(text.encode()), BODY)
        assert planned == sshconfig.from_text(planned.text)  # (where plan() says it put it)
        new = planned.text
        config.write_bytes(new.encode())
        assert {n: sshg.ssh_g(config, n).comparable(config) for n in OTHER_NAMES} == before
        mine = sshg.ssh_g(config, "jup-t")
        assert mine.ok == parses
        if parses:
            got = [mine.value(k) for k in ("hostname", "user", "port", "serveraliveinterval")]
            assert got == ["192.0.2.1", "alice", "2222", "30"]
        assert sshconfig.plan_text(sshconfig.decode(new.encode()), []) == text


@FAST
@given(text=generated_configs)
def test_the_line_named_as_the_override_is_the_one_ssh_uses(text: str) -> None:
    """With the section below the user's lines, earlier_settings explains ssh's answer."""
    section = sshconfig.render_section(BODY, terminator=False, eol="\n")
    full = text + ("\n" if text and not text.endswith("\n") else "") + section
    with tempfile.TemporaryDirectory(prefix="sjgen") as tmp:
        config = Path(tmp) / "config"
        config.write_bytes(full.encode())
        resolved = sshg.ssh_g(config, "jup-t")
    assume(resolved.ok)
    doc = sshconfig.decode(full.encode())
    named = {o.keyword: o for o in sshconfig.earlier_settings(doc, "jup-t", ["User", "Port"])}
    for key, mine in (("user", "alice"), ("port", "2222")):
        override = named.get(key)
        if resolved.value(key) != mine:
            assert override is not None, f"ssh uses another {key}, and no line is named"
            if override.certain:
                assert sshconfig.split_args(override.value) == [resolved.value(key)]
        else:
            assert override is None or not override.certain, override
