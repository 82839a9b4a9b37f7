"""``ssh -G`` as the test oracle, run so that it cannot reach beyond this machine.

``ssh -G -F FILE ALIAS`` prints what OpenSSH resolves for ALIAS without connecting. It also runs
``Match exec`` commands (through ``/bin/sh``, found on PATH) and, with ``CanonicalizeHostname``,
looks host names up in DNS. So:

* every ``ssh -G`` here (and sshjup's own, which finds ``ssh`` on PATH) runs with PATH set to a
  directory that holds nothing but a symlink to the real ``ssh``: ``restrict_path``. A
  ``Match exec "ping ..."`` then fails with "not found" instead of sending packets;
* ``would_canonicalise`` tells which host names ssh would look up; callers resolve those with
  ``-o CanonicalizeHostname=no`` instead (the command line wins over the file);
* relative ``Include`` paths are resolved by OpenSSH against ``~/.ssh`` of the password-database
  home (the real one, not ``$HOME``): ``real_include_matches`` lists what such a line would read.
"""

from __future__ import annotations

import functools
import glob
import ipaddress
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import corpus_dir

SSH_G_TIMEOUT = 20.0
DATA = Path(__file__).resolve().parent.parent / "data" / "ssh"
INCLUDED_PLACEHOLDER = "@INCLUDED@"
WHITESPACE = " \t\r\n\f"
_NOISE = "Pseudo-terminal will not be allocated"


@functools.lru_cache(maxsize=1)
def real_ssh() -> str | None:
    """The real ``ssh`` binary (symlinks resolved), or None when OpenSSH is not installed."""
    found = shutil.which("ssh")
    return os.path.realpath(found) if found else None


def restrict_path(monkeypatch: pytest.MonkeyPatch, directory: Path) -> Path:
    """Set PATH to ``directory``, holding only a symlink to ``ssh``; skip without OpenSSH."""
    ssh = real_ssh()
    if ssh is None:
        pytest.skip("the OpenSSH client (ssh) is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "ssh"
    if not link.exists():
        link.symlink_to(ssh)
    monkeypatch.setenv("PATH", str(directory))
    return directory


def _checked_ssh() -> str:
    """``ssh`` from PATH, refusing to run unless PATH is the ssh-only directory."""
    path = os.environ.get("PATH", "")
    entries = path.split(os.pathsep)
    if len(entries) != 1 or sorted(os.listdir(entries[0])) != ["ssh"]:
        msg = f"ssh -G must run with PATH set by restrict_path(), not {path!r}"
        raise AssertionError(msg)
    return str(Path(entries[0]) / "ssh")


@dataclass(frozen=True)
class SshG:
    """One ``ssh -G`` run: exit code, full output, and the error text."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def values(self, key: str) -> list[str]:
        prefix = key.lower() + " "
        return [line[len(prefix) :] for line in self.stdout.splitlines() if line.startswith(prefix)]

    def value(self, key: str) -> str | None:
        found = self.values(key)
        return found[0] if found else None

    def error(self) -> str:
        """stderr without the tty notice: what ssh said was wrong."""
        return "\n".join(
            line for line in self.stderr.splitlines() if line.strip() and _NOISE not in line
        )

    def comparable(self, *config_paths: Path) -> tuple[int, str, str]:
        """(exit code, stdout, error with file names and line numbers replaced).

        After sshjup inserts its section the same bad line has another number, and sshjup
        checks a temporary copy of the file: neither is a difference in meaning.
        """
        error = self.error()
        for path in sorted({str(p) for p in config_paths}, key=len, reverse=True):
            error = error.replace(path, "<config>")
        error = re.sub(r"\bline \d+\b", "line N", error)
        return self.returncode, self.stdout, error


def ssh_g(config: Path, alias: str, *options: str) -> SshG:
    """``ssh -F CONFIG [OPTIONS] -G -- ALIAS`` with the ssh-only PATH; never connects."""
    argv = [_checked_ssh(), "-F", str(config), *options, "-G", "--", alias]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        stdin=subprocess.DEVNULL,
        timeout=SSH_G_TIMEOUT,
        check=False,
    )
    return SshG(result.returncode, result.stdout, result.stderr)


# --- the configs under test ---------------------------------------------------------------------


def own_fixtures() -> list[Path]:
    """tests/data/ssh/*.conf: the forms issue 2 names, made by hand."""
    return sorted(DATA.glob("*.conf"))


def corpus_fixtures() -> list[Path]:
    """The shared corpus of real-world configs (read in place, never copied); [] when absent."""
    folder = corpus_dir("ssh_configs")
    return sorted(folder.glob("*.conf")) if folder.is_dir() else []


def fixture_bytes(source: Path, workdir: Path) -> bytes:
    """A fixture's bytes; ``@INCLUDED@`` becomes a copy of tests/data/ssh/included in workdir.

    Include fixtures use absolute paths under the test's temp dir, so what they include never
    depends on files outside it (a relative Include would read the real ~/.ssh).
    """
    data = source.read_bytes()
    if INCLUDED_PLACEHOLDER.encode() in data:
        included = workdir / "included"
        if not included.exists():
            shutil.copytree(DATA / "included", included)
        data = data.replace(INCLUDED_PLACEHOLDER.encode(), str(included).encode())
    return data


# --- reading a config the way OpenSSH does (independent of sshjup's own parser) ---------------


def argv_split(rest: str) -> list[str] | None:
    """OpenSSH's argv_split(..., terminate_on_comment=1); None for an unclosed quote."""
    out: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        if rest[i] in " \t":
            i += 1
            continue
        if rest[i] == "#":
            break
        quote = ""
        arg: list[str] = []
        while i < n:
            c = rest[i]
            if (
                c == "\\"
                and i + 1 < n
                and (rest[i + 1] in "'\"\\" or (not quote and rest[i + 1] == " "))
            ):
                i += 1
                arg.append(rest[i])
            elif not quote and c in " \t":
                break
            elif not quote and c in "\"'":
                quote = c
            elif quote and c == quote:
                quote = ""
            else:
                arg.append(c)
            i += 1
        if quote:
            return None
        out.append("".join(arg))
    return out


def keyword_and_args(line: str) -> tuple[str, list[str]]:
    """(lower-case keyword, arguments) of one config line; ("", []) for blanks and comments."""
    # readconf.c strips trailing whitespace and form feeds; leading \f is part of the keyword
    s = line.rstrip(WHITESPACE).lstrip(" \t\r\n")
    if not s or s.startswith("#"):
        return "", []
    j = 0
    while j < len(s) and s[j] not in WHITESPACE and s[j] != "=":
        j += 1
    keyword, rest = s[:j], s[j:].lstrip(WHITESPACE)
    if rest.startswith("="):
        rest = rest[1:].lstrip(WHITESPACE)
    return keyword.lower(), argv_split(rest) or []


def config_lines(data: bytes) -> list[str]:
    """Lines as ssh's getline() sees them: only ``\\n`` ends a line."""
    return data.decode("utf-8", "surrogateescape").split("\n")


def ssh_home() -> Path:
    """The home directory OpenSSH uses (password database), not ``$HOME``."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def include_paths(argument: str) -> str:
    """An Include argument as OpenSSH expands it for a user config (a glob pattern)."""
    if argument == "~" or argument.startswith("~/"):
        argument = str(ssh_home()) + argument[1:]
    if not os.path.isabs(argument):
        argument = str(ssh_home() / ".ssh" / argument)
    return argument


def include_arguments(data: bytes) -> list[str]:
    return [
        arg
        for line in config_lines(data)
        for keyword, args in [keyword_and_args(line)]
        if keyword == "include"
        for arg in args
    ]


def real_include_matches(data: bytes) -> list[str]:
    """Files outside the test's temp dirs that the file's relative or ``~`` Includes would read."""
    found: list[str] = []
    for arg in include_arguments(data):
        if os.path.isabs(arg):
            continue
        found.extend(sorted(glob.glob(include_paths(arg))))
    return found


def concrete_aliases(path: Path, *, follow_includes: bool = False, _depth: int = 0) -> list[str]:
    """Host arguments without ``*``, ``?`` or ``!`` (once each, in file order).

    With ``follow_includes``, files named by absolute Include paths are read too (relative
    ones resolve against the real ~/.ssh, which tests never rely on).
    """
    data = path.read_bytes()
    out: list[str] = []
    for line in config_lines(data):
        keyword, args = keyword_and_args(line)
        if keyword == "host":
            out.extend(a for a in args if a and a[0] != "!" and "*" not in a and "?" not in a)
        elif keyword == "include" and follow_includes and _depth < 16:
            for arg in args:
                if not os.path.isabs(arg):
                    continue
                for inc in sorted(glob.glob(arg)):
                    if Path(inc).is_file() and Path(inc) != path:
                        out.extend(
                            concrete_aliases(Path(inc), follow_includes=True, _depth=_depth + 1)
                        )
    return list(dict.fromkeys(out))


# --- CanonicalizeHostname: which names ssh would look up in DNS -------------------------------


@dataclass(frozen=True)
class Canonicalize:
    enabled: bool
    max_dots: int = 1


def canonicalize_settings(data: bytes) -> Canonicalize:
    """Whether any line of the file turns CanonicalizeHostname on (wherever it is)."""
    enabled = False
    max_dots = 1
    seen_dots = False
    for line in config_lines(data):
        keyword, args = keyword_and_args(line)
        if keyword == "canonicalizehostname" and args and args[0].lower() in {"yes", "always"}:
            enabled = True
        elif keyword == "canonicalizemaxdots" and args and args[0].isdigit() and not seen_dots:
            max_dots, seen_dots = int(args[0]), True
    return Canonicalize(enabled, max_dots)


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def would_canonicalise(settings: Canonicalize, hostname: str) -> bool:
    """True when ssh would look ``hostname`` up in DNS to canonicalise it.

    As ssh.c resolve_canonicalize() does: IP literals are never looked up; a name ending in
    ``.`` is looked up as it is; any other name is tried with each CanonicalDomains suffix
    unless it has more than CanonicalizeMaxDots dots. Conservative: the ProxyCommand and
    ProxyJump exceptions are ignored.
    """
    if not settings.enabled or is_ip_literal(hostname):
        return False
    return hostname.endswith(".") or hostname.count(".") <= settings.max_dots


def resolve_safely(config: Path, alias: str, settings: Canonicalize) -> SshG:
    """``ssh -G`` of ``alias``; with canonicalisation off when it would query DNS.

    For files that turn CanonicalizeHostname on, the host name is first resolved with it off;
    if ssh would then look that name up (so the answer depends on the network, and the test
    would leave loopback), the canonicalisation part is skipped: the comparison runs with
    ``-o CanonicalizeHostname=no``. Everything else in the output is still compared.
    """
    if not settings.enabled:
        return ssh_g(config, alias)
    plain = ssh_g(config, alias, "-o", "CanonicalizeHostname=no")
    hostname = plain.value("hostname") or alias
    if would_canonicalise(settings, hostname) or would_canonicalise(settings, alias):
        return plain
    return ssh_g(config, alias)


__all__ = [
    "Canonicalize",
    "SshG",
    "argv_split",
    "canonicalize_settings",
    "concrete_aliases",
    "config_lines",
    "corpus_fixtures",
    "fixture_bytes",
    "own_fixtures",
    "include_arguments",
    "include_paths",
    "is_ip_literal",
    "keyword_and_args",
    "real_include_matches",
    "real_ssh",
    "resolve_safely",
    "restrict_path",
    "ssh_g",
    "ssh_home",
    "would_canonicalise",
]
