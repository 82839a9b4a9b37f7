"""The validated model: what a managed Jupyter tunnel is, independent of where it is written.

Everything that reaches a renderer went through a validator here first. The validators are
allow-lists, stricter than OpenSSH needs on purpose: a newline (or U+2028, NEL, form feed) in
a value would become a new ssh_config directive such as ``ProxyCommand``, a space would add a
Host pattern, ``#`` would cut the value, ``%`` would be expanded as a token. Refusing them is
simpler and safer than quoting them. No I/O in this module.
"""

from __future__ import annotations

import re

from sshjup.errors import InvalidInput
from sshjup.records import dataclass, field, replace

ALIAS_PREFIX = "jup-"
MAX_PORT = 65535  # (the TCP port range is 1 to this)
_new = object.__new__  # (a record made without its __init__: Target.plain)
DEFAULT_LOCAL_PORT = 8888
DEFAULT_REMOTE_PORT = 8889
JUPYTER_KINDS = ("lab", "notebook", "server")


class _Pattern:
    """A regular expression compiled when first used: every command imports this module, and
    most use only a few of its patterns (compiling all costs ``sshjup add`` about 1 ms)."""

    __slots__ = ("_compiled", "_pattern")

    def __init__(self, pattern: str) -> None:
        self._pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def fullmatch(self, value: str) -> re.Match[str] | None:
        if self._compiled is None:
            self._compiled = re.compile(self._pattern)
        return self._compiled.fullmatch(value)


_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,58}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_RE = re.compile(rf"(?=.{{1,253}}\.?$){_LABEL}(?:\.{_LABEL})*\.?")
_USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}")
_PATH_RE = re.compile(r"[A-Za-z0-9._/~+-][A-Za-z0-9._/~+:-]{0,1023}")
# A jump host spec: [user@]host[:port], several separated by commas.
_JUMP_PART_RE = _Pattern(r"(?:(?P<user>[^@]+)@)?(?P<host>\[[^\]]+\]|[^:]+)(?::(?P<port>[^:]+))?")
# A key file: also spaces and backslashes (`C:\Users\John Smith\.ssh\id_ed25519`); written
# double-quoted with `\\` for `\`, as OpenSSH's argv_split reads it; never a quote, % or $.
_KEY_PATH_RE = _Pattern(
    r"[A-Za-z0-9._/~+:\\-](?:[A-Za-z0-9._/~+:\\ -]{0,1022}[A-Za-z0-9._/~+:\\-])?"
)
_ARG_RE = _Pattern(r"[A-Za-z0-9._/~+:=,@-]{1,1024}")
# An absolute path on the remote for a Unix socket: no ``~`` (ssh does not expand it there),
# no ``:`` (it would split the LocalForward destination), no ``%``/``$`` (ssh expands tokens and
# environment variables in socket paths).
_SOCKET_PATH_RE = _Pattern(r"/[A-Za-z0-9._+-][A-Za-z0-9._/+-]*")
# sun_path holds 108 bytes on Linux and 104 on the BSDs and macOS, the final NUL included.
MAX_REMOTE_SOCKET_PATH = 103


def _reject_control(field_name: str, value: str, hint: str | None = None) -> None:
    """Refuse every character that could end a line or hide in one."""
    if value.isascii() and value.isprintable() and " " not in value:
        return  # printable ASCII but space: none of the characters below (fast path)
    if value.splitlines() != [value] and value != "":
        msg = f"{field_name}: line breaks are not allowed (got {value!r})"
        raise InvalidInput(msg, hint="remove the line break from the value")
    import unicodedata  # noqa: PLC0415 (only for values that are not plain ASCII)

    for ch in value:
        if ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Zs"}:
            msg = f"{field_name}: the character {ch!r} is not allowed (got {value!r})"
            raise InvalidInput(msg, hint=hint or "use only letters, digits and . _ - in this value")


def validate_name(value: str, field_name: str = "name") -> str:
    """A host name as the user types it (``gpu``); the ssh alias is ``jup-`` + name."""
    if _NAME_RE.fullmatch(value):
        return value  # (only characters _reject_control lets through: the usual case, first)
    _reject_control(field_name, value)
    if not _NAME_RE.fullmatch(value):
        msg = (
            f"{field_name}: {value!r} is not a valid name: use 1-59 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
        raise InvalidInput(msg, hint="for example --name gpu")
    return value


def validate_hostname(value: str, field_name: str = "hostname") -> str:
    """An IP address or an LDH DNS name; nothing that ssh would expand or split."""
    if _DNS_RE.fullmatch(value):
        return value  # (letters, digits, '-' inside a label and '.': none of the checks below)
    _reject_control(field_name, value)
    if value.startswith("-"):
        msg = f"{field_name}: {value!r} must not start with '-'"
        raise InvalidInput(msg, hint="give a DNS name or an IP address")
    if "%" in value:
        # ipaddress accepts any IPv6 scope id ("fe80::1%$HOME"); ssh would expand the "%".
        msg = f"{field_name}: {value!r} must not contain '%' (IPv6 scope ids are not supported)"
        raise InvalidInput(msg, hint="give a DNS name or an IP address without a scope id")
    import ipaddress  # noqa: PLC0415 (only for what is no DNS name: IPv6)

    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return value
    if not _DNS_RE.fullmatch(value):
        msg = f"{field_name}: {value!r} is not a DNS name or an IP address"
        raise InvalidInput(msg, hint="use letters, digits, '-' and '.', e.g. gpu.example.org")
    return value


def validate_user(value: str, field_name: str = "user") -> str:
    if _USER_RE.fullmatch(value):
        return value  # (only characters _reject_control lets through: the usual case, first)
    _reject_control(field_name, value)
    if not _USER_RE.fullmatch(value):
        msg = (
            f"{field_name}: {value!r} is not a valid user name: use letters, digits, "
            "'.', '_', '@' or '-', not starting with '-' or '.'"
        )
        raise InvalidInput(msg, hint="check the user name on the remote machine (`id -un`)")
    return value


def validate_port(value: object, field_name: str = "port") -> int:
    """A TCP port 1-65535, from an int or a string of digits (``8888x`` is refused)."""
    if isinstance(value, bool):
        port = -1
    elif isinstance(value, int):
        port = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 5:  # noqa: PLR2004
        port = int(value)
    else:
        port = -1
    if not 1 <= port <= MAX_PORT:
        msg = f"{field_name}: {value!r} is not a port number (1-65535)"
        raise InvalidInput(msg, hint="give a whole number from 1 to 65535")
    return port


_PATH_HINT = "give the path without that character (move or link the file if need be)"


def validate_path(value: str, field_name: str = "identity_file") -> str:
    """A file path without quotes, spaces, ``%`` tokens or ``$`` expansions."""
    _reject_control(field_name, value, _PATH_HINT)
    if not _PATH_RE.fullmatch(value) or value.startswith("-"):
        msg = (
            f"{field_name}: {value!r} is not allowed: a path may use letters, digits and "
            "'. _ / ~ + - :' only (no spaces, quotes, '%' or '$')"
        )
        raise InvalidInput(msg, hint="move or link the file to a path without those characters")
    return value


def validate_key_path(value: str, field_name: str = "identity_file") -> str:
    """A key file's path: like :func:`validate_path`, and also spaces and backslashes."""
    _reject_control(field_name, value.replace(" ", ""), _PATH_HINT)
    if not _KEY_PATH_RE.fullmatch(value) or value.startswith("-"):
        msg = (
            f"{field_name}: {value!r} is not a path sshjup can write: a path may use letters, "
            "digits, spaces and '. _ / \\ ~ + - :' (no quotes, '#', '%' or '$', and no space "
            "at either end)"
        )
        hint = "give the key's path without those characters, or link the key to such a path"
        raise InvalidInput(msg, hint=hint)
    return value


def validate_socket_path(value: str, field_name: str = "remote socket") -> str:
    """An absolute remote path for a Unix socket that ``LocalForward`` can name verbatim."""
    _reject_control(field_name, value)
    parts = value.split("/")
    if (
        not _SOCKET_PATH_RE.fullmatch(value)
        or value.endswith("/")
        or "//" in value
        or any(p in {".", ".."} for p in parts)
    ):
        msg = (
            f"{field_name}: {value!r} is not allowed: give an absolute path (starting with '/') "
            "of letters, digits and '. _ / + -' only, without '.' or '..' parts"
        )
        raise InvalidInput(msg, hint="for example --remote-socket ~/.jupyter-sock/jupyter.sock")
    if len(value.encode()) > MAX_REMOTE_SOCKET_PATH:
        msg = (
            f"{field_name}: {value!r} is {len(value.encode())} bytes long; a Unix socket path "
            f"holds at most {MAX_REMOTE_SOCKET_PATH}"
        )
        raise InvalidInput(msg, hint="give a shorter path with --remote-socket PATH")
    return value


def validate_proxy_jump(value: str, field_name: str = "proxy_jump") -> str:
    """``[user@]host[:port]`` hops separated by commas (OpenSSH's ProxyJump syntax)."""
    _reject_control(field_name, value)
    if value.lower() == "none":
        return "none"
    for part in value.split(","):
        m = _JUMP_PART_RE.fullmatch(part)
        if m is None:
            msg = f"{field_name}: {part!r} is not [user@]host[:port]"
            raise InvalidInput(msg, hint="for example --proxy-jump alice@login.example.org")
        if m.group("user") is not None:
            validate_user(m.group("user"), field_name)
        host = m.group("host")
        validate_hostname(host[1:-1] if host.startswith("[") else host, field_name)
        if m.group("port") is not None:
            validate_port(m.group("port"), field_name)
    return value


def validate_command_arg(value: str, field_name: str) -> str:
    """One word for a remote command line (a jupyter path or option); no shell syntax."""
    _reject_control(field_name, value)
    if not _ARG_RE.fullmatch(value):
        msg = (
            f"{field_name}: {value!r} is not allowed: use letters, digits and "
            "'. _ / ~ + : = , @ -' only (no spaces, quotes or shell characters)"
        )
        raise InvalidInput(msg, hint="put a longer command in a script on the remote and name it")
    return value


# ``--ssh-option KEY=VALUE``: client options a tunnel block may carry, in OpenSSH's spelling.
# Left out on purpose: anything that runs a command (ProxyCommand, LocalCommand,
# KnownHostsCommand, Match exec), what the tunnel itself needs to work (forwards, SessionType,
# ForkAfterAuthentication, ExitOnForwardFailure, Control*, RemoteCommand, ClearAllForwardings),
# and what has its own option (HostName, User, Port, IdentityFile, ProxyJump).
SSH_OPTION_KEYWORDS = (
    "AddKeysToAgent",
    "AddressFamily",
    "BatchMode",
    "CASignatureAlgorithms",
    "CertificateFile",
    "CheckHostIP",
    "Ciphers",
    "Compression",
    "ConnectTimeout",
    "ConnectionAttempts",
    "ForwardAgent",
    "GSSAPIAuthentication",
    "GSSAPIDelegateCredentials",
    "HashKnownHosts",
    "HostKeyAlgorithms",
    "HostKeyAlias",
    "HostbasedAuthentication",
    "IPQoS",
    "IdentitiesOnly",
    "KbdInteractiveAuthentication",
    "KexAlgorithms",
    "LogLevel",
    "MACs",
    "NumberOfPasswordPrompts",
    "PasswordAuthentication",
    "PreferredAuthentications",
    "PubkeyAcceptedAlgorithms",
    "PubkeyAuthentication",
    "RekeyLimit",
    "ServerAliveCountMax",
    "ServerAliveInterval",
    "StrictHostKeyChecking",
    "TCPKeepAlive",
    "UpdateHostKeys",
    "UserKnownHostsFile",
    "VerifyHostKeyDNS",
)
_SSH_OPTION_BY_LOWER = {k.lower(): k for k in SSH_OPTION_KEYWORDS}
_SSH_OPTION_PATHS = {"CertificateFile", "UserKnownHostsFile"}


def validate_ssh_option(key: str, value: str, field_name: str = "--ssh-option") -> tuple[str, str]:
    """One ``KEY=VALUE`` client option: a keyword from the allow-list, a value of one safe word.

    Returns the keyword in OpenSSH's spelling. Values are checked like every other value: no
    spaces, quotes, ``%`` tokens, ``$`` or shell characters (a path like a path).
    """
    _reject_control(field_name, key)
    keyword = _SSH_OPTION_BY_LOWER.get(key.lower())
    if keyword is None:
        msg = f"{field_name}: {key!r} is not an ssh option sshjup writes"
        hint = (
            "use one of: " + ", ".join(SSH_OPTION_KEYWORDS) + " (HostName, User, Port, "
            "IdentityFile and ProxyJump have their own options)"
        )
        raise InvalidInput(msg, hint=hint)
    if keyword in _SSH_OPTION_PATHS:
        validate_path(value, f"{field_name} {keyword}")
    else:
        validate_command_arg(value, f"{field_name} {keyword}")
    return keyword, value


def parse_ssh_option(spec: str) -> tuple[str, str]:
    """``KEY=VALUE`` (as typed after ``--ssh-option``), validated."""
    key, sep, value = spec.partition("=")
    if not sep or not key or not value:
        msg = f"--ssh-option: {spec!r} is not KEY=VALUE"
        raise InvalidInput(msg, hint="for example --ssh-option ConnectTimeout=10")
    return validate_ssh_option(key.strip(), value.strip())


@dataclass(frozen=True)
class Forward:
    """One ``LocalForward bind:local_port remote_host:remote_port``.

    With ``remote_socket`` (an absolute path on the remote) the destination is that Unix
    socket instead: ``LocalForward bind:local_port /path/jupyter.sock``; ``remote_port`` is
    then only kept (it names the remote log file), not forwarded to.
    """

    local_port: int
    remote_port: int
    remote_host: str = "localhost"
    bind: str = "127.0.0.1"
    remote_socket: str | None = None

    def __post_init__(self) -> None:
        validate_port(self.local_port, "local port")
        validate_port(self.remote_port, "remote port")
        if self.remote_socket is not None:
            validate_socket_path(self.remote_socket)
        if self.remote_host != "localhost":  # (the defaults are valid: no need to check them)
            validate_hostname(self.remote_host, "forward host")
        if self.bind != "127.0.0.1":
            validate_hostname(self.bind, "forward bind address")

    @classmethod
    def parse(cls, text: str) -> Forward:
        """``LOCAL:REMOTE`` or ``LOCAL:HOST:REMOTE`` (the ``-L`` shape without a bind address)."""
        _reject_control("--forward", text)
        parts = text.split(":")
        if len(parts) == 2:  # noqa: PLR2004 (LOCAL:REMOTE)
            return cls(validate_port(parts[0], "--forward"), validate_port(parts[1], "--forward"))
        if len(parts) == 3:  # noqa: PLR2004 (LOCAL:HOST:REMOTE)
            return cls(
                validate_port(parts[0], "--forward"),
                validate_port(parts[2], "--forward"),
                validate_hostname(parts[1], "--forward"),
            )
        msg = f"--forward: {text!r} is not LOCAL:REMOTE or LOCAL:HOST:REMOTE"
        raise InvalidInput(msg, hint="for example --forward 6006:6006 for TensorBoard")

    @property
    def destination(self) -> str:
        """What the forward connects to on the remote side: ``HOST:PORT`` or a socket path."""
        if self.remote_socket is not None:
            return self.remote_socket
        return f"{self.remote_host}:{self.remote_port}"

    def spec(self) -> str:
        """The short text form used in the inventory and on the command line."""
        if self.remote_host == "localhost":
            return f"{self.local_port}:{self.remote_port}"
        return f"{self.local_port}:{self.remote_host}:{self.remote_port}"


@dataclass(frozen=True)
class JupyterSpec:
    """How Jupyter is started on the remote (issue: remote Jupyter)."""

    kind: str = "lab"
    command: str | None = None
    args: tuple[str, ...] = ()
    root_dir: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in JUPYTER_KINDS:
            msg = f"jupyter kind: {self.kind!r} is not one of {', '.join(JUPYTER_KINDS)}"
            raise InvalidInput(msg, hint="use lab, notebook or server")
        if self.command is not None:
            validate_command_arg(self.command, "jupyter command")
        for arg in self.args:
            validate_command_arg(arg, "Jupyter argument")
        if self.root_dir is not None:
            validate_path(self.root_dir, "root dir")


@dataclass(frozen=True)
class Target:
    """One managed host: everything needed to render its ssh Host block and PuTTY session.

    ``forwards[0]`` is the Jupyter forward (local_port -> remote_port); more forwards follow.
    ``port``/``user``/``identity_file``/``proxy_jump`` are ``None`` when not set (ssh's own
    defaults and the user's other config apply).
    """

    name: str
    hostname: str
    forwards: tuple[Forward, ...] = (Forward(DEFAULT_LOCAL_PORT, DEFAULT_REMOTE_PORT),)
    user: str | None = None
    port: int | None = None
    identity_file: str | None = None
    proxy_jump: str | None = None
    putty: bool | None = None
    jupyter: JupyterSpec = field(default_factory=JupyterSpec)
    ssh_options: tuple[tuple[str, str], ...] = ()  # (keyword, value), from --ssh-option
    # A plain `Host NAME` beside `Host jup-NAME` (--companion): the same host without the
    # tunnel, for a shell, commands, scp, sftp and editors.
    companion: bool = False

    def __post_init__(self) -> None:
        validate_name(self.name)
        keywords = set()
        for key, value in self.ssh_options:
            keyword, _ = validate_ssh_option(key, value)
            if keyword != key or keyword in keywords:
                msg = f"{self.name}: ssh option {key} is given twice or not in OpenSSH's spelling"
                raise InvalidInput(msg, hint=f"give {keyword} once")
            keywords.add(keyword)
        validate_hostname(self.hostname)
        if self.user is not None:
            validate_user(self.user)
        if self.port is not None:
            validate_port(self.port)
        if self.identity_file is not None:
            validate_key_path(self.identity_file)
        if self.proxy_jump is not None:
            validate_proxy_jump(self.proxy_jump)
        if not self.forwards:
            msg = f"{self.name}: a host needs at least the Jupyter forward"
            raise InvalidInput(msg, hint="give --local-port and --remote-port")
        if self.forwards[0].remote_host != "localhost":
            msg = f"{self.name}: the Jupyter forward goes to localhost on the remote"
            raise InvalidInput(msg, hint="give other destinations as extra --forward L:HOST:R")
        seen: set[int] = set()
        for fwd in self.forwards:
            if fwd.bind != "127.0.0.1":
                msg = f"{self.name}: forwards listen on 127.0.0.1 only (got {fwd.bind})"
                raise InvalidInput(msg, hint="the tunnel is for this machine alone")
            if fwd.local_port in seen:
                msg = f"{self.name}: local port {fwd.local_port} is forwarded twice"
                raise InvalidInput(msg, hint="give each --forward its own local port")
            seen.add(fwd.local_port)
        if self.companion and self.name.startswith(ALIAS_PREFIX):
            msg = f"{self.name}: a companion alias cannot start with {ALIAS_PREFIX!r}"
            raise InvalidInput(msg, hint="give the host a name without it (--name)")
        for fwd in self.forwards[1:]:
            if fwd.remote_socket is not None:
                msg = f"{self.name}: only the Jupyter forward can go to a Unix socket"
                raise InvalidInput(msg, hint="use --remote-socket for the Jupyter forward")

    @classmethod
    def plain(
        cls,
        name: str,
        hostname: str,
        local_port: int,
        remote_port: int,
        *,
        remote_socket: str | None = None,
        user: str | None = None,
        port: int | None = None,
        identity_file: str | None = None,
        proxy_jump: str | None = None,
        putty: bool | None = None,
        companion: bool = False,
        jupyter: JupyterSpec | None = None,
    ) -> Target:
        """``Target(name=name, ..., forwards=(Forward(local_port, remote_port,
        remote_socket=remote_socket),), ...)``: the one-forward Target the inventory reader
        makes for each host of the usual form.

        Values that the first checks of the validators take (each pattern, a port in range)
        make the records at once, without their ``__init__`` and ``__post_init__`` (about two
        thirds of reading a 1,000-host inventory); anything else goes through them, so every
        error is theirs, in their order. tests/test_hosts_fast_paths.py compares both."""
        checked = (
            type(local_port) is int
            and type(remote_port) is int
            and 0 < local_port <= MAX_PORT
            and 0 < remote_port <= MAX_PORT
            and _NAME_RE.fullmatch(name)
            and _DNS_RE.fullmatch(hostname)
            and (user is None or _USER_RE.fullmatch(user))
            and (port is None or (type(port) is int and 0 < port <= MAX_PORT))
            and not (companion and name.startswith(ALIAS_PREFIX))
        )
        if checked:
            # (__post_init__'s order: the forward's socket first, then the target's own values)
            if remote_socket is not None:
                validate_socket_path(remote_socket)
            if identity_file is not None:
                validate_key_path(identity_file)
            if proxy_jump is not None:
                validate_proxy_jump(proxy_jump)
            forward = _new(Forward)
            forward.__dict__.update(
                local_port=local_port,
                remote_port=remote_port,
                remote_host="localhost",
                bind="127.0.0.1",
                remote_socket=remote_socket,
            )
        else:
            forward = Forward(local_port, remote_port, remote_socket=remote_socket)
        values = {  # (in the order of the fields)
            "name": name,
            "hostname": hostname,
            "forwards": (forward,),
            "user": user,
            "port": port,
            "identity_file": identity_file,
            "proxy_jump": proxy_jump,
            "putty": putty,
            "jupyter": JupyterSpec() if jupyter is None else jupyter,
            "ssh_options": (),
            "companion": companion,
        }
        if not checked:
            return cls(**values)  # type: ignore[arg-type]  # (each value of its field's type)
        target = _new(cls)
        target.__dict__.update(values)
        return target

    @property
    def alias(self) -> str:
        return ALIAS_PREFIX + self.name

    @property
    def companion_alias(self) -> str | None:
        """``NAME`` when the host has a plain companion alias (``--companion``), else None."""
        return self.name if self.companion else None

    @property
    def local_port(self) -> int:
        return self.forwards[0].local_port

    @property
    def remote_port(self) -> int:
        return self.forwards[0].remote_port

    @property
    def remote_socket(self) -> str | None:
        """The remote Unix socket Jupyter listens on (``--remote-socket``), or ``None`` (TCP)."""
        return self.forwards[0].remote_socket

    def with_changes(self, **changes: object) -> Target:
        return replace(self, **changes)  # type: ignore[arg-type]  # validated in __post_init__


def name_from_alias(name_or_alias: str) -> str:
    """Accept both ``gpu`` and ``jup-gpu`` where a NAME is expected."""
    if name_or_alias.startswith(ALIAS_PREFIX) and len(name_or_alias) > len(ALIAS_PREFIX):
        return name_or_alias[len(ALIAS_PREFIX) :]
    return name_or_alias


def _maybe_ip_address(value: str) -> bool:
    """``ipaddress.ip_address(value)`` accepts it; a name with a letter and no ``:`` is no
    address, and is answered without importing ipaddress."""
    if ":" not in value and not all(c.isdigit() or c == "." for c in value):
        return False
    import ipaddress  # noqa: PLC0415

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def derive_name(hostname: str) -> str:
    """A default NAME from a host: the first DNS label, or the IP address with dashes."""
    if _maybe_ip_address(hostname):
        base = hostname.replace(".", "-").replace(":", "-").strip("-")
    else:
        base = hostname.split(".", maxsplit=1)[0]
    base = re.sub(r"[^a-z0-9._-]", "-", base.lower()).strip("-._") or "host"
    return base[:59]


@dataclass(frozen=True)
class HostArg:
    """``[user@]hostname[:port]`` as typed on the command line (IPv6 in brackets)."""

    hostname: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostArg:
        _reject_control("HOST", text)
        user: str | None = None
        rest = text
        if "@" in rest:
            user, rest = rest.rsplit("@", 1)
            validate_user(user, "HOST (user part)")
        port: int | None = None
        if rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                msg = f"HOST: {text!r} has '[' without ']'"
                raise InvalidInput(msg, hint="write an IPv6 address as [::1] or [::1]:2222")
            host, tail = rest[1:end], rest[end + 1 :]
            if tail:
                if not tail.startswith(":"):
                    msg = f"HOST: unexpected {tail!r} after the address in {text!r}"
                    raise InvalidInput(msg, hint="write [address]:port")
                port = validate_port(tail[1:], "HOST (port part)")
        elif rest.count(":") == 1:
            host, port_text = rest.split(":")
            port = validate_port(port_text, "HOST (port part)")
        else:
            host = rest
        return cls(validate_hostname(host, "HOST"), user, port)


__all__ = [
    "SSH_OPTION_KEYWORDS",
    "parse_ssh_option",
    "validate_ssh_option",
    "ALIAS_PREFIX",
    "DEFAULT_LOCAL_PORT",
    "DEFAULT_REMOTE_PORT",
    "JUPYTER_KINDS",
    "MAX_REMOTE_SOCKET_PATH",
    "Forward",
    "HostArg",
    "JupyterSpec",
    "Target",
    "derive_name",
    "name_from_alias",
    "validate_command_arg",
    "validate_hostname",
    "validate_name",
    "validate_key_path",
    "validate_path",
    "validate_port",
    "validate_proxy_jump",
    "validate_socket_path",
    "validate_user",
]
