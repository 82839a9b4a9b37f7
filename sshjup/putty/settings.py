"""The PuTTY saved session for a target: a pure renderer (model -> PuTTY settings).

``session_settings`` turns a :class:`~sshjup.models.Target` into the values of a PuTTY saved
session that opens the same tunnel as ``ssh jup-NAME``; ``known_host_keys`` reads the host's
keys from an OpenSSH known_hosts text, so the session can pin them. No I/O here: the caller
reads the files and the store (see :mod:`sshjup.putty.sync`).

Facts behind every value (PuTTY 0.78 source, checked with plink 0.78): docs/putty.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping, Sequence

from sshjup.errors import InvalidInput
from sshjup.models import Forward, Target, validate_hostname, validate_port, validate_user
from sshjup.putty.escape import validate_session_name
from sshjup.records import dataclass

SettingValue = str | int
Settings = dict[str, SettingValue]

DEFAULT_SSH_PORT = 22
# The ssh block's ServerAliveInterval, as PuTTY's keepalive (used when the user has none).
KEEPALIVE_SECONDS = 30
# PuTTY's ProxyMethod storage values (utils/conf_data.c; the same numbers since 0.77, where
# 6 was PROXY_SSH and 0.79 renamed it PROXY_SSH_TCPIP): 6 = SSH to the proxy, then a
# direct-tcpip channel to the destination, which is what OpenSSH's ProxyJump does.
PROXY_METHOD_NONE = 0
PROXY_METHOD_SSH_TCPIP = 6
# PuTTY's host key algorithm names ("HostKey" setting) and its compiled-in order.
PUTTY_HOSTKEY_ORDER = ("ed25519", "ed448", "ecdsa", "rsa", "dsa", "WARN")
_PUTTY_HOSTKEY_NAME = {
    "ssh-ed25519": "ed25519",
    "ssh-ed448": "ed448",
    "ecdsa-sha2-nistp256": "ecdsa",
    "ecdsa-sha2-nistp384": "ecdsa",
    "ecdsa-sha2-nistp521": "ecdsa",
    "ssh-rsa": "rsa",
    "ssh-dss": "dsa",
}
# Values from "Default Settings" that would break or confuse the tunnel session.
_DROPPED_DEFAULTS = ("SSHManualHostKeys", "PortForwardings")


@dataclass(frozen=True)
class KnownHostKey:
    """One host key from known_hosts: its type (``ssh-ed25519``) and ``SHA256:`` fingerprint."""

    keytype: str
    fingerprint: str

    @property
    def putty_name(self) -> str | None:
        """PuTTY's name for the algorithm in the ``HostKey`` preference list, if it has one."""
        return _PUTTY_HOSTKEY_NAME.get(self.keytype)


@dataclass(frozen=True)
class SessionSettings:
    """What to store for one session, and what PuTTY cannot do the way ssh does."""

    values: Settings
    warnings: tuple[str, ...] = ()


# --- PuTTY's map escaping (settings.c: wmap / gppmap) ------------------------------------


def escape_map_item(text: str) -> str:
    """Escape ``=``, ``,`` and ``\\`` with a backslash, as PuTTY's ``wmap`` does."""
    return "".join("\\" + ch if ch in "=,\\" else ch for ch in text)


def unescape_map(text: str) -> list[tuple[str, str]]:
    """Split a stored map (``K=V,K=V``) the way PuTTY's ``gppmap`` reads it.

    The key is the text before the first unescaped ``=``, the value the text after the last
    one; ``\\x`` is a literal ``x``; empty entries (a trailing comma) are skipped.
    """
    entries: list[tuple[str, str]] = []
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i <= len(text):
        ch = text[i] if i < len(text) else ","
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if ch == "=":
            parts.append("".join(current))
            current = []
        elif ch == ",":
            parts.append("".join(current))
            if len(parts) > 1 or parts[0]:
                entries.append((parts[0], parts[-1] if len(parts) > 1 else ""))
            parts, current = [], []
        else:
            current.append(ch)
        i += 1
    return entries


def _bracket(host: str) -> str:
    """IPv6 literals in brackets, as PuTTY's ``host_strchr`` expects."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]" if addr.version == 6 else host  # noqa: PLR2004


def forward_entry(fwd: Forward) -> tuple[str, str]:
    """``("4L127.0.0.1:8888", "localhost:8889")``: the key and value of one local forward.

    The source address is written out, like the ssh block's ``LocalForward 127.0.0.1:8888``,
    and so is its address family (``4`` for an IPv4 address, ``6`` for IPv6): with the auto
    family plink 0.78 was seen listening on ``::1`` too even for ``L127.0.0.1:PORT`` (a second
    listener the ssh block does not have, and one that another program can hold without
    ``ExitOnForwardFailure``-like failure). ``4L127.0.0.1:8888`` is what the Tunnels panel
    writes with "IPv4" ticked (config.c: portfwd_handler).
    """
    family = "6" if ":" in fwd.bind else "4" if fwd.bind[:1].isdigit() else ""
    key = f"{family}L{_bracket(fwd.bind)}:{fwd.local_port}"
    value = f"{_bracket(fwd.remote_host)}:{fwd.remote_port}"
    return key, value


def port_forwardings(forwards: Sequence[Forward]) -> str:
    """The ``PortForwardings`` value: ``4L127.0.0.1:8888=localhost:8889,...`` (escaped)."""
    return ",".join(
        f"{escape_map_item(key)}={escape_map_item(value)}"
        for key, value in (forward_entry(f) for f in forwards)
    )


# --- known_hosts --------------------------------------------------------------------------


def fingerprint_sha256(blob: bytes) -> str:
    """``SHA256:<base64, no padding>``, exactly as ``ssh-keygen -lf`` prints it."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _lookup_name(host: str, port: int) -> str:
    """The name OpenSSH looks up in known_hosts: ``host``, or ``[host]:port`` off port 22."""
    host = host.lower()
    return host if port == DEFAULT_SSH_PORT else f"[{host}]:{port}"


def _glob_match(pattern: str, text: str) -> bool:
    """OpenSSH's ``match_pattern``: ``*`` any run, ``?`` one character, nothing else special.

    Without recursion or backtracking: the text between ``*``s is matched at the start, at
    the end, and leftmost in between, so the time grows linearly with the pattern (a line of
    3,000 ``*`` is as quick as one) and with the host name's length times a part's length.
    """
    parts = pattern.split("*")
    if len(parts) == 1:
        return len(pattern) == len(text) and _part_at(pattern, text, 0)
    head, tail, middle = parts[0], parts[-1], parts[1:-1]
    end = len(text) - len(tail)
    if end < len(head) or not _part_at(head, text, 0) or not _part_at(tail, text, end):
        return False
    pos = len(head)
    for part in middle:
        if part:
            found = _find_part(part, text, pos, end)
            if found < 0:
                return False
            pos = found + len(part)
    return True


def _part_at(part: str, text: str, start: int) -> bool:
    """Does ``part`` (``?`` = any one character) match ``text`` at ``start``?"""
    if start + len(part) > len(text):
        return False
    if "?" not in part:
        return text.startswith(part, start)
    return all(c in ("?", text[start + i]) for i, c in enumerate(part))


def _find_part(part: str, text: str, start: int, end: int) -> int:
    """The first index from ``start`` where ``part`` matches and ends by ``end``; -1: none."""
    if "?" not in part:
        return text.find(part, start, end)
    for i in range(start, end - len(part) + 1):
        if _part_at(part, text, i):
            return i
    return -1


def _hashed_match(entry: str, name: str) -> bool:
    """``|1|salt|hash``: HMAC-SHA1 keyed with the salt over the looked-up name."""
    parts = entry.split("|")
    if len(parts) != 4 or parts[1] != "1":  # noqa: PLR2004 (|1|salt|hash)
        return False
    try:
        salt = base64.b64decode(parts[2], validate=True)
        expected = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return False
    actual = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
    return hmac.compare_digest(actual, expected)


def _hosts_match(field: str, name: str) -> bool:
    if field.startswith("|"):
        return _hashed_match(field, name)
    matched = False
    for raw in field.split(","):
        negated = raw.startswith("!")
        pattern = (raw[1:] if negated else raw).lower()
        if _glob_match(pattern, name):
            if negated:
                return False
            matched = True
    return matched


def _key_blob(keytype: str, b64: str) -> bytes | None:
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    # The blob starts with string(keytype); a line whose type and blob disagree is ignored.
    if len(blob) < 4:  # noqa: PLR2004
        return None
    size = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + size] != keytype.encode("ascii", errors="replace"):
        return None
    return blob


def known_host_keys(
    known_hosts_text: str, host: str, port: int | None = None
) -> list[KnownHostKey]:
    """The keys known_hosts lists for ``host`` on ``port`` (22 when ``None``), file order.

    Plain names, ``[host]:port`` entries, comma lists, ``*``/``?`` wildcards, ``!`` negation
    and hashed ``|1|salt|hash`` entries are understood; ``@cert-authority`` lines are skipped
    (a CA is not a host key) and keys marked ``@revoked`` are never returned.
    """
    name = _lookup_name(host, DEFAULT_SSH_PORT if port is None else port)
    found: list[tuple[str, bytes]] = []
    revoked: set[bytes] = set()
    for raw_line in known_hosts_text.splitlines():
        fields = raw_line.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = ""
        if fields[0].startswith("@"):
            marker, fields = fields[0], fields[1:]
        if len(fields) < 3:  # noqa: PLR2004 (hosts keytype key)
            continue
        hosts, keytype, b64 = fields[0], fields[1], fields[2]
        blob = _key_blob(keytype, b64)
        if blob is None or not _hosts_match(hosts, name):
            continue
        if marker == "@revoked":
            revoked.add(blob)
        elif marker == "" and "-cert-" not in keytype:
            found.append((keytype, blob))
    keys: list[KnownHostKey] = []
    seen: set[bytes] = set()
    for keytype, blob in found:
        if blob in revoked or blob in seen:
            continue
        seen.add(blob)
        keys.append(KnownHostKey(keytype, fingerprint_sha256(blob)))
    return keys


def known_host_fingerprints(known_hosts_text: str, host: str, port: int | None = None) -> list[str]:
    """The ``SHA256:...`` fingerprints of ``host``'s keys in a known_hosts text."""
    return [key.fingerprint for key in known_host_keys(known_hosts_text, host, port)]


# --- the session ---------------------------------------------------------------------------


def hostkey_preference(pinned: Sequence[KnownHostKey], base: str | None = None) -> str:
    """A ``HostKey`` list that puts the pinned key types first.

    PuTTY picks the server's host key algorithm from this list *before* it looks at
    ``SSHManualHostKeys``; if it picks a type that is not pinned, it aborts with "Host key not
    in manually configured list" (verified with plink 0.78: server with ed25519 and ECDSA keys,
    only the ECDSA key pinned). Types below ``WARN`` stay where they are.
    """
    order = [name.strip() for name in (base or ",".join(PUTTY_HOSTKEY_ORDER)).split(",")]
    order = [name for name in order if name]
    for name in PUTTY_HOSTKEY_ORDER:
        if name not in order:
            order.append(name)
    warn_at = order.index("WARN")
    wanted = {key.putty_name for key in pinned}
    first = [name for name in order[:warn_at] if name in wanted]
    rest = [name for name in order if name not in first]
    return ",".join(first + rest)


@dataclass(frozen=True)
class JumpHop:
    """One hop of a ProxyJump list."""

    user: str | None
    host: str
    port: int


def parse_proxy_jump(spec: str) -> list[JumpHop]:
    """``[user@]host[:port]`` hops, comma-separated (OpenSSH's ProxyJump syntax)."""
    hops: list[JumpHop] = []
    for part in spec.split(","):
        user: str | None = None
        rest = part
        if "@" in rest:
            user, rest = rest.rsplit("@", 1)
            validate_user(user, "proxy_jump")
        port = DEFAULT_SSH_PORT
        if rest.startswith("["):
            host, _, tail = rest[1:].partition("]")
            if tail:
                port = validate_port(tail.removeprefix(":"), "proxy_jump")
        elif ":" in rest:
            host, _, port_text = rest.partition(":")
            port = validate_port(port_text, "proxy_jump")
        else:
            host = rest
        hops.append(JumpHop(user, validate_hostname(host, "proxy_jump"), port))
    return hops


def _proxy_settings(spec: str) -> tuple[Settings, list[str]]:
    hops = parse_proxy_jump(spec)
    if len(hops) > 1:
        warning = (
            f"ProxyJump {spec}: PuTTY can chain jump hosts only through saved sessions "
            "(one session per hop, each naming the previous one as its proxy); sshjup wrote "
            "no proxy settings, so this PuTTY session connects directly"
        )
        return {}, [warning]
    hop = hops[0]
    values: Settings = {
        "ProxyMethod": PROXY_METHOD_SSH_TCPIP,
        "ProxyHost": hop.host,
        "ProxyPort": hop.port,
        "ProxyUsername": hop.user or "",
    }
    warning = (
        f"ProxyJump {spec}: the PuTTY session uses {hop.host} as an SSH proxy (PuTTY 0.77 or "
        f"later). If a saved session is named {hop.host!r}, PuTTY uses it for the jump host; "
        'otherwise it connects with the key and host key cache of "Default Settings": '
        "it cannot ask for a password or confirm an unknown host key for the jump host. Load "
        f"your key into Pageant and connect to {hop.host} once with PuTTY to cache its host key"
    )
    return values, [warning]


def session_settings(
    target: Target,
    *,
    ppk_path: str | None,
    host_keys: Sequence[KnownHostKey],
    defaults: Mapping[str, SettingValue] | None = None,
) -> SessionSettings:
    """The saved session that opens ``target``'s tunnel: ``defaults`` first, ours on top.

    ``ppk_path`` is the absolute path of the ``.ppk`` key (``None``: no key is set, PuTTY uses
    Pageant or asks); ``host_keys`` are pinned in ``SSHManualHostKeys``; ``defaults`` are the
    user's "Default Settings" values (PuTTY does not fall back to them by itself).
    """
    values: Settings = {"Present": 1}
    for key, value in (defaults or {}).items():
        if key not in _DROPPED_DEFAULTS:
            values[key] = value
    warnings: list[str] = []

    values["Present"] = 1
    values["HostName"] = target.hostname
    values["PortNumber"] = target.port if target.port is not None else DEFAULT_SSH_PORT
    values["Protocol"] = "ssh"  # without it PuTTY ignores PortNumber
    if target.user is not None:
        values["UserName"] = target.user
    if ppk_path is not None:
        _check_value("PublicKeyFile", ppk_path)
        values["PublicKeyFile"] = ppk_path
        values.pop("DetachedCertificate", None)  # a certificate belongs to another key
    elif target.identity_file is not None:
        warnings.append(
            f"the key {target.identity_file} is not set in the PuTTY session (PuTTY needs a "
            ".ppk file); PuTTY will try Pageant, then ask for a password"
        )
    values["PortForwardings"] = port_forwardings(target.forwards)
    values["LocalPortAcceptAll"] = 0
    values["SshNoShell"] = 1
    if not _as_int(values.get("PingInterval")) and not _as_int(values.get("PingIntervalSecs")):
        # Like the ssh block's ServerAliveInterval 30; a keepalive of the user's own wins.
        values["PingInterval"] = 0
        values["PingIntervalSecs"] = KEEPALIVE_SECONDS
    if host_keys:
        values["SSHManualHostKeys"] = ",".join(escape_map_item(k.fingerprint) for k in host_keys)
        base = values.get("HostKey")
        values["HostKey"] = hostkey_preference(host_keys, base if isinstance(base, str) else None)
    else:
        where = (
            target.hostname
            if target.port in (None, DEFAULT_SSH_PORT)
            else (f"[{target.hostname}]:{target.port}")
        )
        warnings.append(
            f"no host key for {where} in known_hosts, so none is pinned: PuTTY asks to confirm "
            f"it on the first connection (plink -batch refuses). Connect once with "
            f"`ssh {target.alias}`, then run sshjup again to pin it"
        )
    if target.proxy_jump is not None and target.proxy_jump != "none":
        proxy, proxy_warnings = _proxy_settings(target.proxy_jump)
        values.update(proxy)
        warnings.extend(proxy_warnings)
    return SessionSettings(values, tuple(warnings))


def _as_int(value: SettingValue | None) -> int:
    """PuTTY's ``atoi``: the leading number of a stored value, 0 when there is none."""
    if isinstance(value, int):
        return value
    text = (value or "").strip()
    digits = len(text) - len(text.lstrip("+-"))
    while digits < len(text) and text[digits].isdigit():
        digits += 1
    try:
        return int(text[:digits])
    except ValueError:
        return 0


def _check_value(name: str, value: str) -> None:
    if any(ch in value for ch in "\r\n\0"):
        msg = f"PuTTY setting {name}: {value!r} contains a line break or NUL"
        raise InvalidInput(msg, hint="PuTTY cannot store that; use a path without it")


def check_settings(name: str, settings: Mapping[str, SettingValue]) -> None:
    """Refuse names and values no PuTTY store can hold (before anything is written)."""
    validate_session_name(name)
    for key, value in settings.items():
        if not key or any(ch in key for ch in "=\r\n\0") or not key.isprintable():
            msg = f"PuTTY session {name!r}: {key!r} is not a valid setting name"
            raise InvalidInput(msg, hint="setting names are printable and have no '='")
        if isinstance(value, bool) or not isinstance(value, int | str):
            msg = f"PuTTY session {name!r}: {key} must be a string or an integer, not {value!r}"
            raise InvalidInput(msg, hint="this is a bug in the caller")
        if isinstance(value, int) and not -(2**31) <= value < 2**32:
            msg = f"PuTTY session {name!r}: {key}={value} does not fit a 32-bit DWORD"
            raise InvalidInput(msg, hint="use a smaller number")
        if isinstance(value, str) and any(ch in value for ch in "\r\n\0"):
            msg = f"PuTTY session {name!r}: {key} contains a line break or NUL ({value!r})"
            raise InvalidInput(msg, hint="PuTTY cannot store that; remove it from the value")


__all__ = [
    "DEFAULT_SSH_PORT",
    "KEEPALIVE_SECONDS",
    "PROXY_METHOD_NONE",
    "PROXY_METHOD_SSH_TCPIP",
    "PUTTY_HOSTKEY_ORDER",
    "JumpHop",
    "KnownHostKey",
    "SessionSettings",
    "SettingValue",
    "Settings",
    "check_settings",
    "escape_map_item",
    "fingerprint_sha256",
    "forward_entry",
    "hostkey_preference",
    "known_host_fingerprints",
    "known_host_keys",
    "parse_proxy_jump",
    "port_forwardings",
    "session_settings",
    "unescape_map",
]
