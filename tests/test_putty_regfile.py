"""The .reg export: byte-level golden test, and a small .reg reader that reads back both the
real regedit exports in the shared corpus and sshjup's own export."""

from __future__ import annotations

from pathlib import Path

import pytest

from sshjup.errors import InvalidInput
from sshjup.models import Forward, Target
from sshjup.putty.escape import name_from_registry_key
from sshjup.putty.regfile import render_reg, render_reg_text
from sshjup.putty.settings import KnownHostKey, session_settings, unescape_map
from sshjup.putty.sync import export_reg
from tests.conftest import corpus_dir

CORPUS = corpus_dir("putty")
SESSIONS_PREFIX = "HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\"

RegValue = str | int | tuple[str, bytes] | None


# --- a small .reg reader (tests only) ------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _quoted(text: str, start: int) -> tuple[str, int]:
    """A quoted .reg string starting at text[start] == '"'; returns (value, index after)."""
    assert text[start] == '"', text
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '\\"':
            out.append(text[i + 1])
            i += 2
        elif ch == "\\":
            out.append(ch)  # an unknown escape (hand-edited files): keep it literally
            i += 1
        elif ch == '"':
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ValueError(f"unterminated string: {text!r}")


def _value(text: str) -> RegValue:
    if text == "-":
        return None
    if text.startswith('"'):
        value, end = _quoted(text, 0)
        assert text[end:].strip() == "", text
        return value
    if text.startswith("dword:"):
        digits = text[len("dword:") :]
        assert len(digits) == 8, text
        return int(digits, 16)
    if text.startswith("hex"):
        kind, _, hexdata = text.partition(":")
        raw = bytes(int(b, 16) for b in hexdata.replace(" ", "").split(",") if b)
        return (kind, raw)
    raise ValueError(f"unknown value: {text!r}")


def read_reg(data: bytes) -> dict[str, dict[str, RegValue]]:
    """{key path: {value name: value}}, applied in order (``[-KEY]`` deletes the key)."""
    text = _decode(data)
    lines = text.replace("\r\n", "\n").split("\n")
    assert lines[0] in ("Windows Registry Editor Version 5.00", "REGEDIT4"), lines[0]
    joined: list[str] = []
    for line in lines[1:]:
        if joined and joined[-1].endswith("\\") and not joined[-1].endswith('"'):
            joined[-1] = joined[-1][:-1] + line.strip()
        else:
            joined.append(line)
    keys: dict[str, dict[str, RegValue]] = {}
    current: dict[str, RegValue] | None = None
    for line in joined:
        if not line.strip() or line.startswith(";"):
            continue
        if line.startswith("[-"):
            keys.pop(line[2:-1], None)
            current = None
        elif line.startswith("["):
            assert line.endswith("]"), line
            current = keys.setdefault(line[1:-1], {})
        else:
            assert current is not None, line
            if line.startswith("@="):
                name, rest = "", line[2:]
            else:
                name, end = _quoted(line, 0)
                assert line[end] == "=", line
                rest = line[end + 1 :]
            current[name] = _value(rest)
    return keys


def sessions_in(keys: dict[str, dict[str, RegValue]]) -> dict[str, dict[str, RegValue]]:
    return {
        name_from_registry_key(path[len(SESSIONS_PREFIX) :]): values
        for path, values in keys.items()
        if path.startswith(SESSIONS_PREFIX) and "\\" not in path[len(SESSIONS_PREFIX) :]
    }


# --- golden --------------------------------------------------------------------------------


def test_golden_bytes() -> None:
    data = render_reg(
        {
            "jup-gpu": {
                "Present": 1,
                "HostName": "gpu.example.org",
                "PortNumber": 22,
                "PublicKeyFile": 'C:\\Users\\al"ice\\k.ppk',
                "FontHeight": -10,
                "TermWidth": 0x1F,
            },
            "My Jupyter (test)": {"HostName": "h"},
        }
    )
    expected = (
        "Windows Registry Editor Version 5.00\r\n"
        "\r\n"
        "[HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\jup-gpu]\r\n"
        '"Present"=dword:00000001\r\n'
        '"HostName"="gpu.example.org"\r\n'
        '"PortNumber"=dword:00000016\r\n'
        '"PublicKeyFile"="C:\\\\Users\\\\al\\"ice\\\\k.ppk"\r\n'
        '"FontHeight"=dword:fffffff6\r\n'
        '"TermWidth"=dword:0000001f\r\n'
        "\r\n"
        "[HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\My%20Jupyter%20(test)]\r\n"
        '"HostName"="h"\r\n'
        "\r\n"
    )
    assert data == b"\xff\xfe" + expected.encode("utf-16-le")
    # Byte-level facts regedit needs, independent of the expected text above:
    assert data[:6] == b"\xff\xfeW\x00i\x00"
    assert data.endswith(b"\r\x00\n\x00\r\x00\n\x00")
    assert data.count(b"\n\x00") == data.count(b"\r\x00\n\x00")
    assert b"\\\x00\\\x00U\x00" in data  # C:\\Users, UTF-16LE


def test_replace_deletes_each_key_first() -> None:
    text = render_reg_text({"jup-a": {"HostName": "h"}}, replace=True)
    assert text.split("\r\n")[2:6] == [
        "[-HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\jup-a]",
        "",
        "[HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\jup-a]",
        '"HostName"="h"',
    ]
    keys = read_reg(render_reg({"jup-a": {"HostName": "h"}}, replace=True))
    assert keys[SESSIONS_PREFIX + "jup-a"] == {"HostName": "h"}


@pytest.mark.parametrize(
    "sessions",
    [
        {"jup-a": {"HostName": "a\r\nb"}},
        {"J\u00fcrgen": {"HostName": "h"}},
        {"jup-a": {"X": 2**32}},
    ],
    ids=["newline", "non-ascii-name", "too-big"],
)
def test_what_a_reg_file_cannot_hold_is_refused(sessions: dict[str, dict[str, str | int]]) -> None:
    with pytest.raises(InvalidInput):
        render_reg(sessions)


def test_an_empty_export_is_just_the_header() -> None:
    assert render_reg({}) == b"\xff\xfe" + "Windows Registry Editor Version 5.00\r\n\r\n".encode(
        "utf-16-le"
    )


# --- reading back ---------------------------------------------------------------------------


def test_our_export_reads_back_into_the_same_settings() -> None:
    target = Target(
        "gpu",
        "gpu.example.org",
        user="alice",
        port=2222,
        forwards=(Forward(8888, 8889), Forward(6006, 6006)),
        proxy_jump="bob@login.example.org",
    )
    values = session_settings(
        target,
        ppk_path="C:\\Users\\alice\\.ssh\\id_ed25519.sshjup.ppk",
        host_keys=[
            KnownHostKey("ssh-ed25519", "SHA256:Ydj1+odEvjGe8ziWS6ZhwutMZfrSn6mCTvwluEDaf6U")
        ],
        defaults={"Font": 'Quote " and back\\slash', "FontHeight": -12},
    ).values
    sessions: dict[str, dict[str, str | int]] = {
        "jup-gpu": values,
        "odd name: 50% *?": {"HostName": "h", "PortNumber": 22},
    }
    assert sessions_in(read_reg(render_reg(sessions))) == {
        "jup-gpu": {k: (v & 0xFFFFFFFF if isinstance(v, int) else v) for k, v in values.items()},
        "odd name: 50% *?": {"HostName": "h", "PortNumber": 22},
    }
    forwards = sessions_in(read_reg(render_reg(sessions)))["jup-gpu"]["PortForwardings"]
    assert isinstance(forwards, str)
    assert unescape_map(forwards) == [
        ("4L127.0.0.1:8888", "localhost:8889"),
        ("4L127.0.0.1:6006", "localhost:6006"),
    ]


def test_export_reg_builds_sessions_from_targets(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(
        "gpu.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIzTIn+nb7zBRH6pLrF/CD/GxK0ctgq/V+nHdrrICqFP\n"
    )
    result = export_reg(
        [Target("gpu", "gpu.example.org", identity_file="/k/id"), Target("cpu", "cpu.example.org")],
        known_hosts_path=known,
        ppk_paths={"cpu": "C:/keys/cpu.ppk"},
    )
    sessions = sessions_in(read_reg(result.data))
    assert set(sessions) == {"jup-gpu", "jup-cpu"}
    assert str(sessions["jup-gpu"]["SSHManualHostKeys"]).startswith("SHA256:")
    assert "PublicKeyFile" not in sessions["jup-gpu"]
    assert sessions["jup-cpu"]["PublicKeyFile"] == "C:/keys/cpu.ppk"
    assert any("jup-gpu" in w and "Credentials" in w for w in result.warnings)
    assert any("jup-cpu" in w and "no host key" in w for w in result.warnings)


# --- the real exports in the corpus (read-only) --------------------------------------------

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")


def _corpus(name: str) -> dict[str, dict[str, RegValue]]:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{name} not in the corpus")
    return read_reg(path.read_bytes())


@needs_corpus
def test_regedit_export_with_port_forwardings() -> None:
    raw = (CORPUS / "ruiuqlik__MAS__putty.reg").read_bytes()
    assert raw.startswith(b"\xff\xfe") and raw.endswith(b"\r\x00\n\x00\r\x00\n\x00")
    sessions = sessions_in(_corpus("ruiuqlik__MAS__putty.reg"))
    assert len(sessions) == 21
    assert "FTABFA01 (UAT_1)" in sessions
    forwards = [s["PortForwardings"] for s in sessions.values() if s.get("PortForwardings")]
    first = next(f for f in forwards if isinstance(f, str) and "L31521" in f)
    assert isinstance(first, str)
    entries = unescape_map(first)
    assert entries[0] == ("L31521", "10.101.209.51:1521")
    assert len(entries) == 6


@needs_corpus
def test_regedit_export_with_a_port_and_host_keys() -> None:
    keys = _corpus("HackerYou__vagrant_vm__putty.reg")
    vagrant = sessions_in(keys)["Vagrant"]
    assert vagrant["HostName"] == "127.0.0.1"
    assert vagrant["PortNumber"] == 2222
    assert vagrant["UserName"] == "vagrant"
    hostkeys = keys["HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\SshHostKeys"]
    assert any(name.startswith("rsa2@2222:127.0.0.1") for name in hostkeys)
    jump = keys["HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Jumplist"]["Recent sessions"]
    assert isinstance(jump, tuple) and jump[0] == "hex(7)"
    assert jump[1].decode("utf-16-le").startswith("Vagrant")


@needs_corpus
def test_hand_written_regedit4_defaults() -> None:
    defaults = sessions_in(_corpus("vadmium__etc__putty.reg"))["Default Settings"]
    assert defaults["Font"] == "DejaVu Sans Mono"
    assert defaults["FontHeight"] == 8


@needs_corpus
def test_hand_edited_utf8_export_keeps_its_undoubled_backslash() -> None:
    sessions = sessions_in(
        _corpus("mehtasidgh__workshop-migrationhuborchestrator__putty__130404d2.reg")
    )
    assert sessions["ofbiz-db"]["HostName"] == "user@ofbiz-db"
    assert "c:\\puttykey.ppk" in {s.get("PublicKeyFile") for s in sessions.values()}


@needs_corpus
@pytest.mark.parametrize(
    "name", sorted(p.name for p in CORPUS.glob("*.reg")) if CORPUS.is_dir() else []
)
def test_every_corpus_session_survives_our_renderer(name: str) -> None:
    sessions = sessions_in(_corpus(name))
    assert sessions
    plain = {
        sname: {
            k: (v - 2**32 if isinstance(v, int) and v >= 2**31 else v)
            for k, v in values.items()
            if isinstance(v, str | int)
        }
        for sname, values in sessions.items()
        if sname.isascii() and sname.isprintable()
    }
    again = sessions_in(read_reg(render_reg(plain)))
    assert again == {
        s: {k: (v & 0xFFFFFFFF if isinstance(v, int) else v) for k, v in values.items()}
        for s, values in plain.items()
    }
