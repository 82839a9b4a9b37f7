"""PuTTY's session files on Unix: where they live, how they are read and written."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sshjup.errors import InvalidInput
from sshjup.putty.store import get_store, putty_dir, sessions_dir, settings_digest, store_exists
from sshjup.putty.unix import FileStore, parse_session_file, render_session_file
from tests.conftest import corpus_dir

CORPUS = corpus_dir("putty")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_keeps_order_and_reads_ints_back_as_text(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "putty" / "sessions")
    settings: dict[str, str | int] = {
        "Present": 1,
        "HostName": "h.example.org",
        "PortNumber": 2222,
        "Protocol": "ssh",
    }
    store.write("jup-h", settings)
    raw = (tmp_path / "putty" / "sessions" / "jup-h").read_bytes()
    assert raw == b"Present=1\nHostName=h.example.org\nPortNumber=2222\nProtocol=ssh\n"
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert store.read("jup-h") == {
        "Present": "1",
        "HostName": "h.example.org",
        "PortNumber": "2222",
        "Protocol": "ssh",
    }
    assert store.read("jup-h") == store.normalize(settings)
    assert settings_digest(store.read("jup-h") or {}) == settings_digest(store.normalize(settings))


def test_new_directories_are_0700_and_session_files_0600(tmp_path: Path) -> None:
    base = tmp_path / "putty"
    store = FileStore(base / "sessions")
    store.write("jup-x", {"HostName": "x"})
    assert _mode(base) == 0o700
    assert _mode(base / "sessions") == 0o700
    assert _mode(base / "sessions" / "jup-x") == 0o600


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir(mode=0o755)
    sessions.chmod(0o755)
    FileStore(sessions).write("jup-x", {"HostName": "x"})
    assert _mode(sessions) == 0o755


def test_the_first_of_two_equal_keys_wins_like_putty() -> None:
    values = parse_session_file(b"HostName=first\nPortNumber=22\nHostName=second\n")
    assert values["HostName"] == "first"


def test_crlf_comments_blank_lines_and_no_final_newline_are_tolerated() -> None:
    data = b"# comment\r\n\r\nHostName=h\r\nPortForwardings=L1=a:1,L2=b:2\r\nUserName=u"
    assert parse_session_file(data) == {
        "HostName": "h",
        "PortForwardings": "L1=a:1,L2=b:2",
        "UserName": "u",
    }


def test_keys_are_not_trimmed_like_putty() -> None:
    # "Key = value" breaks PuTTY (the key is "HostName "); read it the same way.
    assert parse_session_file(b"HostName = h\n") == {"HostName ": " h"}


def test_a_bom_would_break_the_first_key_so_none_is_written() -> None:
    assert parse_session_file(b"\xef\xbb\xbfHostName=h\n") == {"\ufeffHostName": "h"}
    assert render_session_file({"HostName": "h"}) == b"HostName=h\n"


def test_overwrite_replaces_the_whole_session_and_leaves_no_backup_in_sessions(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path / "sessions")
    store.write("jup-x", {"HostName": "x", "UserName": "old"})
    store.write("jup-x", {"HostName": "y"})
    assert store.read("jup-x") == {"HostName": "y"}
    # PuTTY lists every regular file here as a session: no .bak or temp files may stay.
    assert sorted(p.name for p in (tmp_path / "sessions").iterdir()) == ["jup-x"]


def test_list_decodes_names_and_skips_directories_and_sshjup_leftovers(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    store = FileStore(sessions)
    store.write("My Jupyter (test)", {"HostName": "h"})
    store.write("jup-gpu", {"HostName": "h"})
    (sessions / "Default%20Settings").write_text("Font=x\n")
    (sessions / "subdir").mkdir()
    (sessions / "jup-gpu.sshjup.bak").write_text("")
    (sessions / ".jup-gpu.abc.sshjup-tmp").write_text("")
    assert (sessions / "My%20Jupyter%20%28test%29").is_file()
    assert store.list_sessions() == ["Default Settings", "My Jupyter (test)", "jup-gpu"]
    assert store.read_defaults() == {"Font": "x"}


def test_missing_sessions_and_directories_read_as_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "nope")
    assert store.list_sessions() == []
    assert store.read("jup-x") is None
    assert store.read_defaults() == {}
    assert store.delete("jup-x") is False


def test_delete_removes_the_file_without_a_backup(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "sessions")
    store.write("jup-x", {"HostName": "x"})
    assert store.delete("jup-x") is True
    assert list((tmp_path / "sessions").iterdir()) == []


@pytest.mark.parametrize(
    "settings",
    [
        {"HostName": "a\nProxyCommand=evil"},
        {"HostName": "a\rb"},
        {"Bad=Key": "x"},
        {"": "x"},
        {"Flag": True},
    ],
    ids=["newline", "cr", "equals-in-key", "empty-key", "bool"],
)
def test_values_a_session_file_cannot_hold_are_refused_before_writing(
    tmp_path: Path, settings: dict[str, str | int]
) -> None:
    store = FileStore(tmp_path / "sessions")
    with pytest.raises(InvalidInput):
        store.write("jup-x", settings)
    assert not (tmp_path / "sessions").exists()


def test_bad_session_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        FileStore(tmp_path).write("J\u00fcrgen", {"HostName": "h"})


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")
def test_a_session_file_written_by_putty_parses() -> None:
    values = parse_session_file(
        (CORPUS / "Mektub__hconfig__.putty__sessions__ttyUSB0").read_bytes()
    )
    assert values["Protocol"] == "serial"
    assert values["PortForwardings"] == ""
    assert values["ProxyTelnetCommand"] == "connect %host %port\\n"


# --- which directory (unix/storage.c rules) -------------------------------------------------


def test_puttysessions_wins(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PUTTYSESSIONS", str(tmp_path / "explicit"))
    assert sessions_dir() == tmp_path / "explicit"


def test_puttydir_is_used_as_is(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PUTTYDIR", str(tmp_path / "pd"))
    assert sessions_dir() == tmp_path / "pd" / "sessions"


def test_xdg_directory_only_when_it_exists(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUTTYDIR")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert putty_dir() == isolated / ".putty"
    (isolated / ".config" / "putty").mkdir(parents=True)
    assert sessions_dir() == isolated / ".config" / "putty" / "sessions"
    # Once it exists, PuTTY ignores ~/.putty entirely, even when that exists too.
    (isolated / ".putty").mkdir()
    assert putty_dir() == isolated / ".config" / "putty"


def test_xdg_config_home_is_honoured(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PUTTYDIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert putty_dir() == isolated / ".putty"
    (tmp_path / "xdg" / "putty").mkdir(parents=True)
    assert putty_dir() == tmp_path / "xdg" / "putty"


def test_empty_variables_count_as_unset(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUTTYDIR", "")
    monkeypatch.setenv("PUTTYSESSIONS", "")
    assert sessions_dir() == isolated / ".putty" / "sessions"


def test_get_store_uses_putty_s_directory_or_the_explicit_one(
    isolated: Path, tmp_path: Path
) -> None:
    store = get_store()
    assert isinstance(store, FileStore)
    assert store.directory == isolated / ".putty" / "sessions"
    explicit = get_store(tmp_path / "x")
    assert isinstance(explicit, FileStore)
    assert explicit.directory == tmp_path / "x"


def test_store_exists_follows_putty_s_directory(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert store_exists() is False
    (isolated / ".putty").mkdir()
    assert store_exists() is True
    monkeypatch.setenv("PUTTYSESSIONS", str(tmp_path / "s"))
    assert store_exists() is False
    (tmp_path / "s").mkdir()
    assert store_exists() is True
