"""PuTTY needs .ppk keys: conversion with the real puttygen, never touching the user's key."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from sshjup.errors import InvalidInput, SshjupError, ToolMissing
from sshjup.putty.keys import KeyPlan, apply_key, convert_key, inspect_key, plan_key, ppk_path_for

needs_puttygen = pytest.mark.skipif(
    shutil.which("puttygen") is None, reason="puttygen missing (apt install putty-tools)"
)
needs_keygen = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None, reason="ssh-keygen missing (install openssh-client)"
)


def _keygen(path: Path, *extra: str, passphrase: str = "") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-N", passphrase, "-C", "sshjup-test", "-f", str(path), *extra],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def _public_blob(path: Path) -> bytes:
    return base64.b64decode(path.with_name(path.name + ".pub").read_text().split()[1])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def keydir(isolated: Path) -> Path:
    path = isolated / ".ssh"
    return path


def test_ppk_path_is_a_new_file_next_to_the_key(isolated: Path) -> None:
    assert ppk_path_for("/k/id_ed25519") == Path("/k/id_ed25519.sshjup.ppk")
    assert ppk_path_for("~/.ssh/id_rsa") == isolated / ".ssh" / "id_rsa.sshjup.ppk"
    assert ppk_path_for("/k/mine.ppk") == Path("/k/mine.ppk")
    assert ppk_path_for("/k/MINE.PPK") == Path("/k/MINE.PPK")
    assert ppk_path_for("rel/key").is_absolute()


@needs_keygen
@needs_puttygen
def test_an_ed25519_key_is_converted_next_to_it_and_left_untouched(keydir: Path) -> None:
    key = _keygen(keydir / "id_ed25519", "-t", "ed25519")
    before = (key.read_bytes(), _mode(key), key.stat().st_mtime_ns)
    ppk = convert_key(str(key))
    assert ppk == keydir / "id_ed25519.sshjup.ppk"
    text = ppk.read_text()
    assert text.startswith("PuTTY-User-Key-File-3: ssh-ed25519\n")
    assert "Encryption: none\n" in text
    assert "Comment: sshjup-test\n" in text
    assert _mode(ppk) == 0o600
    assert (key.read_bytes(), _mode(key), key.stat().st_mtime_ns) == before
    assert inspect_key(ppk.read_bytes()).public_blob == _public_blob(key)
    # puttygen's randomseed went to the test's PUTTYDIR, not the real home.
    assert sorted(p.name for p in keydir.iterdir()) == [
        "id_ed25519",
        "id_ed25519.pub",
        "id_ed25519.sshjup.ppk",
    ]


@needs_keygen
@needs_puttygen
def test_an_existing_conversion_of_the_same_key_is_reused(keydir: Path) -> None:
    key = _keygen(keydir / "id_ed25519", "-t", "ed25519")
    ppk = convert_key(key)
    first = ppk.stat()
    assert plan_key(key).action == "reuse"
    assert convert_key(key) == ppk
    assert ppk.stat().st_ino == first.st_ino
    assert ppk.stat().st_mtime_ns == first.st_mtime_ns


@needs_keygen
@needs_puttygen
def test_a_replaced_key_is_converted_again(keydir: Path) -> None:
    key = _keygen(keydir / "id_ed25519", "-t", "ed25519")
    ppk = convert_key(key)
    old = ppk.read_bytes()
    key.unlink()
    key.with_name("id_ed25519.pub").unlink()
    _keygen(key, "-t", "ed25519")
    os.utime(key, (1, 1))  # even an older file: the public key differs
    assert plan_key(key).action == "convert"
    convert_key(key)
    assert ppk.read_bytes() != old
    assert inspect_key(ppk.read_bytes()).public_blob == _public_blob(key)


@needs_keygen
@needs_puttygen
def test_a_pem_rsa_key_converts_and_falls_back_to_mtime_for_reuse(keydir: Path) -> None:
    key = _keygen(keydir / "id_rsa", "-t", "rsa", "-b", "2048", "-m", "PEM")
    assert inspect_key(key.read_bytes()).kind == "pem"
    ppk = convert_key(key)
    assert ppk.read_text().startswith("PuTTY-User-Key-File-3: ssh-rsa\n")
    assert plan_key(key).action == "reuse"
    os.utime(ppk, (1, 1))  # older than the key: converted again
    assert plan_key(key).action == "convert"


@needs_keygen
def test_an_encrypted_key_is_refused_with_the_command_to_run(keydir: Path) -> None:
    key = _keygen(keydir / "id_ed25519", "-t", "ed25519", passphrase="correct horse")
    info = inspect_key(key.read_bytes())
    assert (info.kind, info.encrypted) == ("openssh", True)
    assert info.public_blob == _public_blob(key)
    with pytest.raises(SshjupError) as err:
        convert_key(key)
    assert "passphrase" in err.value.message
    assert err.value.hint is not None
    assert f"puttygen {key} -o {key}.sshjup.ppk -O private" in err.value.hint
    assert not (keydir / "id_ed25519.sshjup.ppk").exists()


@needs_keygen
@needs_puttygen
def test_puttygen_never_prompts_for_a_passphrase_it_was_not_told_about(keydir: Path) -> None:
    # Bypass the up-front check: puttygen itself must fail at once, not wait on a terminal.
    key = _keygen(keydir / "id_rsa", "-t", "rsa", "-b", "2048", "-m", "PEM", passphrase="secret")
    plan = KeyPlan(key, keydir / "id_rsa.sshjup.ppk", "convert")
    with pytest.raises(SshjupError) as err:
        apply_key(plan)
    assert "passphrase" in err.value.message
    assert "puttygen" in (err.value.hint or "")
    assert not plan.ppk_path.exists()
    assert [p.name for p in keydir.iterdir() if p.name.startswith(".sshjup-ppk")] == []


@needs_keygen
@needs_puttygen
def test_a_user_converted_encrypted_ppk_is_reused(keydir: Path, tmp_path: Path) -> None:
    key = _keygen(keydir / "id_ed25519", "-t", "ed25519", passphrase="pw")
    pw = tmp_path / "pw"
    pw.write_text("pw\n")
    subprocess.run(
        [
            "puttygen",
            str(key),
            "-o",
            f"{key}.sshjup.ppk",
            "-O",
            "private",
            "--old-passphrase",
            str(pw),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert plan_key(key).action == "reuse"
    assert convert_key(key) == keydir / "id_ed25519.sshjup.ppk"


@needs_keygen
def test_missing_puttygen_names_the_package_and_the_command(
    keydir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = _keygen(keydir / "id_ed25519", "-t", "ed25519")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(ToolMissing) as err:
        convert_key(key)
    assert "puttygen" in err.value.message
    assert "putty-tools" in (err.value.hint or "")
    assert f"puttygen {key} -o {key}.sshjup.ppk -O private" in (err.value.hint or "")


def test_a_missing_key_file_is_invalid_input(keydir: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        convert_key(keydir / "nope")
    assert "does not exist" in err.value.message


@needs_keygen
def test_a_public_key_is_refused(keydir: Path) -> None:
    key = _keygen(keydir / "id_ed25519", "-t", "ed25519")
    with pytest.raises(InvalidInput) as err:
        convert_key(f"{key}.pub")
    assert "public key" in err.value.message


def test_a_ppk_is_used_as_it_is(keydir: Path) -> None:
    ppk = keydir / "mine.ppk"
    ppk.write_text(
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\nPublic-Lines: 0\n"
    )
    assert plan_key(ppk).action == "use"
    assert convert_key(ppk) == ppk


def test_a_file_named_ppk_that_is_not_one_is_refused(keydir: Path) -> None:
    bad = keydir / "fake.ppk"
    bad.write_text("not a key\n")
    with pytest.raises(InvalidInput):
        plan_key(bad)


@needs_keygen
def test_dry_run_writes_nothing(keydir: Path) -> None:
    key = _keygen(keydir / "id_ed25519", "-t", "ed25519")
    assert convert_key(key, dry_run=True) == keydir / "id_ed25519.sshjup.ppk"
    assert not (keydir / "id_ed25519.sshjup.ppk").exists()


def test_inspect_key_recognises_formats() -> None:
    assert inspect_key(
        b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: x\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"
    ).encrypted
    assert inspect_key(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
    ).encrypted
    assert (
        inspect_key(b"-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\n").encrypted
        is False
    )
    assert inspect_key(b"ssh-ed25519 AAAA comment\n").kind == "public"
    assert inspect_key(b"PuTTY-User-Key-File-2: ssh-rsa\nEncryption: aes256-cbc\n").encrypted
    assert (
        inspect_key(b"PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nPublic-Lines: x\n").kind
        == "ppk"
    )
    broken = inspect_key(
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    assert (broken.kind, broken.encrypted) == ("openssh", None)
    assert inspect_key(b"\x00\x01garbage").kind == "unknown"
