"""Session names are escaped exactly as PuTTY escapes them, per platform (reference table)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sshjup.errors import InvalidInput
from sshjup.putty.escape import (
    name_from_registry_key,
    name_from_unix_filename,
    registry_key_name,
    unix_session_filename,
    validate_session_name,
)

# name, Windows registry key (escape_registry_key), Unix file name (make_session_filename)
TABLE = [
    ("jupyter-tunnel", "jupyter-tunnel", "jupyter-tunnel"),
    ("jup-gpu", "jup-gpu", "jup-gpu"),
    ("My Jupyter (test)", "My%20Jupyter%20(test)", "My%20Jupyter%20%28test%29"),
    ("sshjup: gpu-box (8888)", "sshjup:%20gpu-box%20(8888)", "sshjup%3A%20gpu-box%20%288888%29"),
    (".hidden", "%2Ehidden", ".hidden"),
    ("a.b", "a.b", "a.b"),
    ("50%", "50%25", "50%25"),
    ("x/y", "x/y", "x%2Fy"),
    ("a*b?c", "a%2Ab%3Fc", "a%2Ab%3Fc"),
    ("back\\slash", "back%5Cslash", "back%5Cslash"),
    ("user@host", "user@host", "user@host"),
    ("a+b_c", "a+b_c", "a+b_c"),
    ("tilde~", "tilde~", "tilde%7E"),
    ("q\"'=,[]", "q\"'=,[]", "q%22%27%3D%2C%5B%5D"),
    ("Default Settings", "Default%20Settings", "Default%20Settings"),
    ("FTABFA01 (UAT_1)", "FTABFA01%20(UAT_1)", "FTABFA01%20%28UAT_1%29"),  # corpus export
]


@pytest.mark.parametrize(("name", "windows", "unix"), TABLE, ids=[row[0] for row in TABLE])
def test_names_escape_like_putty_on_each_platform(name: str, windows: str, unix: str) -> None:
    assert registry_key_name(name) == windows
    assert unix_session_filename(name) == unix


@pytest.mark.parametrize(("name", "windows", "unix"), TABLE, ids=[row[0] for row in TABLE])
def test_escaped_names_decode_back(name: str, windows: str, unix: str) -> None:
    assert name_from_registry_key(windows) == name
    assert name_from_unix_filename(unix) == name


def test_hex_is_uppercase_because_putty_decodes_only_uppercase() -> None:
    assert unix_session_filename("a:b") == "a%3Ab"
    assert registry_key_name(".x") == "%2Ex"
    # A lower-case escape is not PuTTY's: it stays literal.
    assert name_from_unix_filename("a%3ab") == "a%3ab"
    assert name_from_unix_filename("trailing%4") == "trailing%4"


def test_a_dot_is_escaped_on_windows_only_at_the_start() -> None:
    assert registry_key_name("..x.") == "%2E.x."


@pytest.mark.parametrize(
    "name",
    ["", "J\u00fcrgen", "caf\u00e9", "tab\there", "new\nline", "nul\0", "del\x7f", "\u2028"],
    ids=["empty", "umlaut", "accent", "tab", "newline", "nul", "del", "u2028"],
)
def test_names_putty_cannot_store_faithfully_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_session_name(name)
    assert err.value.hint
    with pytest.raises(InvalidInput):
        registry_key_name(name)
    with pytest.raises(InvalidInput):
        unix_session_filename(name)


def test_overlong_names_are_refused() -> None:
    with pytest.raises(InvalidInput):
        validate_session_name("x" * 201)
    assert validate_session_name("x" * 200) == "x" * 200


def test_decoding_a_foreign_non_ascii_session_still_works() -> None:
    # Sessions made by PuTTY itself may hold non-ASCII: listing them must not fail.
    assert name_from_registry_key("J%FCrgen") == "J\u00fcrgen"  # cp1252 byte on Windows
    assert name_from_unix_filename("J%C3%BCrgen") == "J\u00fcrgen"  # UTF-8 bytes on Unix


@given(st.text(alphabet=string.printable.replace("\t", "").strip("\n\r\x0b\x0c"), min_size=1))
def test_every_printable_ascii_name_round_trips_on_both_platforms(name: str) -> None:
    if not name.isprintable():
        return
    assert name_from_registry_key(registry_key_name(name)) == name
    assert name_from_unix_filename(unix_session_filename(name)) == name
    assert set(unix_session_filename(name)) <= set(string.ascii_letters + string.digits + "+-.@_%")
    assert not any(ch in registry_key_name(name) for ch in " \\*?")
