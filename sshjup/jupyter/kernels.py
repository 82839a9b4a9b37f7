"""Remote kernels, the pure part: the remote shell scripts, the local connection file, names.

Nothing here runs a process or writes a file (sshjup/jupyter/kernelops.py does, through
``sshjup.proc`` and ``sshjup.store.fileio``). The kernel's HMAC key only ever appears in the
connection file text rendered here; no script or argv built here holds it.

The kernel runs on the remote as ``jupyter kernel --kernel=SPEC`` (jupyter_client's KernelApp,
which ipykernel brings) with ZMQ over Unix sockets: ``--KernelManager.transport=ipc`` and
``--KernelManager.ip=DIR/k`` make the five channels the sockets ``DIR/k-1`` ... ``DIR/k-5`` in
a 0700 directory, so no TCP port is opened on the remote. SIGTERM to KernelApp sends the
kernel a shutdown request and waits for it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sshjup.errors import InvalidInput, RemoteCommandFailed, SshjupError
from sshjup.records import dataclass

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
FILE_PREFIX = "kernel-"
_SPEC_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ID_RE = re.compile(r"[0-9a-f]{8,32}")
_DIR_RE = re.compile(r"/[A-Za-z0-9._/-]{1,80}")
JSON_BEGIN = "--sshjup-kernel-json--"
JSON_END = "--sshjup-kernel-json-end--"
START_WAIT_TENTHS = 600  # the remote script waits up to 60 s for the five sockets


def check_spec(spec: str) -> str:
    if not _SPEC_RE.fullmatch(spec):
        msg = f"{spec!r} is not a kernelspec name"
        raise InvalidInput(msg, hint="use the name `jupyter kernelspec list` shows, e.g. python3")
    return spec


def check_kernel_id(kernel_id: str) -> str:
    if not _ID_RE.fullmatch(kernel_id):
        msg = f"{kernel_id!r} is not a kernel id sshjup gave"
        raise InvalidInput(msg, hint="use an id from `sshjup kernel list`")
    return kernel_id


def check_remote_dir(path: str) -> str:
    if not _DIR_RE.fullmatch(path) or "/../" in path + "/" or "/./" in path + "/":
        msg = f"the remote reported {path!r} as the kernel directory"
        raise RemoteCommandFailed(msg, hint="check the remote's TMPDIR / XDG_RUNTIME_DIR")
    return path


def connection_file_name(alias: str, kernel_id: str) -> str:
    """``kernel-jup-NAME-ID.json``: what ``jupyter console --existing`` looks for."""
    return f"{FILE_PREFIX}{alias}-{check_kernel_id(kernel_id)}.json"


def socket_path(remote_dir: str, port: int) -> str:
    return f"{remote_dir}/k-{port}"


def forward_spec(local_port: int, remote_dir: str, remote_port: int) -> str:
    """The ``-L`` spec: a local loopback TCP port to the remote Unix socket."""
    return f"127.0.0.1:{local_port}:{socket_path(remote_dir, remote_port)}"


# -- remote scripts (sh, on ssh's stdin) -------------------------------------------------------


def start_script(jupyter_cmd: str, spec: str | None) -> str:
    """Start KernelApp detached in a fresh 0700 dir; print ``pid=``, ``dir=`` and k.json.

    The key is only in k.json (0600), read back on this script's stdout.
    """
    kernel = f" --kernel={shlex.quote(check_spec(spec))}" if spec else ""
    cmd = shlex.quote(jupyter_cmd)
    return f"""set -u
umask 077
base="${{XDG_RUNTIME_DIR:-/tmp}}"
[ -d "$base" ] && [ -w "$base" ] || base=/tmp
d=$(mktemp -d "$base/sshjup-k.XXXXXXXX") || exit 3
chmod 700 "$d"
cd "$d" || exit 3
run=""
command -v setsid >/dev/null 2>&1 && run=setsid
nohup $run {cmd} kernel{kernel} --KernelManager.transport=ipc --KernelManager.ip="$d/k" \\
  --KernelManager.connection_file="$d/k.json" </dev/null >"$d/k.log" 2>&1 &
pid=$!
echo "pid=$pid"
echo "dir=$d"
i=0
while :; do
  if [ -s "$d/k.json" ] && [ -S "$d/k-1" ] && [ -S "$d/k-2" ] && [ -S "$d/k-3" ] \\
     && [ -S "$d/k-4" ] && [ -S "$d/k-5" ]; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "the kernel exited at start:" >&2; tail -n 15 "$d/k.log" >&2; rm -rf "$d"; exit 4
  fi
  i=$((i+1))
  if [ "$i" -gt {START_WAIT_TENTHS} ]; then
    echo "the kernel did not open its sockets within 60 s:" >&2; tail -n 15 "$d/k.log" >&2
    kill "$pid" 2>/dev/null; rm -rf "$d"; exit 5
  fi
  sleep 0.1
done
echo "{JSON_BEGIN}"
cat "$d/k.json"
echo
echo "{JSON_END}"
"""


def alive_script(pids: Mapping[str, int]) -> str:
    """Print ``ID alive|gone`` for each kernel id and its KernelApp pid."""
    lines = ["set -u"]
    for kernel_id, pid in sorted(pids.items()):
        check_kernel_id(kernel_id)
        lines.append(
            f'if kill -0 {int(pid)} 2>/dev/null; then echo "{kernel_id} alive"; '
            f'else echo "{kernel_id} gone"; fi'
        )
    return "\n".join(lines) + "\n"


def stop_script(pid: int, remote_dir: str, *, grace_tenths: int = 100) -> str:
    """SIGTERM KernelApp (it sends the kernel a shutdown request), then SIGKILL its process
    group after the grace time; remove the directory. Only a pid whose cwd is the kernel's
    directory is signalled (the pid may have been reused)."""
    d = shlex.quote(check_remote_dir(remote_dir))
    p = int(pid)
    return f"""set -u
d={d}
p={p}
ours=no
if [ -d /proc/$p ]; then
  [ "$(readlink /proc/$p/cwd 2>/dev/null)" = "$d" ] && ours=yes
elif kill -0 $p 2>/dev/null; then
  ours=yes
fi
if [ "$ours" = yes ]; then
  kill -TERM $p 2>/dev/null
  i=0
  while kill -0 $p 2>/dev/null && [ "$i" -lt {int(grace_tenths)} ]; do i=$((i+1)); sleep 0.1; done
  kill -KILL -$p 2>/dev/null || kill -KILL $p 2>/dev/null
fi
rm -rf "$d"
echo stopped
"""


# -- parsing what the start script printed -----------------------------------------------------


@dataclass(frozen=True)
class Started:
    """A kernel started on the remote."""

    pid: int
    remote_dir: str
    info: dict[str, Any]  # the remote k.json (holds the key)

    def remote_ports(self) -> dict[str, int]:
        return {ch: int(self.info[f"{ch}_port"]) for ch in CHANNELS}


def parse_started(stdout: str) -> Started:
    pid: int | None = None
    remote_dir: str | None = None
    body: list[str] = []
    inside = False
    for line in stdout.splitlines():
        if line == JSON_BEGIN:
            inside = True
        elif line == JSON_END:
            inside = False
        elif inside:
            body.append(line)
        elif line.startswith("pid=") and line[4:].isdigit():
            pid = int(line[4:])
        elif line.startswith("dir="):
            remote_dir = line[4:]
    try:
        info = json.loads("\n".join(body))
    except ValueError:
        info = None
    if pid is None or remote_dir is None or not isinstance(info, dict):
        msg = "the remote kernel started, but sshjup could not read its connection file"
        raise RemoteCommandFailed(msg, hint="check that the remote has ipykernel installed")
    missing = [k for k in (*(f"{c}_port" for c in CHANNELS), "key") if k not in info]
    if missing or info.get("transport") != "ipc":
        msg = f"the remote kernel's connection file lacks {', '.join(missing) or 'ipc transport'}"
        raise RemoteCommandFailed(msg, hint="update ipykernel and jupyter_client on the remote")
    return Started(pid, check_remote_dir(remote_dir), info)


def local_connection(remote_info: Mapping[str, Any], local_ports: Mapping[str, int]) -> bytes:
    """The local connection file: the remote one with tcp, 127.0.0.1 and the local ports."""
    data = dict(remote_info)
    data["transport"] = "tcp"
    data["ip"] = "127.0.0.1"
    for ch in CHANNELS:
        data[f"{ch}_port"] = int(local_ports[ch])
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


# -- where local Jupyter files go ---------------------------------------------------------------


def default_data_dir(env: Mapping[str, str], home: Path, platform: str = sys.platform) -> Path:
    """Jupyter's documented data dir rules (without jupyter_core): JUPYTER_DATA_DIR, else
    ~/Library/Jupyter (macOS), %APPDATA%\\jupyter (Windows), $XDG_DATA_HOME/jupyter or
    ~/.local/share/jupyter (elsewhere)."""
    if env.get("JUPYTER_DATA_DIR"):
        return Path(env["JUPYTER_DATA_DIR"])
    if platform == "darwin":
        return home / "Library" / "Jupyter"
    if platform == "win32":
        appdata = env.get("APPDATA")
        return Path(appdata) / "jupyter" if appdata else home / ".jupyter" / "data"
    xdg = env.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else home / ".local" / "share") / "jupyter"


def default_runtime_dir(env: Mapping[str, str], home: Path, platform: str = sys.platform) -> Path:
    """JUPYTER_RUNTIME_DIR, else DATA_DIR/runtime."""
    if env.get("JUPYTER_RUNTIME_DIR"):
        return Path(env["JUPYTER_RUNTIME_DIR"])
    return default_data_dir(env, home, platform) / "runtime"


def runtime_dir() -> Path:
    """The local Jupyter runtime dir: jupyter_core's answer when it is installed, else the
    documented default rules."""
    try:
        from jupyter_core.paths import jupyter_runtime_dir  # noqa: PLC0415
    except ImportError:
        return default_runtime_dir(os.environ, Path.home())
    return Path(jupyter_runtime_dir())


# -- the kernelspec route: a local kernelspec whose launcher is `sshjup kernel run` ----------

KERNELSPEC_FILE = "kernel.json"
INTERRUPT_MODES = ("message", "signal")
SEND_KEY = "--sshjup-send-key--"
READY = "--sshjup-kernel-ready--"
LAUNCH_DIR_PREFIX = "/tmp/sshjup-r."  # noqa: S108 (remote; mkdir of a fresh random name, 0700)
_LAUNCH_ID_RE = re.compile(r"[0-9a-f]{16}")
_KEY_RE = re.compile(r"[A-Za-z0-9._-]{8,256}")
_SCHEME_RE = re.compile(r"hmac-[a-z0-9]{3,16}")
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
STOP_GRACE_TENTHS = 50  # the launcher's remote wrapper gives KernelApp 5 s to shut down


def kernelspec_name(alias: str) -> str:
    """The local kernelspec's name: the alias itself (``jup-NAME``)."""
    return alias


def launcher_argv(
    python: str,
    name: str,
    *,
    spec: str | None = None,
    jupyter_cmd: str | None = None,
    ssh_config: str | None = None,
) -> list[str]:
    """The kernelspec's argv: ``python -m sshjup kernel run NAME --connection-file
    {connection_file}`` (plus the remote kernelspec, remote jupyter and ssh config if given)."""
    argv = [python, "-m", "sshjup", "kernel", "run", name]
    if spec is not None:
        argv += ["--kernel", check_spec(spec)]
    if jupyter_cmd is not None:
        argv += ["--jupyter-cmd", jupyter_cmd]
    if ssh_config is not None:
        argv += ["--ssh-config", ssh_config]
    return [*argv, "--connection-file", "{connection_file}"]


def render_kernelspec(
    argv: list[str],
    *,
    display_name: str,
    language: str = "python",
    interrupt_mode: str = "message",
    alias: str,
    remote_kernel: str | None = None,
) -> bytes:
    """kernel.json of the local kernelspec (jupyter_client's format)."""
    if interrupt_mode not in INTERRUPT_MODES:
        msg = f"{interrupt_mode!r} is not an interrupt mode"
        raise InvalidInput(msg, hint="use message or signal")
    for what, value in (("display name", display_name), ("language", language)):
        if not value.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):  # noqa: PLR2004
            msg = f"the {what} {value!r} is empty or holds control characters"
            raise InvalidInput(msg, hint=f"give a {what} on one line")
    data = {
        "argv": list(argv),
        "display_name": display_name,
        "language": language,
        "interrupt_mode": interrupt_mode,
        "metadata": {
            "sshjup": {"alias": alias, "remote_kernel": remote_kernel},
            "debugger": False,
        },
    }
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


@dataclass(frozen=True)
class FrontEnd:
    """What the front end wrote into the connection file it gives the launcher."""

    key: str
    signature_scheme: str
    ports: dict[str, int]


def parse_frontend(text: str) -> FrontEnd:
    """Read the front end's connection file: tcp on loopback, five ports, a key. The key is
    only checked against an allow-list, never quoted in an error."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        msg = "the connection file the front end gave is not a JSON object"
        raise InvalidInput(msg, hint="let the front end (jupyter_client) write it")
    transport = data.get("transport", "tcp")
    ip = data.get("ip", "127.0.0.1")
    if transport != "tcp" or ip not in _LOOPBACK_NAMES:
        msg = f"the connection file asks for {transport} on {ip!r}; sshjup forwards loopback TCP"
        raise InvalidInput(msg, hint="use the front end's default (tcp, 127.0.0.1)")
    ports: dict[str, int] = {}
    for ch in CHANNELS:
        value = data.get(f"{ch}_port")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:  # noqa: PLR2004
            msg = f"the connection file has no usable {ch}_port"
            raise InvalidInput(msg, hint="let the front end choose the five ports")
        ports[ch] = value
    key = data.get("key")
    if isinstance(key, bytes):  # pragma: no cover - json never gives bytes
        key = key.decode("ascii", "replace")
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        msg = "the connection file's key is missing or not 8-256 letters, digits, '.', '_', '-'"
        raise InvalidInput(msg, hint="let the front end generate the key (a UUID)")
    scheme = data.get("signature_scheme") or "hmac-sha256"
    if not isinstance(scheme, str) or not _SCHEME_RE.fullmatch(scheme):
        msg = f"the connection file's signature scheme {scheme!r} is not hmac-NAME"
        raise InvalidInput(msg, hint="use hmac-sha256")
    return FrontEnd(key, scheme, ports)


def check_launch_id(launch_id: str) -> str:
    if not _LAUNCH_ID_RE.fullmatch(launch_id):
        msg = f"{launch_id!r} is not a launcher id"
        raise InvalidInput(msg, hint="let sshjup choose it")
    return launch_id


def launch_dir(launch_id: str) -> str:
    """The launcher's private remote directory: known before connecting, so a Windows ssh
    can be given the ``-L`` forwards on its command line."""
    return LAUNCH_DIR_PREFIX + check_launch_id(launch_id)


def launch_specs(local_ports: Mapping[str, int], remote_dir: str) -> list[str]:
    """The five ``-L`` specs: the front end's ports to ``DIR/k-1`` ... ``DIR/k-5``."""
    return [
        forward_spec(int(local_ports[ch]), remote_dir, n) for n, ch in enumerate(CHANNELS, start=1)
    ]


def launch_script(
    jupyter_cmd: str,
    spec: str | None,
    remote_dir: str,
    signature_scheme: str,
    *,
    cwd: str | None = None,
) -> str:
    """The remote wrapper of ``sshjup kernel run``, tied to its ssh session.

    Creates ``remote_dir`` (0700), prints SEND_KEY and reads the key as one line of its
    stdin (the ``read`` and ``printf`` builtins: never an argv) into ``DIR/key`` (0600),
    starts KernelApp with ``--Session.keyfile``, ipc sockets ``DIR/k-1`` ... ``DIR/k-5``, and
    prints READY. Then each ``int`` line sends SIGINT to the kernel's process group; EOF on
    stdin (the launcher or its ssh went away, even by SIGKILL) or the kernel's exit stops
    KernelApp (SIGTERM, then SIGKILL) and removes the directory.
    """
    d = shlex.quote(check_remote_dir(remote_dir))
    cmd = shlex.quote(jupyter_cmd)
    kernel = f" --kernel={shlex.quote(check_spec(spec))}" if spec else ""
    if not _SCHEME_RE.fullmatch(signature_scheme):
        msg = f"{signature_scheme!r} is not a signature scheme"
        raise InvalidInput(msg, hint="use hmac-sha256")
    ports = " ".join(f"--KernelManager.{ch}_port={n}" for n, ch in enumerate(CHANNELS, start=1))
    where = f"cd {shlex.quote(cwd)} 2>/dev/null || " if cwd else ""
    return f"""set -u
umask 077
d={d}
app=""
kid=""
w=""
gone() {{
  s=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  case $s in Z*|"") return 0 ;; esac
  return 1
}}
stop() {{
  trap '' TERM HUP
  [ -n "$w" ] && kill "$w" 2>/dev/null
  if [ -n "$app" ] && ! gone "$app"; then
    kill -TERM "$app" 2>/dev/null
    i=0
    while ! gone "$app" && [ "$i" -lt {STOP_GRACE_TENTHS} ]; do i=$((i+1)); sleep 0.1; done
    kill -KILL -"$app" 2>/dev/null || kill -KILL "$app" 2>/dev/null
  fi
  [ -n "$kid" ] && {{ kill -KILL -"$kid" 2>/dev/null || kill -KILL "$kid" 2>/dev/null; }}
  cd /
  rm -rf "$d"
}}
trap 'stop; exit 0' TERM HUP
mkdir "$d" || {{ echo "cannot create $d on the remote" >&2; exit 3; }}
chmod 700 "$d"
echo "{SEND_KEY}"
IFS= read -r key || {{ stop; exit 6; }}
case $key in
  ""|*[!A-Za-z0-9._-]*) stop; echo "the key sshjup sent was refused" >&2; exit 6 ;;
esac
printf '%s' "$key" >"$d/key"
key=""
run=""
command -v setsid >/dev/null 2>&1 && run=setsid
( {where}cd "${{HOME:-/}}" 2>/dev/null || cd /
  exec $run {cmd} kernel{kernel} --KernelManager.transport=ipc --KernelManager.ip="$d/k" \
  --KernelManager.connection_file="$d/k.json" --Session.keyfile="$d/key" \
  --Session.signature_scheme={signature_scheme} {ports} \
  </dev/null >"$d/k.log" 2>&1 ) &
app=$!
i=0
while :; do
  if [ -s "$d/k.json" ] && [ -S "$d/k-1" ] && [ -S "$d/k-2" ] && [ -S "$d/k-3" ] \
     && [ -S "$d/k-4" ] && [ -S "$d/k-5" ]; then break; fi
  if gone "$app"; then
    echo "the kernel exited at start:" >&2; tail -n 15 "$d/k.log" >&2; stop; exit 4
  fi
  i=$((i+1))
  if [ "$i" -gt {START_WAIT_TENTHS} ]; then
    echo "the kernel did not open its sockets within 60 s:" >&2; tail -n 15 "$d/k.log" >&2
    stop; exit 5
  fi
  sleep 0.1
done
kid=$(ps -A -o pid= -o ppid= 2>/dev/null | awk -v a="$app" '$2 == a {{ print $1; exit }}')
echo "{READY}"
main=$$
( while ! gone "$app" && {{ [ -z "$kid" ] || ! gone "$kid"; }}; do sleep 0.3; done
  kill -TERM "$main" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
w=$!
while IFS= read -r line; do
  case $line in
    int) [ -n "$kid" ] && {{ kill -INT -"$kid" 2>/dev/null || kill -INT "$kid" 2>/dev/null; }} ;;
  esac
done
stop
exit 0
"""


def choose_route(*, control_master: bool, master_running: bool) -> str:
    """How ``kernel run`` reaches the remote (the seam between Unix and Windows' OpenSSH):

    * ``tunnel``: the tunnel's master runs: forwards with ``ssh -O forward`` on it, the
      session through it;
    * ``own``: no tunnel, but ssh can multiplex: the session is a private master of its own
      (no forwards from the config), and the forwards are added to it;
    * ``direct``: no ControlMaster (Windows' OpenSSH): one ssh with the five ``-L`` forwards
      on its command line.
    """
    if not control_master:
        return "direct"
    return "tunnel" if master_running else "own"


def data_dir() -> Path:
    """The local Jupyter data dir (kernelspecs go in ``DATA/kernels``): jupyter_core's answer
    when it is installed, else the documented default rules."""
    try:
        from jupyter_core.paths import jupyter_data_dir  # noqa: PLC0415
    except ImportError:
        return default_data_dir(os.environ, Path.home())
    return Path(jupyter_data_dir())


class _HasAlias(Protocol):
    @property
    def alias(self) -> str: ...


_Record = TypeVar("_Record", bound=_HasAlias)


def parse_records(
    raws: Iterable[Any], from_json: Callable[[Any], _Record], alias: str | None = None
) -> list[_Record]:
    """The records of a state.json list that parse (a damaged entry is skipped, not fatal),
    those of ``alias`` only when given."""
    found = []
    for raw in raws:
        try:
            rec = from_json(raw)
        except (KeyError, TypeError, ValueError, SshjupError):
            continue
        if alias is None or rec.alias == alias:
            found.append(rec)
    return found


__all__ = [
    "CHANNELS",
    "FrontEnd",
    "Started",
    "choose_route",
    "data_dir",
    "kernelspec_name",
    "launch_dir",
    "launch_script",
    "launch_specs",
    "launcher_argv",
    "parse_frontend",
    "parse_records",
    "render_kernelspec",
    "alive_script",
    "check_kernel_id",
    "check_spec",
    "connection_file_name",
    "default_data_dir",
    "default_runtime_dir",
    "forward_spec",
    "local_connection",
    "parse_started",
    "runtime_dir",
    "start_script",
    "stop_script",
]
