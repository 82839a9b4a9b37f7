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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sshjup.errors import InvalidInput, RemoteCommandFailed

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


__all__ = [
    "CHANNELS",
    "Started",
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
