"""Keys for PuTTY: it reads only ``.ppk`` files, so OpenSSH keys are converted with puttygen.

* The ``.ppk`` is a NEW file next to the key (``id_ed25519`` -> ``id_ed25519.sshjup.ppk``),
  mode 0600; the user's key is only read, never rewritten or moved.
* An unencrypted key converts to an unencrypted ``.ppk`` (the same protection as the key).
  An encrypted key is refused with the exact puttygen command to run by hand: puttygen would
  have to ask for the passphrase, and sshjup never handles passphrases.
* A ``.ppk`` given as the identity file is used as it is. An existing ``.sshjup.ppk`` is reused
  when it holds the same public key (or, when that cannot be read, is newer than the key).
* Unix ``puttygen`` converts on the command line (``puttygen KEY -o OUT -O private``); Windows
  ``puttygen.exe`` has no command-line conversion, so on Windows the message says which menu
  to use. puttygen writes a ``randomseed`` file into PuTTY's directory (``$PUTTYDIR``).
"""

from __future__ import annotations

import base64
import binascii
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Literal

from sshjup import proc
from sshjup.errors import InvalidInput, SshjupError, ToolMissing
from sshjup.records import dataclass
from sshjup.store.fileio import atomic_write, read_bytes

PPK_SUFFIX = ".ppk"
SSHJUP_PPK_SUFFIX = ".sshjup.ppk"
PUTTYGEN_TIMEOUT = 60.0
_OPENSSH_MAGIC = b"openssh-key-v1\0"
_MAX_KEY_FILE = 1 << 20


@dataclass(frozen=True)
class KeyInfo:
    """What can be learnt from a private key file without its passphrase."""

    kind: Literal["openssh", "pem", "pkcs8", "ppk", "public", "unknown"]
    encrypted: bool | None  # None: cannot tell
    public_blob: bytes | None  # the SSH public key blob, when the format shows it


@dataclass(frozen=True)
class KeyPlan:
    """How the identity file reaches PuTTY: used as is, an existing .ppk reused, or converted."""

    identity_file: Path
    ppk_path: Path
    action: Literal["use", "reuse", "convert"]

    @property
    def command(self) -> list[str]:
        """The puttygen command that makes ``ppk_path`` (as a user would type it)."""
        return ["puttygen", str(self.identity_file), "-o", str(self.ppk_path), "-O", "private"]

    @property
    def command_text(self) -> str:
        return shlex.join(self.command)


def _expand(identity_file: str | os.PathLike[str]) -> Path:
    return Path(os.path.expanduser(os.fspath(identity_file))).absolute()


def ppk_path_for(identity_file: str | os.PathLike[str]) -> Path:
    """The absolute ``.ppk`` path PuTTY gets for ``identity_file`` (PuTTY expands no ``~``)."""
    path = _expand(identity_file)
    if path.suffix.lower() == PPK_SUFFIX:
        return path
    return path.with_name(path.name + SSHJUP_PPK_SUFFIX)


def _ssh_string(data: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(data):
        raise ValueError
    size = int.from_bytes(data[offset : offset + 4], "big")
    end = offset + 4 + size
    if end > len(data):
        raise ValueError
    return data[offset + 4 : end], end


def _pem_body(text: str, label: str) -> bytes | None:
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    if begin not in text or end not in text:
        return None
    body = text.split(begin, 1)[1].split(end, 1)[0]
    lines = [ln.strip() for ln in body.splitlines() if ln.strip() and ":" not in ln]
    try:
        return base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):
        return None


def inspect_key(data: bytes) -> KeyInfo:
    """Recognise a key file's format and whether it is encrypted (no passphrase needed)."""
    text = data.decode("ascii", errors="replace")
    if text.startswith("PuTTY-User-Key-File-"):
        encryption = ""
        public_lines: list[str] = []
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Encryption:"):
                encryption = line.split(":", 1)[1].strip()
            elif line.startswith("Public-Lines:"):
                count_text = line.split(":", 1)[1].strip()
                count = int(count_text) if count_text.isdigit() else 0
                public_lines = lines[i + 1 : i + 1 + count]
        try:
            blob: bytes | None = base64.b64decode("".join(public_lines), validate=True) or None
        except (binascii.Error, ValueError):
            blob = None
        return KeyInfo("ppk", encryption not in ("", "none"), blob)
    body = _pem_body(text, "OPENSSH PRIVATE KEY")
    if body is not None:
        try:
            if not body.startswith(_OPENSSH_MAGIC):
                raise ValueError
            cipher, offset = _ssh_string(body, len(_OPENSSH_MAGIC))
            _kdf, offset = _ssh_string(body, offset)
            _kdf_options, offset = _ssh_string(body, offset)
            offset += 4  # number of keys
            public, _ = _ssh_string(body, offset)
        except ValueError:
            return KeyInfo("openssh", None, None)
        return KeyInfo("openssh", cipher != b"none", public)
    if "-----BEGIN ENCRYPTED PRIVATE KEY-----" in text:
        return KeyInfo("pkcs8", True, None)
    if "-----BEGIN PRIVATE KEY-----" in text:
        return KeyInfo("pkcs8", False, None)
    if "PRIVATE KEY-----" in text:
        return KeyInfo("pem", "Proc-Type: 4,ENCRYPTED" in text, None)
    first = text.lstrip().split(" ", 1)[0]
    if first.startswith(("ssh-", "ecdsa-", "sk-")) or text.startswith("---- BEGIN SSH2 PUBLIC"):
        return KeyInfo("public", False, None)
    return KeyInfo("unknown", None, None)


def _read_key(path: Path) -> bytes:
    try:
        if path.stat().st_size > _MAX_KEY_FILE:
            msg = f"{path} is too large to be an SSH private key"
            raise InvalidInput(msg, hint="give the private key file (e.g. ~/.ssh/id_ed25519)")
    except FileNotFoundError:
        pass
    data = read_bytes(path, _MAX_KEY_FILE)
    if data is None:
        msg = f"the identity file {path} does not exist"
        raise InvalidInput(msg, hint="check --identity-file (ssh-keygen -t ed25519 makes a key)")
    return data


def _encrypted_error(plan: KeyPlan) -> SshjupError:
    msg = (
        f"the key {plan.identity_file} is protected by a passphrase, so sshjup cannot convert "
        "it to PuTTY's .ppk format without asking for the passphrase"
    )
    hint = (
        f"convert it yourself: `{plan.command_text}` (puttygen asks for the passphrase and "
        "keeps it on the .ppk), then run sshjup again. PuTTY then asks for the passphrase; "
        "plink -batch cannot, so load the key into Pageant for that"
    )
    return SshjupError(msg, hint=hint)


def _windows_hint(plan: KeyPlan) -> str:
    return (
        f"Windows puttygen has no command-line conversion: open PuTTYgen, Conversions > "
        f"Import key, choose {plan.identity_file}, then Save private key as {plan.ppk_path}"
    )


def plan_key(identity_file: str | os.PathLike[str]) -> KeyPlan:
    """Check the key and decide what to do, without writing anything.

    Raises :class:`InvalidInput` for a missing file or a public key, :class:`SshjupError` for
    an encrypted key and :class:`ToolMissing` when a conversion is needed but puttygen cannot
    do it here; every message names the command to run by hand.
    """
    key = _expand(identity_file)
    ppk = ppk_path_for(key)
    info = inspect_key(_read_key(key))
    if key == ppk:
        if info.kind != "ppk":
            msg = f"{key} ends in .ppk but is not a PuTTY key file"
            raise InvalidInput(msg, hint="give PuTTY's .ppk file or the OpenSSH private key")
        return KeyPlan(key, ppk, "use")
    if info.kind == "public":
        msg = f"{key} is a public key; PuTTY needs the private key"
        raise InvalidInput(msg, hint=f"give the private key, e.g. {key.with_suffix('')}")
    plan = KeyPlan(key, ppk, "convert")
    existing = read_bytes(ppk, _MAX_KEY_FILE)
    if existing is not None:
        current = inspect_key(existing)
        if current.kind == "ppk":
            if info.public_blob is not None and current.public_blob is not None:
                if info.public_blob == current.public_blob:
                    return KeyPlan(key, ppk, "reuse")
            elif ppk.stat().st_mtime >= key.stat().st_mtime:
                return KeyPlan(key, ppk, "reuse")
    if info.encrypted:
        raise _encrypted_error(plan)
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        msg = f"{key} must be converted to PuTTY's .ppk format"
        raise ToolMissing(msg, hint=_windows_hint(plan))
    if proc.which("puttygen") is None:
        msg = f"`puttygen` was not found on PATH; it converts {key} to PuTTY's .ppk format"
        raise ToolMissing(
            msg,
            hint=(
                "install PuTTY's command-line tools (Debian/Ubuntu: apt install putty-tools), "
                f"or convert the key yourself: `{plan.command_text}`"
            ),
        )
    return plan


def apply_key(plan: KeyPlan) -> Path:
    """Carry out ``plan`` (convert when needed) and return the ``.ppk`` path."""
    if plan.action != "convert":
        return plan.ppk_path
    directory = plan.ppk_path.parent
    work = Path(tempfile.mkdtemp(prefix=".sshjup-ppk-", dir=directory))
    try:
        no_passphrase = work / "empty"
        no_passphrase.write_bytes(b"")
        out = work / "key.ppk"
        # --old-passphrase with an empty file: an encrypted key fails at once instead of
        # puttygen opening the terminal to ask for its passphrase.
        argv = [
            "puttygen",
            str(plan.identity_file),
            "-o",
            str(out),
            "-O",
            "private",
            "--old-passphrase",
            str(no_passphrase),
        ]
        result = proc.run(argv, timeout=PUTTYGEN_TIMEOUT)
        data = read_bytes(out, _MAX_KEY_FILE) if result.returncode == 0 else None
        if data is None:
            raise _puttygen_error(plan, result.stderr or result.stdout)
        atomic_write(plan.ppk_path, data, backup=False)
        plan.ppk_path.chmod(0o600)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return plan.ppk_path


def _puttygen_error(plan: KeyPlan, output: str) -> SshjupError:
    text = output.strip()
    lowered = text.lower()
    if "passphrase" in lowered or "decryption check failed" in lowered:
        return _encrypted_error(plan)
    if "public-key-only" in lowered or "not a recognised key file format" in lowered:
        msg = f"puttygen cannot read {plan.identity_file} as a private key: {text}"
        return InvalidInput(msg, hint="give the private key file (e.g. ~/.ssh/id_ed25519)")
    msg = f"puttygen could not convert {plan.identity_file}: {text or 'no message'}"
    return SshjupError(msg, hint=f"run `{plan.command_text}` to see the problem")


def convert_key(identity_file: str | os.PathLike[str], *, dry_run: bool = False) -> Path:
    """The ``.ppk`` for ``identity_file``: converted (unless ``dry_run``), reused or as is."""
    plan = plan_key(identity_file)
    if dry_run:
        return plan.ppk_path
    return apply_key(plan)


__all__ = [
    "PPK_SUFFIX",
    "SSHJUP_PPK_SUFFIX",
    "KeyInfo",
    "KeyPlan",
    "apply_key",
    "convert_key",
    "inspect_key",
    "plan_key",
    "ppk_path_for",
]
