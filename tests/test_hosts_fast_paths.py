"""The shortcuts that make sshjup fast on large files give the answers of the slow paths.

Each fast path (see bench/README.md) is checked against the plain computation it replaces:
the alias lookup against the full directive scan, the windowed diff against difflib over the
whole file, the validators' and the inventory reader's shortcuts against their general code.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import random
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sshjup import hosts, models, proc
from sshjup.errors import ConfigParseError, InvalidInput
from sshjup.models import Forward, JupyterSpec, Target
from sshjup.ssh import openssh, sshconfig
from sshjup.store import inventory
from tests.conftest import corpus_dir

FIXTURES = Path(__file__).parent / "data" / "ssh"
CAPS = sshconfig.Capabilities()


def _config_files() -> list[Path]:
    files = sorted(p for p in FIXTURES.rglob("*.conf") if p.is_file())
    corpus = corpus_dir("ssh_configs")
    if corpus.is_dir():
        files += sorted(p for p in corpus.rglob("*") if p.is_file())
    return files


def _whole_file_diff(old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile="c",
            tofile="c",
        )
    )


def _targets(count: int) -> list[Target]:
    return [
        Target(name=f"t{i}", hostname=f"h{i}.example.org", forwards=(Forward(9000 + i, 8889),))
        for i in range(count)
    ]


_WORDS = ["a", "jup-t0", "jup-t1", "jup-x", 'jup-"t2"', "jup\\-t3", "'jup-t4'", "*", "!a", "b#c"]


def _random_config(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(0, 25)):
        kind = rng.choice(["Host", "host", "Host=", "Match", "Include", "  HostName", "# Host"])
        args = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 3)))
        lines.append(f"{kind} {args}" if not kind.endswith("=") else f"{kind}{args}")
    return rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n"])


def test_the_alias_lookup_answers_what_the_full_scan_answers_on_every_fixture() -> None:
    wanted = ["jup-t0", "jup-gpu", "a", "gpu", "jup-"]
    for path in _config_files():
        try:
            doc = sshconfig.decode(path.read_bytes())
        except ConfigParseError:  # a damaged section: another test's subject
            continue
        directives = sshconfig.scan_directives(doc)
        full = sshconfig.concrete_aliases(directives)
        assert sshconfig.defined_aliases(doc, wanted) == {
            a: full[a] for a in wanted if a in full
        }, path
        assert sshconfig.file_include_args(doc) == sshconfig.include_args(directives), path


def test_the_alias_lookup_sees_quoted_escaped_and_many_aliases_as_the_scan_does() -> None:
    rng = random.Random(20240611)
    many = [f"jup-t{i}" for i in range(40)] + ["jup-x"]  # over 16: the common-prefix test
    for _ in range(400):
        text = _random_config(rng)
        if rng.random() < 0.3:  # with sshjup's own section somewhere in the file
            doc = sshconfig.decode(text.encode())
            text = sshconfig.plan_text(doc, sshconfig.render_body(_targets(2), CAPS, "/tmp/s"))
        doc = sshconfig.decode(text.encode("utf-8", "surrogateescape"))
        directives = sshconfig.scan_directives(doc)
        full = sshconfig.concrete_aliases(directives)
        for wanted in (["jup-t0"], ["jup-t2", "jup-t3", "jup-t4", "a"], many, ['jup-"t2"']):
            expected = {a: full[a] for a in wanted if a in full}
            assert sshconfig.defined_aliases(doc, wanted) == expected, (text, wanted)
        assert sshconfig.file_include_args(doc) == sshconfig.include_args(directives), text


def test_the_diff_of_a_change_is_difflibs_whole_file_diff_on_every_fixture() -> None:
    for path in _config_files():
        try:
            doc = sshconfig.decode(path.read_bytes())
        except ConfigParseError:
            continue
        for count in (1, 3):
            new = sshconfig.plan_text(doc, sshconfig.render_body(_targets(count), CAPS, "/s"))
            assert hosts._diff(doc.text, new, "c") == _whole_file_diff(doc.text, new), path
            assert hosts._diff(new, doc.text, "c") == _whole_file_diff(new, doc.text), path


def _patched(old: str, diff: str) -> str:
    """``old`` with a unified diff applied (hunks in order, context checked)."""
    lines = old.splitlines(keepends=True)
    out: list[str] = []
    at = 0
    body = diff.splitlines(keepends=True)[2:]
    i = 0
    while i < len(body):
        header = body[i].split(" ")
        start = int(header[1][1:].split(",")[0])
        length = int(header[1].split(",")[1]) if "," in header[1] else 1
        begin = start - 1 if length else start
        out += lines[at:begin]
        at = begin
        i += 1
        while i < len(body) and not body[i].startswith("@@"):
            tag, text = body[i][0], body[i][1:]
            if tag in " -":
                assert lines[at] == text
                at += 1
            if tag in " +":
                out.append(text)
            i += 1
    return "".join(out + lines[at:])


def _big_config(rng: random.Random) -> list[str]:
    lines = []
    for i in range(1200):  # over the 1000 lines where the windowed diff starts
        lines += [f"Host h{i}\n", f"    User u{i % 7}\n"]
        lines.append(rng.choice(["\n", "\r\n", "    Port 22\n"]))
    return lines


@pytest.mark.parametrize("seed", range(4))
def test_adding_or_removing_a_section_in_a_large_file_gives_difflibs_whole_file_diff(
    seed: int,
) -> None:
    rng = random.Random(seed)
    lines = _big_config(rng)
    old = "".join(lines)
    body = sshconfig.render_body(_targets(rng.randint(1, 3)), CAPS, "/s")
    at = rng.randrange(len(lines))
    new = "".join(lines[:at]) + sshconfig.render_section(body, terminator=False, eol="\n")
    new += "".join(lines[at:])
    assert hosts._diff(old, new, "c") == _whole_file_diff(old, new)
    assert hosts._diff(new, old, "c") == _whole_file_diff(new, old)
    assert hosts._diff(old, old, "c") == ""


@pytest.mark.parametrize("seed", range(8))
def test_any_change_to_a_large_file_gives_a_diff_that_turns_old_into_new(seed: int) -> None:
    # Whole-file difflib treats lines that fill over 1% of a large file (blank lines) as
    # noise, so inside a changed region its hunks may pair lines differently: same change.
    rng = random.Random(seed)
    lines = _big_config(rng)
    old = "".join(lines)
    for _ in range(3):
        at = rng.randrange(len(lines))
        lines[at : at + rng.randint(0, 4)] = rng.choice([[], ["\n", "x\n"], ["Host new\n"]])
    new = "".join(lines)
    assert _patched(old, hosts._diff(old, new, "c")) == new
    assert _patched(new, hosts._diff(new, old, "c")) == old


def _slow_reject_control(value: str) -> bool:
    if value.splitlines() != [value] and value != "":
        return False
    return not any(
        ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Zs"} for ch in value
    )


def _accepts(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except InvalidInput:
        return False
    return True


def test_the_control_character_check_refuses_exactly_what_the_full_check_refuses() -> None:
    def reject(value: str) -> None:
        models._reject_control("field", value)

    for code in range(0x110000):
        ch = chr(code)
        assert _accepts(reject, ch) == _slow_reject_control(ch), hex(code)
    for value in ("", "gpu.example.org", "a b", "x\u2028", "~/.ssh/id_ed25519", "a\x7f"):
        assert _accepts(reject, value) == _slow_reject_control(value), value


def test_host_names_and_addresses_are_judged_as_before() -> None:
    import ipaddress

    def before(value: str) -> bool:
        if not _slow_reject_control(value) or value.startswith("-") or "%" in value:
            return False
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return models._DNS_RE.fullmatch(value) is not None
        return True

    values = ["gpu", "gpu.example.org", "10.0.0.5", "::1", "fe80::1", "1.2.3.4.5", "a_b", "-x"]
    values += ["999.1.1.1", "a..b", "x" * 64, "[::1]", "ab-", "1e3", "localhost", "2001:db8::"]
    for value in values:
        assert _accepts(models.validate_hostname, value) == before(value), value


def test_inventory_scalars_are_built_as_yaml_builds_them() -> None:
    text = """
    plain: gpu.example.org
    quoted: "8888"
    tagged: !!str 12
    number: 8888
    zero: 0
    octal: 0123
    under: 1_000
    hexa: 0x10
    sexa: 1:30
    signed: +5
    tagged_int: !!int "77"
    yes_word: yes
    nothing: ~
    empty:
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    reference = yaml.SafeLoader("")
    for key, node in root.value:
        expected = reference.construct_object(node, deep=True)
        got = inventory._scalar(node, "x.yaml")
        assert (type(got), got) == (type(expected), expected), key.value


def _section_line_by_line(text: str) -> sshconfig.Section | None:
    """sshconfig._find_section as it was: every line of the section in turn."""
    begin = text.find(sshconfig.BEGIN_MARK)
    if begin < 0:
        return sshconfig._find_section(text)  # (unchanged part)
    if (begin > 0 and text[begin - 1] != "\n") or text.find(
        sshconfig.BEGIN_MARK, begin + len(sshconfig.BEGIN_MARK)
    ) >= 0:
        return sshconfig._find_section(text)  # (unchanged part: raises)
    begin_line = text.count("\n", 0, begin) + 1
    body: list[str] = []
    lines = sshconfig._iter_lines(text, begin)
    next(lines)
    for number, (_, after, raw) in enumerate(lines, start=begin_line + 1):
        content = raw.rstrip("\r")
        match = sshconfig._END_RE.fullmatch(content.strip())
        if match:
            return sshconfig.Section(begin, after, begin_line, number, tuple(body), match.group(1))
        if content.startswith(sshconfig.END_MARK_PREFIX) or sshconfig.BEGIN_MARK in content:
            msg = f"line {number}: sshjup's end marker is damaged"
            raise ConfigParseError(msg)
        body.append(content)
    msg = f"line {begin_line} starts sshjup's section, but its end marker is missing"
    raise ConfigParseError(msg)


def _outcome(find: Callable[[str], object], text: str) -> object:
    try:
        return find(text)
    except ConfigParseError as err:
        return ("error", err.message)


def test_the_section_is_found_as_a_line_by_line_reading_finds_it() -> None:
    rng = random.Random(7)
    end = f"{sshconfig.END_MARK_PREFIX} (sha256:0123456789abcdef) <<<"
    pieces = [
        "Host a\n",
        "    User b\r\n",
        "\n",
        "x " + end + "\n",
        "  " + end + "  \n",
        end + "\r\n",
        end + "\n",
        end,
        sshconfig.END_MARK_PREFIX + " (sha256:zz) <<<\n",
        "tail",
    ]
    for _ in range(3000):
        before = "".join(rng.choice(pieces[:3]) for _ in range(rng.randint(0, 3)))
        after = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        text = before + sshconfig.BEGIN_MARK + rng.choice(["\n", "\r\n", "", " x\n"]) + after
        assert _outcome(sshconfig._find_section, text) == _outcome(_section_line_by_line, text)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client (ssh)")
def test_the_overlapping_ssh_checks_answer_in_the_order_asked(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("".join(f"Host jup-{n}\n    HostName h{n}.example.org\n" for n in "abc"))
    runs = hosts._SideBySide(config)
    runs.start("jup-b")  # (one started early, as a bulk change starts its first)
    resolved = runs.results(["jup-a", "jup-b", "jup-c"])
    assert [r.get("hostname") for r in resolved if not isinstance(r, Exception)] == [
        "ha.example.org",
        "hb.example.org",
        "hc.example.org",
    ]


def test_an_ssh_check_that_fails_is_reported_in_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Run:
        def __init__(self, alias: str) -> None:
            self.alias = alias
            self.stopped = False

        def wait(self) -> proc.Completed:
            if self.alias == "jup-b":
                raise InvalidInput("boom")
            return proc.Completed([], 0, f"hostname {self.alias}\n", "")

        def stop(self) -> None:
            self.stopped = True

    started: list[Run] = []
    monkeypatch.setattr(
        openssh, "start_resolve", lambda _config, alias: started.append(Run(alias)) or started[-1]
    )
    runs = hosts._SideBySide(tmp_path / "config")
    outcomes = runs.results(["jup-a", "jup-b", "jup-c"])
    assert [o.get("hostname") for o in outcomes if isinstance(o, openssh.Resolved)] == [
        "jup-a",
        "jup-c",
    ]
    assert isinstance(outcomes[1], InvalidInput)
    runs.stop()
    assert [r.stopped for r in started] == [True, True, True]


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client (ssh)")
def test_an_ssh_check_started_before_an_error_is_ended_and_reaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text("Host jup-a jup-b\n    HostName h.example.org\n")
    runs: list[hosts._SideBySide] = []
    real = hosts._SideBySide

    def side_by_side(candidate: Path) -> hosts._SideBySide:
        runs.append(real(candidate))
        return runs[-1]

    def sample(*_args: object) -> None:
        raise InvalidInput("the lines outside could not be read")

    pids: list[int] = []
    real_start = openssh.start_resolve

    def start_resolve(candidate: Path, alias: str) -> proc.Started:
        run = real_start(candidate, alias)
        pids.append(run.pid)
        return run

    monkeypatch.setattr(hosts, "_SideBySide", side_by_side)
    monkeypatch.setattr(hosts, "_sample", sample)
    monkeypatch.setattr(openssh, "start_resolve", start_resolve)
    targets = [Target("a", "h.example.org"), Target("b", "h.example.org")]
    doc = sshconfig.from_text(config.read_text())
    with pytest.raises(InvalidInput, match="could not be read"):
        hosts._verify(config, targets, doc, doc, config)
    (run,) = runs[0].started.values()
    assert len(pids) == 1 and pids[0] > 0
    assert run.pid == 0 and run._fds is None  # (its pipes closed)
    with pytest.raises(ProcessLookupError):  # (killed or ended, and reaped: no zombie)
        os.kill(pids[0], 0)


def _random_inventory(rng: random.Random) -> inventory.Inventory:
    from sshjup.models import JupyterSpec

    inv = inventory.Inventory()
    odd = ["yes", "no", "on", "null", "1e3", "0x1f", "2001-12-14", "1:30", "8888", "~", "x.y"]
    for i in range(rng.randint(0, 6)):
        name = rng.choice([f"h{i}", f"{i}-{i}", f"n{i}.x", rng.choice(odd).replace("~", "t")])
        name = "".join(c for c in name.lower() if c.isalnum() or c in "._-") or f"h{i}"
        if not name[0].isalnum():
            name = f"h{name}"
        forwards = [Forward(9000 + i, 8889)]
        forwards += [Forward(7000 + i * 10 + k, 6006 + k) for k in range(rng.randint(0, 2))]
        inv.hosts[name] = Target(
            name=name,
            hostname=rng.choice(["gpu.example.org", "10.0.0.5", "::1", "on", "yes.example"]),
            forwards=tuple(forwards),
            user=rng.choice([None, "alice", "no", "y"]),
            port=rng.choice([None, 22, 2222]),
            identity_file=rng.choice([None, "~/.ssh/id_ed25519", "key:1"]),
            proxy_jump=rng.choice([None, "bastion", "u@j:2222,k"]),
            putty=rng.choice([None, True, False]),
            jupyter=rng.choice(
                [JupyterSpec(), JupyterSpec("notebook", "jupyter", ("--x=1", "y"), "~/w")]
            ),
        )
    return inv


def test_the_inventory_is_written_as_yaml_dump_writes_it() -> None:
    rng = random.Random(3)
    for _ in range(300):
        inv = _random_inventory(rng)
        expected = inventory.HEADER + yaml.dump(
            inventory.to_data(inv),
            Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
            sort_keys=False,
            default_flow_style=False,
        )
        assert inventory.dumps(inv) == expected
        assert inventory.loads(inventory.dumps(inv), "x").hosts == inv.hosts
    for _ in range(300):
        inv = _simple_inventory(rng)
        expected = inventory.HEADER + yaml.dump(
            inventory.to_data(inv), Dumper=yaml.SafeDumper, sort_keys=False
        )
        assert inventory.dumps(inv) == expected
        assert inventory.loads(inventory.dumps(inv), "x").hosts == inv.hosts


def _shape(node: object) -> object:
    """A node tree as (tag, value or children, line): yaml's nodes and the plain reader's."""
    tag, value, line = node.tag, node.value, node.start_mark.line  # type: ignore[attr-defined]
    if isinstance(value, list):
        return (tag, [(_shape(k), _shape(v)) for k, v in value], line)
    return (tag, value, line)


def _plain_or_yaml_agree(text: str) -> bool:
    """The plain reader gives up on ``text`` or composes what yaml composes; True if it read it."""
    plain = inventory._plain_compose(text)
    if plain is None:
        return False
    assert _shape(plain) == _shape(yaml.compose(text, Loader=yaml.SafeLoader)), text
    return True


def _simple_inventory(rng: random.Random) -> inventory.Inventory:
    """Hosts as `sshjup add` makes them most often: words, addresses, ports, true/false."""
    inv = inventory.Inventory()
    for i in range(rng.randint(1, 4)):
        name = rng.choice([f"h{i}", f"gpu{i}", f"n{i}.x", f"y{i}", f"{i}a"])
        inv.hosts[name] = Target(
            name=name,
            hostname=rng.choice(["gpu.example.org", "10.0.0.5", "on.example", "e5", "1.2.3"]),
            forwards=(Forward(rng.choice([8888, 9000 + i, 10000]), rng.choice([8889, 80])),),
            user=rng.choice([None, "alice", "no", "y", "bob.b"]),
            port=rng.choice([None, 22, 2222]),
            identity_file=rng.choice([None, "~/.ssh/id_ed25519", "/keys/k", "key:1"]),
            proxy_jump=rng.choice([None, "bastion", "u@j:2222,k"]),
            putty=rng.choice([None, True, False]),
        )
    return inv


def test_the_inventory_sshjup_writes_is_read_without_yaml_as_yaml_reads_it() -> None:
    rng = random.Random(5)
    plain_read = 0
    for i in range(600):
        make = _simple_inventory if i % 2 else _random_inventory
        text = inventory.dumps(make(rng))
        plain_read += _plain_or_yaml_agree(text)
        # Damaged or hand-edited copies: read alike, or left to yaml.
        lines = text.split("\n")
        for _ in range(5):
            edited = list(lines)
            j = rng.randrange(len(edited))
            edited[j] = rng.choice(
                [
                    "",
                    "  " + edited[j],
                    edited[j][1:],
                    edited[j] + " # note",
                    edited[j].replace(": ", ":"),
                    edited[j] + ":",
                    edited[j].replace(" ", "\t", 1),
                ]
            )
            with contextlib.suppress(yaml.YAMLError):
                _plain_or_yaml_agree("\n".join(edited))
    assert plain_read > 10  # (the shortcut is taken: the odd words above send most to yaml)


def test_the_bench_inventory_and_an_add_are_read_and_written_without_yaml() -> None:
    text = "version: 1\nhosts:\n  node0:\n    hostname: node0.example.org\n    local_port: 1\n"
    assert _plain_or_yaml_agree(text)
    inv = inventory.Inventory()
    inv.hosts["gpu"] = Target(name="gpu", hostname="10.0.0.5", user="alice", putty=False)
    assert inventory._plain_dump(inventory.to_data(inv)) is not None
    assert _plain_or_yaml_agree(inventory.dumps(inv))


def test_words_written_without_quotes_are_words_yaml_writes_without_quotes() -> None:
    odd = ["yes", "No", "y", "ON", "null", "~", "~/x", "/data", "1e3", "1.5", "1.5e+3", "E5"]
    odd += ["0x1f", "0b1", "0o7", "123", "007", "1_0", "1.2.3", "2001-01-01", "1:30", "-x", "e"]
    odd += ["gpu.example.org", "10.0.0.1", "user@x", "a+b", "node_1", "x:y", "9e9e", ".inf"]
    for word in odd:
        out = yaml.dump({"k": word}, Dumper=yaml.SafeDumper, default_flow_style=False)
        if inventory._plain_text(word):
            assert out == f"k: {word}\n", word
            assert yaml.safe_load(out) == {"k": word}, word


def test_ssh_version_is_asked_once_per_ssh_binary_and_again_when_it_changes(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sshjup.ssh import openssh
    from sshjup.store import paths
    from tests.support.remote_jupyter import record_proc_runs

    real_ssh = shutil.which("ssh")
    if real_ssh is None:
        pytest.skip("needs the OpenSSH client (ssh)")
    runs = record_proc_runs(monkeypatch)

    def asked() -> tuple[sshconfig.Capabilities, int]:
        openssh.capabilities.cache_clear()  # (a new sshjup process)
        before = len(runs)
        caps = openssh.capabilities()
        return caps, sum(argv == ["ssh", "-V"] for argv, _ in runs[before:])

    # No app dir yet: nothing is written (a dry run creates nothing), ssh -V every time.
    first, count = asked()
    assert count == 1
    assert not paths.app_dir().exists()
    assert asked() == (first, 1)
    paths.app_dir().mkdir(parents=True)
    assert asked() == (first, 1)  # asked, and kept
    assert asked() == (first, 0)  # the cache answers
    # Another ssh first on PATH (an upgrade): asked again.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy2(real_ssh, bin_dir / "ssh")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert asked() == (first, 1)
    assert asked() == (first, 0)
    # The same path, a new binary: asked again.
    (bin_dir / "ssh").write_bytes((bin_dir / "ssh").read_bytes() + b"\0")
    assert asked() == (first, 1)
    # A damaged cache file is asked past, and rewritten.
    (paths.app_dir() / openssh.VERSION_CACHE).write_bytes(b"\xff garbage")
    assert asked() == (first, 1)
    assert asked() == (first, 0)


def _plan_by_slicing(doc: sshconfig.ConfigDoc, body: list[str]) -> str:
    """sshconfig.plan_text as it was: the text before and after the section, sliced."""
    if doc.section is not None:
        start, end = doc.section.start, doc.section.end
    else:
        start = end = sshconfig.insertion_offset(doc.text)
    if not body:
        return doc.text[:start] + doc.text[end:]
    section = sshconfig.render_section(
        body, terminator=sshconfig._needs_terminator(doc.text, end), eol=doc.eol
    )
    return doc.text[:start] + section + doc.text[end:]


def test_the_new_text_is_made_as_slicing_makes_it_on_every_fixture() -> None:
    bodies = [
        [],
        sshconfig.render_body(_targets(1), CAPS, "/c"),
        sshconfig.render_body(_targets(2), CAPS, "/c"),
    ]
    for path in _config_files():
        data = path.read_bytes()
        try:
            doc = sshconfig.decode(data)
        except ConfigParseError:
            continue
        assert sshconfig.from_text(doc.text) == doc, path
        for body in bodies:
            once = sshconfig.plan_text(doc, body)
            assert once == _plan_by_slicing(doc, body), path
            again = sshconfig.from_text(once)
            for other in bodies:  # (with a section now)
                assert sshconfig.plan_text(again, other) == _plan_by_slicing(again, other), path


def test_a_text_is_written_as_the_bytes_it_was_decoded_from(tmp_path: Path) -> None:
    from sshjup.store import fileio

    data = ("Host a\u00a0b\r\n".encode() + b"\xff\xfe raw\n") * 200_000  # over one piece
    text = data.decode("utf-8", "surrogateescape")
    target = tmp_path / "config"
    target.write_bytes(b"old")
    fileio.atomic_write(target, text, previous="old")
    assert target.read_bytes() == data
    fileio.atomic_write(target, b"new", previous=text)  # (not ASCII: the file is read again)
    assert (tmp_path / ("config" + fileio.BACKUP_SUFFIX)).read_bytes() == data


def test_the_include_word_is_found_across_piece_edges_in_any_case() -> None:
    rng = random.Random(7)
    chunk = sshconfig._SCAN_CHUNK
    for offset in (0, 1, chunk - 7, chunk - 3, chunk - 1, chunk, chunk + 5, 2 * chunk - 4):
        word = "".join(c.upper() if rng.random() < 0.5 else c for c in "include")
        text = "x" * offset + word + " ~/.ssh/more\n" + "y" * 50
        assert sshconfig._has_include_word(text, 0, len(text)), (offset, word)
        assert not sshconfig._has_include_word(text, offset + 1, len(text)), offset
        assert not sshconfig._has_include_word(text, 0, offset + 6), offset
        doc = sshconfig.decode(("Host a\n" + text).encode())
        assert sshconfig.file_include_args(doc) == sshconfig.include_args(
            sshconfig.scan_directives(doc)
        )
    assert not sshconfig._has_include_word("inc lude İnclude ınclude", 0, 24)


def test_the_quick_host_entry_reader_builds_what_the_checked_one_builds() -> None:
    from sshjup.errors import InvalidInput
    from sshjup.store import inventory

    rng = random.Random(13)
    values = {
        "hostname": ["gpu.example.org", "10.0.0.5", "::1", "bad host", "-x", "1.5e3", "yes"],
        "user": ["alice", "a b", "0", "~bob", "true"],
        "port": ["22", "0", "65536", "2222", "022", "x", "true"],
        "identity_file": ["~/.ssh/id_ed25519", "/k", "a%b", "null"],
        "proxy_jump": ["bastion.example.org", "u@b:22", "a,,b"],
        "local_port": ["8888", "9000", "0", "70000", "8889"],
        "remote_port": ["8889", "1", "65535", "99999"],
        "remote_socket": ["/run/j.sock", "rel.sock", "/a b"],
        "putty": ["true", "false", "yes", "1"],
        "forwards": ["x"],
        "colour": ["red"],
    }
    checked = 0
    for _ in range(3000):
        keys = rng.sample(sorted(values), rng.randint(0, 5))
        if rng.random() < 0.8 and "hostname" not in keys:
            keys.insert(rng.randint(0, len(keys)), "hostname")
        lines = ["version: 1", "hosts:", "  h:"]
        lines += [f"    {k}: {rng.choice(values[k])}" for k in keys]
        text = "\n".join(lines) + "\n"
        if "    forwards: x" in text:
            text = text.replace("    forwards: x", "    forwards:\n    - 1:2")
        try:
            root = inventory._plain_compose(text) or inventory._yaml_compose(text, "f")
            node = inventory._mapping(inventory._mapping(root, "f", "t")["hosts"], "f", "h")["h"]
        except InvalidInput:
            continue
        outcomes = []
        for build in (inventory._target, inventory._target_checked):
            try:
                outcomes.append(build("h", node, "f"))
            except InvalidInput as err:
                outcomes.append((type(err), err.message, err.hint))
        assert outcomes[0] == outcomes[1], text
        checked += 1
    assert checked > 2000


# --- the usual inventory, read straight into Targets -------------------------------------------


def _outcome_of(read: Callable[[], object]) -> object:
    """What a read gives: the Inventory's hosts, or the error's text, hint and exit code."""
    try:
        result = read()
    except InvalidInput as err:
        return ("error", type(err).__name__, err.message, err.hint, err.exit_code)
    except ValueError as err:  # (an int of thousands of digits: Python refuses to convert it)
        return ("ValueError", str(err))
    assert isinstance(result, inventory.Inventory)
    return result.hosts


def _general_reader(text: str) -> object:
    """The reader the usual-inventory shortcut skips: nodes (plain or yaml's), then _from_root."""

    def read() -> inventory.Inventory:
        root = inventory._plain_compose(text)
        if root is None:
            root = inventory._yaml_compose(text, "f.yaml")
        return inventory._from_root(root, "f.yaml")

    return _outcome_of(read)


def _yaml_reader(text: str) -> object:
    """yaml's own nodes, then _from_root: the reference for what the text means."""
    return _outcome_of(lambda: inventory._from_root(inventory._yaml_compose(text, "f"), "f"))


def _dumps_afresh(inv: inventory.Inventory) -> str:
    """dumps(inv), written from the Targets (not the text the usual reader read last)."""
    saved = inventory._LAST_READ[:]
    inventory._LAST_READ.clear()
    try:
        return inventory.dumps(inv)
    finally:
        inventory._LAST_READ[:] = saved


def _usual_agrees(text: str) -> bool:
    """The shortcut gives up on ``text`` or reads what yaml and the general reader read;
    loads gives what the general reader gives (Inventory or error, word for word)."""
    quick = inventory._usual_inventory(text)
    if quick is not None:  # (dumps right after the read: the text read, if it is what it writes)
        assert inventory.dumps(quick) == _dumps_afresh(quick), text
    general = _general_reader(text)
    assert _outcome_of(lambda: inventory.loads(text, "f.yaml")) == general, text
    if quick is None:
        return False
    assert quick.hosts == general, text
    assert quick.hosts == _yaml_reader(text), text
    assert list(quick.hosts) == list(general), text  # (same order)  # type: ignore[arg-type]
    return True


_USUAL_VALUES = {
    "hostname": ["gpu.example.org", "10.0.0.5", "node7.cluster.example.org", "on.example", "e5"],
    "user": ["alice", "bob.b", "u_1", "a@b"],
    "port": ["22", "2222", "65535"],
    "identity_file": ["~/.ssh/id_ed25519", "/keys/k", "k+1"],
    "proxy_jump": ["bastion", "u@j", "j.example.org"],
    "local_port": ["8888", "9000", "10999"],
    "remote_port": ["8889", "80"],
    "remote_socket": ["/run/j.sock", "/home/a/.local/share/sshjup/jupyter-h.sock"],
    "putty": ["true", "false"],
    "companion": ["true", "false"],
}
_ODD_VALUES = [
    "yes", "no", "on", "off", "y", "n", "Y", "NO", "True", "FALSE", "null", "~", "Null", "",
    "0", "022", "0x1f", "0o7", "0b1", "1_000", "1e3", "1.5", ".inf", "-1", "+5", "1:30",
    "2001-12-14", "70000", "999999", "1234567", "1" * 40, "'quoted'", '"quoted"', "a b",
    "a\tb", "x # note", "x#y", "café.example.org", "ǅ", "a\u2028b", "a\x85b", "a\x07b",
    "[1]", "{a: 1}", "&a x", "*a", "!!str x", "-x", "x:", "x: y", "%x", "a%b", "$HOME", "/a b",
    "rel.sock", "/a//b", "-", "|", ">", "@x", "`x`", "a,,b", "u@b:22", "::1", "[::1]",
]  # fmt: skip
_ODD_NAMES = ["yes", "on", "null", "123", "0123", "1e3", "1.5", "jup-x", "Gpu", "x" * 60, "a b"]
_ODD_NAMES += ["x" * 59, "a_b", "-a", ".a", "a..b", "'q'", "ü", "true", "~", "1:30", "0x1f"]


def _usual_text(rng: random.Random, hosts: int) -> list[str]:
    """An inventory in the usual form: HEADER, version, hosts, keys in dumps' order."""
    lines = inventory.HEADER.splitlines() if rng.random() < 0.5 else []
    lines += ["version: 1", "hosts:"]
    names = set()
    for i in range(hosts):
        name = rng.choice([f"h{i}", f"node{i:04d}", f"n{i}.x", f"g-{i}", f"{i}a"])
        if name in names:
            name = f"h{i}"
        names.add(name)
        lines.append(f"  {name}:")
        for key, values in _USUAL_VALUES.items():
            if key == "hostname" or rng.random() < 0.3:
                value = rng.choice(values)
                if key == "local_port":
                    value = str(9000 + i)
                lines.append(f"    {key}: {value}")
    return lines


def _hostile_edit(rng: random.Random, lines: list[str]) -> list[str]:
    """One hand edit of the kind a user (or an attacker) makes to an inventory."""
    out = list(lines)
    at = rng.randrange(len(out))
    line = out[at]
    key, sep, value = line.partition(": ")
    choice = rng.randrange(16)
    if choice == 0 and sep:  # an odd value
        out[at] = f"{key}: {rng.choice(_ODD_VALUES)}"
    elif choice == 1 and line.startswith("  ") and not line.startswith("   "):  # an odd name
        out[at] = f"  {rng.choice(_ODD_NAMES)}:"
    elif choice == 2:  # a duplicate line (a key or a whole host name twice)
        out.insert(at, line)
    elif choice == 3:  # a comment, at the top, inside or after a value
        out.insert(at, rng.choice(["# note", "#", "  # note", "# ü\x85x", "#\x07", "#\ttab"]))
    elif choice == 4:  # a tab or trailing space
        out[at] = rng.choice([line.replace(" ", "\t", 1), line + " ", line + "\t"])
    elif choice == 5:  # CRLF
        out[at] = line + "\r"
    elif choice == 6 and sep:  # a quoted value
        out[at] = f'{key}: "{value}"' if rng.random() < 0.5 else f"{key}: '{value}'"
    elif choice == 7:  # another order: swap two lines
        other = rng.randrange(len(out))
        out[at], out[other] = out[other], out[at]
    elif choice == 8:  # a line gone
        del out[at]
    elif choice == 9:  # deeper nesting under this line
        depth = len(line) - len(line.lstrip(" ")) + 2
        out[at] = line.split(":")[0] + ":"
        out[at + 1 : at + 1] = [" " * (depth + 2 * d) + f"k{d}:" for d in range(rng.randint(1, 60))]
        out.insert(at + 1 + 60, " " * depth + "x: 1")
    elif choice == 10:  # a key that needs quotes, or an unknown key
        out.insert(
            at, rng.choice(["    'user': alice", '    "hostname": x.org', "    colour: red"])
        )
    elif choice == 11:  # unicode line breaks and control characters inside a line
        cut = rng.randrange(len(line) + 1)
        odd = rng.choice(["\u2028", "\x85", "\x0b", "\x0c", "\x00", "\ufeff", "\u00a0", "\x1b"])
        out[at] = line[:cut] + odd + line[cut:]
    elif choice == 12:  # a leading zero or an out-of-range number
        out[at] = line.replace(": ", rng.choice([": 0", ": 9", ": 99999"]), 1)
    elif choice == 13:  # the version or the hosts line changed
        out[at] = rng.choice(["version: 2", "version: '1'", "hosts: {}", "hosts: ~", "hosts:"])
    elif choice == 14:  # other spacing
        out[at] = rng.choice([" " + line, line[1:], line.replace(": ", ":  "), line + ":"])
    else:  # a list or a map where a value was
        out[at] = f"{key}:"
        out.insert(at + 1, rng.choice(["    - 1:2", "      a: b", "    - x"]))
    return out


def _joined(rng: random.Random, lines: list[str]) -> str:
    text = "\n".join(lines)
    return rng.choice([text + "\n", text + "\n", text + "\n", text, text + "\n\n"])


def test_the_usual_inventory_is_read_as_yaml_and_the_general_reader_read_it() -> None:
    rng = random.Random(2026)
    taken = 0
    for _ in range(1500):
        lines = _usual_text(rng, rng.randint(1, 4))
        taken += _usual_agrees("\n".join(lines) + "\n")
        for _ in range(rng.randint(1, 3)):
            lines = _hostile_edit(rng, lines)
        _usual_agrees(_joined(rng, lines))
    assert taken > 700  # (the shortcut is taken on the usual form; "e5" goes to yaml)


def _shuffled_keys(rng: random.Random, lines: list[str]) -> list[str]:
    """The same hosts with each host's key lines in another order."""
    out: list[str] = []
    keys: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("    "):
            keys.append(line)
            continue
        rng.shuffle(keys)
        out += keys
        keys = []
        out.append(line)
    return out[:-1]


def test_hosts_with_their_keys_in_any_order_are_read_as_yaml_reads_them() -> None:
    rng = random.Random(808)
    taken = 0
    for _ in range(1500):
        lines = _shuffled_keys(rng, _usual_text(rng, rng.randint(1, 5)))
        taken += _usual_agrees("\n".join(lines) + "\n")
        for _ in range(rng.randint(1, 3)):
            lines = _hostile_edit(rng, lines)
        _usual_agrees(_joined(rng, lines))
    assert taken > 700


def test_what_sshjup_writes_is_read_by_the_usual_reader_or_given_to_the_general_one() -> None:
    rng = random.Random(17)
    taken = 0
    for i in range(600):
        make = _simple_inventory if i % 2 else _random_inventory
        inv = make(rng)
        for name, target in list(inv.hosts.items()):
            if rng.random() < 0.3 and not name.startswith("jup-"):
                inv.hosts[name] = target.with_changes(companion=True)
        text = inventory.dumps(inv)
        taken += _usual_agrees(text)
        assert inventory.loads(text, "x").hosts == inv.hosts
    assert taken > 20  # (the odd words of _random_inventory send most to yaml)


def test_the_bench_inventory_is_read_by_the_usual_reader() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
    try:
        from run import inventory_yaml  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    text = inventory_yaml(50)
    assert len(text) >= inventory._USUAL_MIN_SIZE  # (loads takes the shortcut)
    assert _usual_agrees(text)
    assert _usual_agrees(inventory.dumps(inventory.loads(text, "x")))
    rng = random.Random(99)
    lines = text.split("\n")[:-1]
    for _ in range(300):  # one hand edit in a file loads reads with the shortcut
        _usual_agrees(_joined(rng, _hostile_edit(rng, lines)))


def test_dumps_copies_the_hosts_just_read_only_for_those_very_targets() -> None:
    lines = ["version: 1", "hosts:"]
    for i in range(80):
        lines += [f"  h{i}:", f"    hostname: h{i}.example.org", f"    local_port: {9000 + i}"]
        lines += ["    remote_port: 8889", *(["    putty: false"] if i % 3 else [])]
    text = "\n".join(lines) + "\n"
    inv = inventory.loads(text, "x")
    _, known = inventory._LAST_READ[0]
    assert set(known) == set(inv.hosts)  # (every host is as dumps writes it: copied)
    assert inventory.dumps(inv) == inventory.HEADER + text == _dumps_afresh(inv)
    edits: list[Callable[[dict[str, Target]], None]] = [
        lambda h: h.update(h1=h["h1"].with_changes(user="bob")),
        lambda h: h.update(h1=h["h1"].with_changes()),  # (equal, but another object)
        lambda h: h.pop("h5"),
        lambda h: h.pop("h79"),
        lambda h: h.update(h5=h.pop("h5")),  # (moved to the end)
        lambda h: h.update(h0=h.pop("h0")),
        lambda h: h.update(new=h["h2"].with_changes(name="new", forwards=(Forward(7000, 1),))),
        lambda h: h.update({"h-1": h.pop("h1")}),  # (another name for the same Target)
        lambda h: h.update(h3=h["h4"], h4=h["h3"]),  # (two Targets swapped)
    ]
    for edit in edits:
        changed = inventory.loads(text, "x")
        edit(changed.hosts)
        assert inventory.dumps(changed) == _dumps_afresh(changed)
        if all(name == t.name for name, t in changed.hosts.items()):
            assert inventory.loads(inventory.dumps(changed), "y").hosts == changed.hosts
    # hosts that are not written as dumps writes them (no ports, `companion: false`, another
    # order) are written afresh
    for old, new in [
        ("    remote_port: 8889\n", ""),
        ("    local_port: 9000\n", ""),
        ("8889\n", "8889\n    companion: false\n"),
        (
            "    hostname: h0.example.org\n    local_port: 9000\n",
            "    local_port: 9000\n    hostname: h0.example.org\n",
        ),
    ]:
        odd = inventory.loads(text.replace(old, new, 1), "x")
        _, known = inventory._LAST_READ[0]
        assert "h0" not in known and "h1" in known
        assert inventory.dumps(odd) == _dumps_afresh(odd)


def _plain_text_before(value: str) -> bool:
    """inventory._plain_text as it was, in steps (now one pattern)."""
    import re

    low = value.lower()
    if not re.fullmatch(r"(?:[A-Za-z0-9/]|~/)[A-Za-z0-9._/@+-]*", value):
        return False
    if low in {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}:
        return False
    if low == value.upper():  # no letter
        return re.fullmatch(r"[0-9]+(?:\.[0-9]+){2,}", value) is not None
    if low[:2] in ("0x", "0b", "0o"):
        return False
    other = low.replace("e", "")
    return other != other.upper()


def test_the_plain_word_pattern_takes_what_the_steps_took() -> None:
    rng = random.Random(41)
    alphabet = "aeEbxXoO0159./~@+-_:yYnNsStTrRuUfFlL \n\u017f\u212a\u0130"
    words = ["yes", "No", "ON", "oFf", "NULL", "y", "n", "true", "False", "0x1f", "0X1", "0b1"]
    words += ["0o7", "0O7", "1e3", "E5", "e", "1.2.3", "1.2", "10.0.0.5", "~/x", "~x", "/a", ""]
    words += ["nul\u017f", "\u212aey", "yes\n", "a\n", "1.2.3\n", "o\u0130n"]
    words += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7))) for _ in range(60000)]
    taken = 0
    for word in words:
        inventory._plain_text.cache_clear()
        assert inventory._plain_text(word) == _plain_text_before(word), repr(word)
        taken += _plain_text_before(word)
    assert taken > 1000


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    port: 022\n",  # octal in YAML 1.1
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    putty: yes\n",  # a YAML 1.1 bool
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    putty: on\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    user: 'on'\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    user: on\n",
        "version: 1\nhosts:\n  yes:\n    hostname: x.org\n",
        "version: 1\nhosts:\n  123:\n    hostname: x.org\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n  h:\n    hostname: y.org\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    user: a\n    user: b\n",
        "version: 1\r\nhosts:\r\n  h:\r\n    hostname: x.org\r\n",
        "version: 1\nhosts:\n  h:\n\thostname: x.org\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org # a comment\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    local_port: 0\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    local_port: 70000\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    local_port: 8888\n"
        "    remote_port: 8888\n",
        "version: 1\nhosts:\n  jup-h:\n    hostname: x.org\n    companion: true\n",
        "version: 1\nhosts:\n  h:\n    hostname: -x.org\n",
        "version: 1\nhosts:\n  h:\n    hostname: café.org\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\u2028    user: root\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\x85    user: root\n",
        "# c\x85version: 2\nversion: 1\nhosts:\n  h:\n    hostname: x.org\n",
        "# c\u2028version: 2\nversion: 1\nhosts:\n  h:\n    hostname: x.org\n",
        "\ufeffversion: 1\nhosts:\n  h:\n    hostname: x.org\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    remote_socket: /a/../b\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    identity_file: -i\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    proxy_jump: a,,b\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n    port: 1" + "0" * 5000 + "\n",
        "version: 1\nhosts:\n  h:\n    user: alice\n    hostname: x.org\n",  # another order
        "version: 1\nhosts:\n",
        "version: 1\nhosts:\n  h:\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org",  # no final newline
        "hosts:\n  h:\n    hostname: x.org\nversion: 1\n",
        "version: 1\nhosts:\n  h:\n    hostname: x.org\n"
        + "".join(" " * (4 + 2 * d) + f"k{d}:\n" for d in range(200)),  # very deep nesting
    ],
)
def test_odd_and_hostile_inventories_are_read_alike_or_left_to_the_general_reader(
    text: str,
) -> None:
    _usual_agrees(text)


def _built(make: Callable[[], Target]) -> object:
    try:
        target = make()
    except InvalidInput as err:
        return (err.message, err.hint)
    return (target, vars(target), vars(target.forwards[0]))


def test_a_plain_target_is_the_target_init_builds() -> None:
    from sshjup.records import fields

    rng = random.Random(11)
    pools: dict[str, list[object]] = {
        "name": ["gpu", "jup-x", "Gpu", "a b", "x" * 60, "", "n\u2028"],
        "hostname": ["gpu.example.org", "10.0.0.5", "::1", "-x", "a%b", "x\ny", "café"],
        "local_port": [8888, 9000, 0, 70000, True, "8888"],
        "remote_port": [8889, 8888, 1, 65536],
        "remote_socket": [None, "/run/j.sock", "rel", "/a b"],
        "user": [None, "alice", "a b", "-x", "root\n"],
        "port": [None, 22, 0, False],
        "identity_file": [None, "~/.ssh/id", "C:\\k ey", "a%b", " x"],
        "proxy_jump": [None, "bastion", "u@b:22", "a,,b", "none"],
        "putty": [None, True, False],
        "companion": [False, True],
        "jupyter": [None, JupyterSpec("notebook")],
    }
    built = 0
    for _ in range(3000):
        v: dict[str, Any] = {  # (the first two of each pool are valid)
            k: p[rng.randrange(2)] if rng.random() < 0.9 else rng.choice(p)
            for k, p in pools.items()
        }
        rest = {k: x for k, x in v.items() if k not in ("local_port", "remote_port")}
        socket = rest.pop("remote_socket")
        if rest["jupyter"] is None:
            del rest["jupyter"]  # (Target's default)

        def init(
            rest: dict[str, Any] = rest, socket: Any = socket, v: dict[str, Any] = v
        ) -> Target:
            forward = Forward(v["local_port"], v["remote_port"], remote_socket=socket)
            return Target(forwards=(forward,), **rest)

        plain = _built(lambda v=v: Target.plain(**v))
        assert plain == _built(init), v
        if isinstance(plain, tuple) and isinstance(plain[0], Target):
            assert list(vars(plain[0])) == [f.name for f in fields(Target)]
            built += 1
    assert built > 500


def test_what_the_validators_now_match_first_passes_the_checks_they_used_to_run_first() -> None:
    # validate_name, validate_user and validate_hostname used to run _reject_control (and, for a
    # host, the '-' and '%' checks) before their pattern; now a value the pattern takes returns
    # at once. Same answers (and the same errors) if the pattern takes only values those checks
    # pass.
    rng = random.Random(23)
    patterns = {"name": models._NAME_RE, "user": models._USER_RE, "hostname": models._DNS_RE}
    alphabet = "aZ09.-_@%:[]~/ \t\n\r\x00\x1b\x7f\x85\xa0\u2028\u2029\ufeffü\u0130K"
    values = [chr(c) for c in range(0x110000)]
    values += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(20000)
    ]
    values += [f"a{c}b" for c in map(chr, range(0x3000))] + [
        f"ab{c}" for c in map(chr, range(0x3000))
    ]
    values += ["a\n", "a.b\n", "a" * 64, "a." * 126 + "a", "a." * 127 + "a"]
    matched = 0
    for kind, pattern in patterns.items():
        for value in values:
            if pattern.fullmatch(value):
                matched += 1
                assert _slow_reject_control(value), (kind, value)
                assert value.isascii(), (kind, value)
                assert not value.startswith("-") and "%" not in value, (kind, value)
    assert matched > 1000


def test_the_usual_inventory_is_written_as_the_general_writer_writes_it() -> None:
    rng = random.Random(31)
    written = 0
    for i in range(900):
        if i % 3 == 2:  # the usual form, as loads reads it
            inv = inventory.loads("\n".join(_usual_text(rng, rng.randint(1, 5))) + "\n", "x")
        else:
            inv = (_simple_inventory, _random_inventory)[i % 3](rng)
        for name, t in list(inv.hosts.items()):
            if rng.random() < 0.7:
                continue
            odd: dict[str, object] = rng.choice(
                [
                    {"companion": not name.startswith("jup-")},
                    {"port": "22"},  # validate_port takes digits as text too
                    {"putty": 1},  # not checked by Target
                    {"forwards": (Forward("9999", 8889),)},
                    {"forwards": (Forward(9999, 8889, remote_socket="/run/j.sock"),)},
                    {"ssh_options": (("ConnectTimeout", "10"),)},
                    {"jupyter": JupyterSpec(kind="notebook")},
                ]
            )
            inv.hosts[name] = t.with_changes(**odd)
        general = inventory._plain_dump(inventory.to_data(inv))
        usual = inventory._usual_dump(inv)
        if usual is not None:
            written += 1
            assert usual == general, inv
        expected = inventory.HEADER + yaml.dump(
            inventory.to_data(inv), Dumper=yaml.SafeDumper, sort_keys=False
        )
        assert inventory.dumps(inv) == expected, inv
    assert written > 100
    assert inventory._usual_dump(inventory.Inventory()) is None  # (yaml writes `hosts: {}`)
