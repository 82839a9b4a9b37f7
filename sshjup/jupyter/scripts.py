"""Remote Jupyter, the pure part: scripts, argv, parsing, URLs, the config merge, password hashes.

No I/O here (sshjup/jupyter/remote.py runs them over ssh). The rules (design.md, "Remote Jupyter
and secrets"):

* Jupyter listens on ``127.0.0.1`` of the remote only, on the host's remote port, with port
  retries off (on a shared login node it would otherwise move to the next port, and the tunnel
  would reach someone else's server), and without opening a browser.
* Every script runs as ``sh -s`` on the remote and arrives on ssh's standard input. A secret
  (the token, a password hash) is only ever a line of that script: the token is a shell
  variable assignment exported as ``JUPYTER_TOKEN`` (read by jupyter_server at start), the
  hash is part of a here-document. Neither ever becomes a word of a command line, locally or
  remotely, so neither shows in any process's argv.
* Port and token are read from ``jupyter server list --json`` (one JSON object per line), never
  by scraping logs.
* Remote files sshjup writes are created with ``umask 077``: the log
  (``~/.local/state/sshjup/jupyter-PORT.log``) and the server config are 0600.
* With a remote socket (``sshjup add --remote-socket``) Jupyter listens on no TCP port at
  all: ``ServerApp.sock`` names a Unix socket (mode 0600) in a directory only its owner can
  open (0700, checked before every start), which the Host block forwards to.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Literal

from sshjup.errors import ConfigParseError, InvalidInput, ToolMissing
from sshjup.jupyter.urls import LOOPBACK, local_url
from sshjup.models import (
    JupyterSpec,
    validate_name,
    validate_path,
    validate_port,
    validate_socket_path,
)
from sshjup.records import dataclass, field

MARK = "@@sshjup"
CONFIG_FILE = "jupyter_server_config.json"
# Each host's own Jupyter settings on the remote (``jupyter setup``), never the user's global
# config: two hosts on one remote account each have their port (and password) there. The
# directory is under Jupyter's config dir (``jupyter --config-dir``), which Jupyter itself only
# reads at its top level.
HOST_CONFIG_SUBDIR = "sshjup"
LOG_DIR = "${XDG_STATE_HOME:-$HOME/.local/state}/sshjup"
LOG_DIR_DISPLAY = "~/.local/state/sshjup"
TOKEN_BYTES = 24  # what jupyter_server generates: hexlify(os.urandom(24))
# What `jupyter server password` uses (jupyter_server.auth.security.passwd).
ARGON2_PARAMETERS: Mapping[str, int] = {"memory_cost": 10240, "time_cost": 10, "parallelism": 8}
SALT_HEX_CHARS = 32
SOCKET_MODE = "0600"
SOCKET_DIR = "${XDG_DATA_HOME:-$HOME/.local/share}/sshjup/run"
SOCKET_DIR_DISPLAY = "~/.local/share/sshjup/run"
# jupyter_server refuses --sock together with any port but its default (8888) and then sets the
# port to 0; passing the default overrides a port that a jupyter_server_config.json may set.
_JUPYTER_DEFAULT_PORT = 8888

PasswordAlgorithm = Literal["auto", "argon2", "sha512"]

# Options sshjup sets itself: never as extra args. Compared after normalising the spelling
# (leading dashes, ``-`` in names, case), so ``-ServerApp.port=1`` is refused like ``--port``.
_RESERVED_OPTIONS = frozenset(
    {
        "ip",
        "port",
        "port_retries",
        "no_browser",
        "browser",
        "serverapp.ip",
        "serverapp.port",
        "serverapp.port_retries",
        "serverapp.sock",
        "serverapp.sock_mode",
        "sock",
        "sock_mode",
        "serverapp.open_browser",
        "notebookapp.ip",
        "notebookapp.port",
        "notebookapp.port_retries",
        "notebookapp.open_browser",
    }
)
# Traits (of any class: ServerApp, NotebookApp, IdentityProvider, PasswordIdentityProvider...)
# and aliases that carry a secret: a command line is readable by every account (``ps``).
_SECRET_TRAITS = frozenset({"token", "password", "hashed_password"})


# -- tokens and passwords ---------------------------------------------------------------------


def new_token() -> str:
    """A fresh Jupyter token, the way jupyter_server makes one (48 hex digits)."""
    import secrets  # noqa: PLC0415 (keeps `sshjup url` light)

    return secrets.token_hex(TOKEN_BYTES)


def argon2_available() -> bool:
    """True when argon2-cffi can be imported here (then passwords are hashed like Jupyter)."""
    try:
        importlib.import_module("argon2")
    except ImportError:
        return False
    return True


def hash_password(password: str, *, algorithm: PasswordAlgorithm = "auto") -> str:
    """Hash a Jupyter password locally, in a form ``jupyter_server.auth.passwd_check`` accepts.

    * ``argon2`` (chosen by ``auto`` when argon2-cffi is importable): exactly what
      ``jupyter server password`` writes, ``argon2:$argon2id$v=19$m=10240,t=10,p=8$...``.
    * ``sha512`` (``auto`` without argon2-cffi; standard library only): Jupyter's salted
      ``algorithm:salt:hexdigest`` form, which ``passwd_check`` still accepts for any hashlib
      algorithm. sshjup uses SHA-512 and a 128-bit random salt instead of Jupyter's legacy
      SHA-1 and 48 bits. It is a single fast hash, so it resists offline guessing far less
      than argon2: install argon2-cffi beside sshjup to get argon2.

    The password itself never leaves this machine; only the hash goes to the remote.
    """
    import hashlib  # noqa: PLC0415 (keeps `sshjup url` light)
    import secrets  # noqa: PLC0415 (keeps `sshjup url` light)

    if not password:
        msg = "the password is empty"
        raise InvalidInput(msg, hint="type a non-empty password")
    if algorithm in ("auto", "argon2"):
        try:
            argon2 = importlib.import_module("argon2")
        except ImportError as err:
            if algorithm == "argon2":
                msg = "argon2 hashing needs the argon2-cffi package, which is not installed"
                raise ToolMissing(msg, hint="pip install argon2-cffi (beside sshjup)") from err
        else:
            hasher = argon2.PasswordHasher(**ARGON2_PARAMETERS)
            return "argon2:" + str(hasher.hash(password))
    salt = secrets.token_hex(SALT_HEX_CHARS // 2)
    digest = hashlib.sha512(password.encode("utf-8") + salt.encode("ascii")).hexdigest()
    return f"sha512:{salt}:{digest}"


def check_password(hashed: str, password: str) -> bool:
    """Jupyter's ``passwd_check``, for tests and ``--debug`` checks (argon2 needs argon2-cffi)."""
    import hashlib  # noqa: PLC0415 (keeps `sshjup url` light)
    import hmac  # noqa: PLC0415 (keeps `sshjup url` light)

    if hashed.startswith("argon2:"):
        argon2 = importlib.import_module("argon2")
        try:
            return bool(argon2.PasswordHasher().verify(hashed[len("argon2:") :], password))
        except argon2.exceptions.VerificationError:
            return False
    try:
        algorithm, salt, digest = hashed.split(":", 2)
        h = hashlib.new(algorithm)
    except ValueError:
        return False
    if not digest:
        return False
    h.update(password.encode("utf-8") + salt.encode("ascii"))
    return hmac.compare_digest(h.hexdigest(), digest)


# -- the command line of the remote Jupyter ---------------------------------------------------


def jupyter_program(spec: JupyterSpec) -> str:
    """The remote ``jupyter`` launcher: ``spec.command`` (a venv or conda path) or ``jupyter``."""
    return spec.command or "jupyter"


def _option_name(arg: str) -> str | None:
    """The option an argument names, the way traitlets reads it (``None``: not an option).

    ``--X.y=v``, ``-X.y=v``, ``--X.y v`` and ``--x-y`` all name ``x.y`` / ``x_y``.
    """
    if not arg.startswith("-") or arg in ("-", "--"):
        return None
    name = arg.lstrip("-").split("=", 1)[0].strip()
    return name.replace("-", "_").lower()


def check_extra_args(args: Sequence[str], *, name: str | None = None) -> tuple[str, ...]:
    """Refuse extra arguments that would override what sshjup sets, or carry a secret.

    A refused argument is named without its value (which may be the secret itself). ``name``
    (the host's NAME) goes into the commands the hints suggest.
    """
    host = f" {name}" if name else ""
    for arg in args:
        option = _option_name(arg)
        if option is None:
            continue
        shown = arg.split("=", 1)[0]
        trait = option.rsplit(".", 1)[-1]
        if trait in _SECRET_TRAITS:
            msg = f"Jupyter argument {shown!r} would put a secret on a command line"
            hint = (
                "every account on the remote can read a command line (ps); tokens go through "
                f"`sshjup token set{host}` (or are made by `sshjup jupyter start{host}`), "
                f"passwords through `sshjup jupyter setup{host} --password`"
            )
            raise InvalidInput(msg, hint=hint)
        if option in _RESERVED_OPTIONS:
            msg = f"Jupyter argument {shown!r} is set by sshjup and cannot be given"
            hint = (
                "sshjup always binds 127.0.0.1 on the host's remote port with port retries off; "
                f"change the port with `sshjup edit{host} --remote-port PORT`"
            )
            raise InvalidInput(msg, hint=hint)
    return tuple(args)


def start_argv(spec: JupyterSpec, port: int, sock: str | None = None) -> list[str]:
    """The remote command that starts Jupyter (as words, before shell quoting).

    ``jupyter lab|notebook|server --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=N
    --ServerApp.port_retries=0 [--ServerApp.root_dir=DIR] [extra args...]``. No secret: the
    token reaches Jupyter through ``JUPYTER_TOKEN`` in its environment. With ``sock`` (an
    absolute remote path) ``--ServerApp.sock=PATH --ServerApp.sock_mode=0600`` replace the
    address: no TCP port is opened.
    """
    validate_port(port, "remote port")
    argv = [jupyter_program(spec), spec.kind, "--no-browser"]
    if sock is not None:
        argv += [
            f"--ServerApp.sock={validate_socket_path(sock)}",
            f"--ServerApp.sock_mode={SOCKET_MODE}",
            f"--ServerApp.port={_JUPYTER_DEFAULT_PORT}",
        ]
    else:
        argv += [f"--ServerApp.ip={LOOPBACK}", f"--ServerApp.port={port}"]
    argv.append("--ServerApp.port_retries=0")
    if spec.root_dir:
        argv.append(f"--ServerApp.root_dir={spec.root_dir}")
    argv.extend(check_extra_args(spec.args))
    return argv


def shell_word(word: str) -> str:
    """Quote one word for ``sh``; a leading ``~`` or ``~/`` (also after ``=``) means ``$HOME``."""
    prefix, sep, rest = word.partition("=")
    if sep and prefix.startswith("--") and (rest == "~" or rest.startswith("~/")):
        return shlex.quote(prefix + "=") + shell_word(rest)
    if word == "~":
        return '"$HOME"'
    if word.startswith("~/"):
        return '"$HOME"' + shlex.quote(word[1:])
    return shlex.quote(word)


# -- the remote Unix socket (--remote-socket) -------------------------------------------------

# A directory is private when it is a directory of the user's own with no group or other
# permission bits (an ACL, shown as a trailing "+", does not count as private).
_PRIVATE_DIR_FUNCTION = (
    "private_dir() {",
    '  [ -d "$1" ] && [ ! -L "$1" ] || return 1',
    '  set -- $(ls -ldn "$1" 2>/dev/null)',
    '  case "${1:-}" in d???------|d???------.) ;; *) return 1 ;; esac',
    '  [ "${3:-}" = "$(id -u)" ]',
    "}",
)


def socket_request_expr(requested: str | None, name: str) -> str:
    """The remote socket path as a shell expression, from what ``--remote-socket`` was given.

    ``None`` or ``""``: ``$XDG_DATA_HOME/sshjup/run/jupyter-NAME.sock`` (``~/.local/share`` by
    default); ``~/P`` or a relative ``P``: under the remote ``$HOME``; ``/P``: as given.
    """
    if not requested:
        return f'"{SOCKET_DIR}"/' + shlex.quote(f"jupyter-{name}.sock")
    validate_path(requested, "--remote-socket")
    if requested.startswith("/"):
        return shlex.quote(validate_socket_path(requested, "--remote-socket"))
    if requested == "~" or requested.endswith("/"):
        msg = f"--remote-socket: {requested!r} names a directory, not a socket file"
        raise InvalidInput(msg, hint="for example --remote-socket '~/.jupyter-sock/jupyter.sock'")
    rest = requested[2:] if requested.startswith("~/") else requested
    return '"$HOME"/' + shlex.quote(rest)


def resolve_socket_script(requested: str | None, name: str, *, create: bool) -> str:
    """Turn the request into one absolute path on the remote; make its directory (0700).

    Prints ``@@sshjup socket PATH`` (the directory's symlinks resolved), or ``@@sshjup error
    socket-dir PERMS`` when the directory exists but others can open it. ``create=False``
    (a dry run) makes nothing and prints ``socket-dir-missing`` if it does not exist yet.
    """
    lines = [
        "set -u",
        "umask 077",
        *_PRIVATE_DIR_FUNCTION,
        f"path={socket_request_expr(requested, name)}",
        'dir="${path%/*}"',
        'base="${path##*/}"',
        'if [ ! -d "$dir" ]; then',
    ]
    if create:
        lines += [
            f'  mkdir -p "$dir" && chmod 700 "$dir" || {{ echo "{MARK} error mkdir"; exit 5; }}',
            "fi",
        ]
    else:
        lines += [f'  echo "{MARK} socket-dir-missing"; echo "{MARK} socket $path"; exit 0', "fi"]
    lines += [
        'real=$(cd "$dir" && pwd -P) || exit 5',
        f'echo "{MARK} dir $real"',
        'if ! private_dir "$real"; then',
        f'  echo "{MARK} error socket-dir $(ls -ldn "$real" | cut -d" " -f1)"; exit 6',
        "fi",
        f'echo "{MARK} socket $real/$base"',
    ]
    return "\n".join(lines) + "\n"


def _socket_check_lines(sock: str) -> list[str]:
    """Before a start: the socket's directory exists (made 0700) and is private."""
    return [
        *_PRIVATE_DIR_FUNCTION,
        f"sock={shlex.quote(validate_socket_path(sock))}",
        'sdir="${sock%/*}"',
        'if [ ! -d "$sdir" ]; then mkdir -p "$sdir" && chmod 700 "$sdir" || '
        f'{{ echo "{MARK} error mkdir"; exit 5; }}; fi',
        f'echo "{MARK} dir $sdir"',
        'if ! private_dir "$sdir"; then',
        f'  echo "{MARK} error socket-dir $(ls -ldn "$sdir" | cut -d" " -f1)"; exit 6',
        "fi",
        'if [ -e "$sock" ] && [ ! -S "$sock" ]; then',
        f'  echo "{MARK} error not-a-socket"; exit 6',
        "fi",
    ]


def log_path_expr(port: int) -> str:
    """The remote log file as a shell expression (double-quoted where it expands)."""
    return f'"{LOG_DIR}/jupyter-{validate_port(port, "remote port")}.log"'


def _prologue(spec: JupyterSpec, *, need_jupyter: bool = True) -> list[str]:
    lines = [
        "set -u",
        "umask 077",
        'if [ -d "$HOME/.local/bin" ]; then PATH="$HOME/.local/bin:$PATH"; export PATH; fi',
        f"JUPYTER={shell_word(jupyter_program(spec))}",
    ]
    if need_jupyter:
        lines += [
            'if ! command -v "$JUPYTER" >/dev/null 2>&1; then',
            f'  echo "{MARK} missing-jupyter $JUPYTER"',
            "  exit 3",
            "fi",
        ]
    return lines


def host_config_dir(alias: str) -> str:
    """``sshjup/ALIAS``: this host's directory under Jupyter's config dir on the remote.

    Its ``jupyter_server_config.json`` is what ``jupyter setup`` writes; ``start`` puts the
    directory first on ``JUPYTER_CONFIG_PATH``, so its settings win over the user's own config
    (which is still read) for this host's server only.
    """
    return f"{HOST_CONFIG_SUBDIR}/{validate_name(alias, 'alias')}"


def _host_dir_lines(host_dir: str) -> list[str]:
    """``cdir``: the host's directory, as an absolute path (Jupyter's config dir + host_dir)."""
    return [f'cdir="$("$JUPYTER" --config-dir)"/{shell_word(host_dir)} || exit 5']


def host_config_path_lines(host_dir: str) -> list[str]:
    """Shell lines that put the host's directory first on ``JUPYTER_CONFIG_PATH`` (exported)."""
    return [
        *_host_dir_lines(host_dir),
        'JUPYTER_CONFIG_PATH="$cdir${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"',
        "export JUPYTER_CONFIG_PATH",
    ]


def probe_script(
    spec: JupyterSpec,
    *,
    server_version: bool = True,
    read_config: bool = False,
    list_servers: bool = False,
    config_dir: str | None = None,
) -> str:
    """Check that Jupyter (and the kind's app) runs; optionally print its config and servers.

    Each ``jupyter`` call is a Python start on the remote (about a second on a busy machine):
    ``server_version=False`` leaves out ``jupyter server --version`` when the server list,
    which needs jupyter_server as well, is asked for anyway. ``config_dir``: the host's
    :func:`host_config_dir`, whose ``jupyter_server_config.json`` ``read_config`` prints
    (default: the user's own, in ``jupyter --config-dir``).
    """
    lines = _prologue(spec)
    lines.append(f'echo "{MARK} jupyter $(command -v "$JUPYTER")"')
    apps = (["server"] if server_version else []) + ([spec.kind] if spec.kind != "server" else [])
    for app in apps:
        lines += [
            f'if out=$("$JUPYTER" {app} --version 2>&1); then',
            f'  echo "{MARK} version {app} $out"',
            "else",
            *_error_block(f"error-{app}"),
            "fi",
        ]
    if read_config:
        lines += [
            *(
                _host_dir_lines(config_dir)
                if config_dir is not None
                else ['cdir=$("$JUPYTER" --config-dir) || exit 5']
            ),
            f'echo "{MARK} config-dir $cdir"',
            f'f="$cdir/{CONFIG_FILE}"',
            'if [ -f "$f" ]; then',
            f'  echo "{MARK} begin config"; cat "$f"; echo; echo "{MARK} end config"',
            "else",
            f'  echo "{MARK} config-absent"',
            "fi",
            f'if [ -f "$cdir/jupyter_server_config.py" ]; then echo "{MARK} config-py"; fi',
        ]
    if list_servers:
        lines += _list_lines()
    return "\n".join(lines) + "\n"


def _error_block(name: str) -> list[str]:
    return [
        f'  echo "{MARK} begin {name}"; printf "%s\\n" "$out"; echo "{MARK} end {name}"',
        "  exit 4",
    ]


def _list_lines(*, define_alive: bool = True) -> list[str]:
    # stderr is kept (a failure says why); parse_server_list skips what is not JSON.
    # `jupyter server list` trusts `kill -0`, so the runtime file of a killed server whose
    # zombie nobody reaped (pid 1 in a container often does not) still lists it: the "gone"
    # block names the listed pids that are dead or zombies, and live_servers drops them.
    return [
        *(_ALIVE_FUNCTION if define_alive else ()),
        'if out=$("$JUPYTER" server list --json 2>&1); then',
        f'  echo "{MARK} begin list"; printf "%s\\n" "$out"; echo "{MARK} end list"',
        f'  echo "{MARK} begin gone"',
        "  pids=$(printf '%s\\n' \"$out\" | sed -n 's/.*\"pid\": *\\([0-9][0-9]*\\).*/\\1/p')",
        "  for p in $pids; do",
        '    alive "$p" || echo "$p"',
        "  done",
        f'  echo "{MARK} end gone"',
        "else",
        *_error_block("error-server"),
        "fi",
    ]


def list_script(spec: JupyterSpec) -> str:
    """Print ``jupyter server list --json`` between markers."""
    return "\n".join([*_prologue(spec), *_list_lines()]) + "\n"


def start_script(
    spec: JupyterSpec,
    port: int,
    token: str,
    sock: str | None = None,
    *,
    config_dir: str | None = None,
) -> str:
    """Start Jupyter detached (``nohup`` + ``setsid`` where present), logging to a 0600 file.

    ``config_dir`` (the host's :func:`host_config_dir`) goes first on ``JUPYTER_CONFIG_PATH``
    for this server only.

    The token is a shell assignment exported as ``JUPYTER_TOKEN``: it stays inside the shell
    and the environment of the Jupyter process (readable only by the same user), and is in
    no process's argv. Prints ``@@sshjup pid N`` and ``@@sshjup log PATH``.
    """
    if not token or not all("!" <= ch <= "~" for ch in token):
        msg = "the token must be non-empty printable ASCII without spaces"
        raise InvalidInput(
            msg, hint="give another token (--token, $SSHJUP_TOKEN or `sshjup token set`)"
        )
    words = " ".join(shell_word(w) for w in start_argv(spec, port, sock)[1:])
    lines = _prologue(spec)
    if sock is not None:
        lines += _socket_check_lines(sock)
    if config_dir is not None:
        lines += host_config_path_lines(config_dir)
    lines += [
        f"JUPYTER_TOKEN={shlex.quote(token)}",
        "export JUPYTER_TOKEN",
        f'logdir="{LOG_DIR}"',
        f"log={log_path_expr(port)}",
        'mkdir -p "$logdir" && chmod 700 "$logdir" || { echo "' + MARK + ' error log"; exit 5; }',
        ': > "$log" && chmod 600 "$log" || { echo "' + MARK + ' error log"; exit 5; }',
        'cd "$HOME" || exit 5',
    ]
    if spec.root_dir:
        lines += [
            f"if [ ! -d {shell_word(spec.root_dir)} ]; then",
            f'  echo "{MARK} error root-dir"',
            "  exit 6",
            "fi",
        ]
    lines += [
        "if command -v setsid >/dev/null 2>&1; then",
        f'  nohup setsid "$JUPYTER" {words} </dev/null >>"$log" 2>&1 &',
        "else",
        f'  nohup "$JUPYTER" {words} </dev/null >>"$log" 2>&1 &',
        "fi",
        f'echo "{MARK} pid $!"',
        f'echo "{MARK} log $log"',
    ]
    return "\n".join(lines) + "\n"


def poll_script(spec: JupyterSpec, port: int, pid: int, *, log_lines: int = 40) -> str:
    """Is the started process alive; the server list; the log's tail once the process is gone."""
    lines = _prologue(spec)
    lines += [
        f"pid={int(pid)}",
        f"log={log_path_expr(port)}",
        *_ALIVE_FUNCTION,
        'if alive "$pid"; then alive=1; else alive=0; fi',
        f'echo "{MARK} alive $alive"',
        *_list_lines(define_alive=False),
        'if [ "$alive" = 0 ]; then',
        f'  echo "{MARK} begin log"; tail -n {int(log_lines)} "$log" 2>/dev/null; '
        f'echo "{MARK} end log"',
        "fi",
    ]
    return "\n".join(lines) + "\n"


# Where /proc exists it decides: a process is alive while its stat is there and not a zombie
# ("Z"; `kill -0` succeeds for a zombie), whoever owns it (`kill -0` fails with EPERM for
# another account's process, which is not gone). Without /proc, `kill -0` it is.
_ALIVE_FUNCTION = (
    "alive() {",
    "  if [ -r /proc/self/stat ]; then",
    '    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1',
    '    case "$st" in *") Z "*) return 1 ;; esac',
    "    return 0",
    "  fi",
    '  kill -0 "$1" 2>/dev/null',
    "}",
)


def stop_script(pid: int, *, grace_seconds: int = 10) -> str:
    """SIGTERM (Jupyter shuts down its kernels and removes its runtime file), then SIGKILL."""
    pid = int(pid)
    if pid <= 1:
        msg = f"refusing to stop process {pid}"
        raise InvalidInput(msg, hint="this is not a Jupyter server's pid")
    ticks = max(1, int(grace_seconds)) * 5
    lines = [
        "set -u",
        f"pid={pid}",
        *_ALIVE_FUNCTION,
        f'if ! kill -TERM "$pid" 2>/dev/null; then echo "{MARK} gone"; exit 0; fi',
        "i=0",
        'while alive "$pid"; do',
        "  i=$((i + 1))",
        f'  if [ "$i" -gt {ticks} ]; then',
        f'    kill -KILL "$pid" 2>/dev/null; echo "{MARK} killed"; sleep 1; break',
        "  fi",
        "  sleep 0.2 2>/dev/null || sleep 1",
        "done",
        f'if alive "$pid"; then echo "{MARK} still-running"; exit 9; fi',
        f'echo "{MARK} stopped"',
    ]
    return "\n".join(lines) + "\n"


def _heredoc_delimiter(*texts: str) -> str:
    import secrets  # noqa: PLC0415 (keeps `sshjup url` light)

    while True:
        delim = "SSHJUP_EOF_" + secrets.token_hex(6)
        if not any(delim in text for text in texts):
            return delim


def write_config_script(config_dir: str, old_text: str | None, new_text: str) -> str:
    """Replace ``config_dir/jupyter_server_config.json`` with ``new_text``, only if unchanged.

    Compare-and-swap: if the file is no longer ``old_text`` (``None``: absent), nothing is
    written and ``@@sshjup changed`` is printed. Otherwise the old file is kept as
    ``jupyter_server_config.json.sshjup.bak``, the new one is written beside it (0600) and
    renamed over it; a symlink is written through, so it stays a symlink.
    """
    if not new_text.endswith("\n"):
        new_text += "\n"
    delim = _heredoc_delimiter(old_text or "", new_text)
    lines = [
        "set -u",
        "umask 077",
        f"cdir={shlex.quote(config_dir)}",
        f'f="$cdir/{CONFIG_FILE}"',
        'mkdir -p "$cdir" || exit 5',
    ]
    if old_text is None:
        lines.append(f'if [ -e "$f" ] || [ -L "$f" ]; then echo "{MARK} changed"; exit 7; fi')
    else:
        lines += [
            f'if [ ! -f "$f" ]; then echo "{MARK} changed"; exit 7; fi',
            "cur=$(cat \"$f\"; printf '\\nx')",
            "cur=${cur%x}",
            f"old=$(cat <<'{delim}'",
            old_text,
            delim,
            "printf x",
            ")",
            "old=${old%x}",
            f'if [ "$cur" != "$old" ]; then echo "{MARK} changed"; exit 7; fi',
            'cp "$f" "$f.sshjup.bak" && chmod 600 "$f.sshjup.bak" || exit 5',
        ]
    lines += [
        'tmp="$f.sshjup-tmp.$$"',
        f"cat > \"$tmp\" <<'{delim}' || exit 5",
        new_text + delim,
        'chmod 600 "$tmp" || exit 5',
        'if [ -L "$f" ]; then cat "$tmp" > "$f" && rm -f "$tmp" || exit 5',
        'else mv -f "$tmp" "$f" || exit 5',
        "fi",
        f'echo "{MARK} written $f"',
    ]
    return "\n".join(lines) + "\n"


# -- reading the remote's answers -------------------------------------------------------------


@dataclass(frozen=True)
class ScriptOutput:
    """The ``@@sshjup`` marker lines and blocks of a script's standard output."""

    values: Mapping[str, str]
    blocks: Mapping[str, str]
    flags: frozenset[str]


def parse_markers(stdout: str) -> ScriptOutput:
    """Split a script's output into ``@@sshjup key value`` values, flags and begin/end blocks.

    Anything else (a chatty ``.bashrc``, ``nohup`` notes) is ignored. A block's text is exactly
    what was printed between its markers (the newline before the end marker removed).
    """
    values: dict[str, str] = {}
    blocks: dict[str, str] = {}
    flags: set[str] = set()
    open_block: str | None = None
    buf: list[str] = []
    prefix = MARK + " "
    for line in stdout.split("\n"):
        if open_block is not None:
            if line == f"{prefix}end {open_block}":
                blocks[open_block] = "\n".join(buf)
                open_block, buf = None, []
            else:
                buf.append(line)
            continue
        if not line.startswith(prefix):
            continue
        key, _, value = line[len(prefix) :].partition(" ")
        if key == "begin" and value:
            open_block = value
        elif value:
            values[key] = value
        else:
            flags.add(key)
    if open_block is not None:  # cut off: keep what arrived
        blocks[open_block] = "\n".join(buf)
    return ScriptOutput(values, blocks, frozenset(flags))


@dataclass(frozen=True)
class RunningServer:
    """One entry of ``jupyter server list --json``. ``token`` is left out of ``repr``."""

    port: int
    pid: int
    url: str = ""
    root_dir: str | None = None
    base_url: str = "/"
    hostname: str = "localhost"
    secure: bool = False
    sock: str = ""
    version: str | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def password_mode(self) -> bool:
        """Jupyter reports ``token: ""`` when a password is set (its ``password`` field lies)."""
        return self.token == ""

    def describe(self) -> str:
        """A one-line description without the token."""
        where = f" in {self.root_dir}" if self.root_dir else ""
        ver = f" {self.version}" if self.version else ""
        on = self.sock if self.sock else f"{self.hostname}:{self.port}"
        return f"Jupyter Server{ver} (pid {self.pid}) on {on}{where}"


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_server_list(text: str) -> list[RunningServer]:
    """Parse ``jupyter server list --json``: one JSON object per line; other lines are skipped.

    Entries without an integer port and pid are skipped too.
    """
    servers: list[RunningServer] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        port, pid = _as_int(data.get("port")), _as_int(data.get("pid"))
        if port is None or pid is None:
            continue
        token = data.get("token")
        root = data.get("root_dir")
        version = data.get("version")
        servers.append(
            RunningServer(
                port=port,
                pid=pid,
                url=str(data.get("url") or ""),
                root_dir=str(root) if root is not None else None,
                base_url=str(data.get("base_url") or "/"),
                hostname=str(data.get("hostname") or "localhost"),
                secure=bool(data.get("secure", False)),
                sock=str(data.get("sock") or ""),
                version=str(version) if version is not None else None,
                token=str(token) if isinstance(token, str) else None,
            )
        )
    return servers


def find_server(
    servers: Sequence[RunningServer], port: int, sock: str | None = None
) -> RunningServer | None:
    """The server listening on ``port`` (TCP), or on the Unix socket ``sock``; else ``None``."""
    for server in servers:
        if sock is not None:
            if server.sock == sock:
                return server
        elif server.port == port and not server.sock:
            return server
    return None


def port_in_use(log_text: str, port: int) -> bool:
    """Did Jupyter's log say the port was taken (with port retries off)?"""
    return (
        f"port {port} is not available" in log_text
        or f"The port {port} is already in use" in log_text
    )


# -- remote text quoted in an error ----------------------------------------------------------

MASK = "***"
# What a token looks like in Jupyter's output: a query or JSON field, or a long hex run
# (jupyter_server's tokens are 48 hex digits; 32 or more catches shorter hand-made ones).
_TOKEN_SHAPES = (
    re.compile(r"(?i)([?&;]token=)[^&\s\"'<>]+"),
    re.compile(r"(?i)(\"(?:token|password|hashed_password)\"\s*:\s*\")[^\"]*"),
    re.compile(r"(?i)(\b(?:token|password|hashed_password)\s*[=:]\s*)[^\s,;&\"']{8,}"),
    re.compile(r"()\b[0-9a-fA-F]{32,}\b"),
)


def scrub(text: str, known: Sequence[str | None] = ()) -> str:
    """``text`` with each known secret, and anything shaped like a token, replaced by ``***``.

    For remote output (stderr, log lines, ``jupyter server list``) before it goes into an
    error message. Known secrets go first (longest first), so a secret inside a longer one
    cannot leave a piece behind.
    """
    for value in sorted({v for v in known if v}, key=len, reverse=True):
        text = text.replace(value, MASK)
    for shape in _TOKEN_SHAPES:
        text = shape.sub(lambda m: m.group(1) + MASK, text)
    return text


def live_servers(out: ScriptOutput) -> list[RunningServer]:
    """The servers of a script's ``list`` block whose pid the ``gone`` block does not name."""
    gone = {int(w) for w in out.blocks.get("gone", "").split() if w.isdigit()}
    return [s for s in parse_server_list(out.blocks.get("list", "")) if s.pid not in gone]


def server_secrets(text: str) -> tuple[str, ...]:
    """The tokens ``jupyter server list --json`` output holds (to mask them anywhere)."""
    return tuple(s.token for s in parse_server_list(text) if s.token)


# -- jupyter_server_config.json ---------------------------------------------------------------

_MISSING: object = object()
_FIX_CONFIG = "fix or move that file on the remote, then retry"
_SECRET_KEYS = ("hashed_password", "password")


@dataclass(frozen=True)
class ConfigChange:
    """One setting ``section.key``: ``old`` is ``None`` when it was not set before."""

    section: str
    key: str
    old: object
    new: object
    was_set: bool

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    def describe(self) -> str:
        secret = self.key in _SECRET_KEYS
        new = "<hash hidden>" if secret else json.dumps(self.new)
        if not self.was_set:
            return f"{self.name}: set to {new}"
        old = "<hash hidden>" if secret else json.dumps(self.old)
        return f"{self.name}: {old} -> {new}"


@dataclass(frozen=True)
class ConfigMerge:
    """What ``jupyter setup`` would do to the remote's ``jupyter_server_config.json``."""

    path: str
    old_text: str | None
    new_text: str
    changes: tuple[ConfigChange, ...]
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def replaces(self) -> tuple[ConfigChange, ...]:
        """Settings the user had that would get another value: ask before writing these."""
        return tuple(c for c in self.changes if c.was_set)

    def diff(self) -> str:
        """A unified diff of the file, password hashes masked."""
        import difflib  # noqa: PLC0415 (keeps `sshjup url` light)

        if not self.changed:
            return ""
        old_lines = _mask_secrets(self.old_text or "", "<hash hidden>").splitlines(keepends=True)
        new_mask = "<hash hidden>"
        if any(c.key in _SECRET_KEYS for c in self.changes):
            new_mask = "<new hash hidden>"
        new_lines = _mask_secrets(self.new_text, new_mask).splitlines(keepends=True)
        old_name = self.path if self.old_text is not None else "/dev/null"
        out = []
        for line in difflib.unified_diff(old_lines, new_lines, old_name, self.path):
            # As diff(1) does, mark a last line that has no newline.
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


def _mask_secrets(text: str, mask: str) -> str:
    pattern = r'("(?:' + "|".join(_SECRET_KEYS) + r')"\s*:\s*)"(?:[^"\\]|\\.)*"'
    return re.sub(pattern, lambda m: m.group(1) + json.dumps(mask), text)


def desired_server_settings(
    port: int, *, password_hash: str | None = None, sock: str | None = None
) -> dict[str, dict[str, object]]:
    """The settings ``jupyter setup`` writes (the password hash under ``IdentityProvider``).

    With ``sock``: ``ServerApp.sock`` and ``sock_mode`` instead of ``ip`` and ``port``.
    """
    server: dict[str, object]
    if sock is not None:
        server = {"sock": validate_socket_path(sock), "sock_mode": SOCKET_MODE}
    else:
        server = {"ip": LOOPBACK, "port": validate_port(port, "remote port")}
    server |= {"port_retries": 0, "open_browser": False}
    settings: dict[str, dict[str, object]] = {"ServerApp": server}
    if password_hash is not None:
        if not password_hash or "\n" in password_hash or '"' in password_hash:
            msg = "the password hash is not in Jupyter's form"
            raise InvalidInput(msg, hint="hash it with sshjup.jupyter.scripts.hash_password")
        settings["IdentityProvider"] = {"hashed_password": password_hash}
    return settings


def merge_server_config(
    old_text: str | None,
    port: int,
    *,
    password_hash: str | None = None,
    path: str = "~/.jupyter/" + CONFIG_FILE,
    sock: str | None = None,
) -> ConfigMerge:
    """Merge sshjup's settings into the existing JSON config, keeping everything else.

    Key order and unrelated settings are kept; the file is re-serialised with two-space indent,
    as Jupyter writes it. A password hash goes where Jupyter will read it: traitlets applies a
    more specific section over ``IdentityProvider``, so when ``PasswordIdentityProvider`` or
    the deprecated ``ServerApp.password`` already hold a hash, those are replaced too.
    Raises ``ConfigParseError`` when the existing file is not a JSON object of objects.
    """
    data: dict[str, object]
    if old_text is None or not old_text.strip():
        data = {}
    else:
        try:
            loaded = json.loads(old_text)
        except ValueError as err:
            msg = f"the remote {path} is not valid JSON ({err})"
            raise ConfigParseError(msg, hint=_FIX_CONFIG) from err
        if not isinstance(loaded, dict):
            msg = f"the remote {path} is not a JSON object"
            raise ConfigParseError(msg, hint=_FIX_CONFIG)
        data = loaded
    wanted = desired_server_settings(port, password_hash=password_hash, sock=sock)
    notes: list[str] = []
    if password_hash is not None:
        extra = [("PasswordIdentityProvider", "hashed_password"), ("ServerApp", "password")]
        for section, key in extra:
            existing = data.get(section)
            if isinstance(existing, dict) and key in existing:
                wanted.setdefault(section, {})[key] = password_hash
                notes.append(f"{section}.{key} also held a password hash; it is replaced too")
    changes: list[ConfigChange] = []
    for section, settings in wanted.items():
        current = data.get(section, _MISSING)
        if current is _MISSING:
            current = {}
            data[section] = current
        if not isinstance(current, dict):
            msg = f"the remote {path}: {section!r} is not a JSON object"
            raise ConfigParseError(msg, hint=_FIX_CONFIG)
        for key, value in settings.items():
            old = current.get(key, _MISSING)
            if old is not _MISSING and old == value and type(old) is type(value):
                continue
            was_set = old is not _MISSING
            changes.append(ConfigChange(section, key, old if was_set else None, value, was_set))
            current[key] = value
    new_text = json.dumps(data, indent=2) + "\n"
    if not changes and old_text is not None:
        new_text = old_text
    return ConfigMerge(path, old_text, new_text, tuple(changes), tuple(notes))


__all__ = [
    "ARGON2_PARAMETERS",
    "CONFIG_FILE",
    "HOST_CONFIG_SUBDIR",
    "LOG_DIR",
    "LOG_DIR_DISPLAY",
    "LOOPBACK",
    "MARK",
    "ConfigChange",
    "ConfigMerge",
    "PasswordAlgorithm",
    "SOCKET_DIR",
    "SOCKET_DIR_DISPLAY",
    "SOCKET_MODE",
    "RunningServer",
    "ScriptOutput",
    "argon2_available",
    "check_extra_args",
    "check_password",
    "desired_server_settings",
    "find_server",
    "hash_password",
    "host_config_dir",
    "host_config_path_lines",
    "jupyter_program",
    "list_script",
    "local_url",
    "log_path_expr",
    "merge_server_config",
    "new_token",
    "parse_markers",
    "live_servers",
    "parse_server_list",
    "poll_script",
    "port_in_use",
    "probe_script",
    "resolve_socket_script",
    "shell_word",
    "socket_request_expr",
    "start_argv",
    "start_script",
    "stop_script",
    "write_config_script",
]
