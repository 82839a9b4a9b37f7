"""Machine-local state that does not belong in the (portable) inventory.

``$SSHJUP_HOME/state.json``: which ssh config files sshjup created (so removing the last host
removes the file again), and digests of what sshjup wrote elsewhere (PuTTY sessions), so a
hand edit is detected. Written through the atomic writer like every other file.

``pending``: while sshjup writes PuTTY sessions, the digest each one had before (the new one
is already in ``digests``). A run killed in the middle leaves both, and the next run takes a
session matching either as sshjup's own, so it finishes the job instead of calling it foreign.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sshjup.records import dataclass, field
from sshjup.store import fileio, paths

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import Any


STATE_VERSION = 1


@dataclass
class State:
    """Machine-local facts sshjup keeps in ``state.json``."""

    created_files: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    # alias -> {"port": remote port, "pid": pid} of the Jupyter server `jupyter start` started
    # (pid 0 once `jupyter stop` stopped it): `url`/`open` hand its token to that server only.
    servers: dict[str, dict[str, int]] = field(default_factory=dict)
    # alias -> PID of a running ssh master whose connection settings changed since it started:
    # `sshjup up` restarts that master (and only that one: a new PID owes nothing).
    restart_pending: dict[str, int] = field(default_factory=dict)
    # Remote kernels sshjup started (sshjup kernel start): alias, kernel_id, remote_dir, pid,
    # local_ports, remote_ports, connection_file. Never the kernel's key.
    kernels: list[dict[str, Any]] = field(default_factory=list)
    # Running `sshjup kernel run` launchers: alias, launch_id, launcher pid (and its start
    # time), route, the -L specs, the front end's ports and connection file. A launcher killed
    # before it could clean up leaves its record; the next `kernel run` for that alias (or
    # `kernel stop NAME --all`) cancels its forwards and drops it. Never the kernel's key.
    launches: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "created_files": sorted(set(self.created_files)),
            "digests": dict(sorted(self.digests.items())),
            "servers": dict(sorted(self.servers.items())),
            "restart_pending": dict(sorted(self.restart_pending.items())),
        }
        if self.pending:
            data["pending"] = dict(sorted(self.pending.items()))
        if self.kernels:
            data["kernels"] = self.kernels
        if self.launches:
            data["launches"] = self.launches
        return data


def state_path() -> Path:
    return paths.app_dir() / "state.json"


def load() -> State:
    data = fileio.read_bytes(state_path())
    if data is None:
        return State()
    import json  # noqa: PLC0415 (only when the state file is read: keeps `add` light)

    try:
        raw = json.loads(data.decode("utf-8"))
        return State(
            [str(p) for p in raw.get("created_files", [])],
            {str(k): str(v) for k, v in raw.get("digests", {}).items()},
            {str(k): str(v) for k, v in raw.get("pending", {}).items()},
            {
                str(k): {"port": int(v["port"]), "pid": int(v["pid"])}
                for k, v in raw.get("servers", {}).items()
            },
            {str(k): int(v) for k, v in raw.get("restart_pending", {}).items()},
            [dict(k) for k in raw.get("kernels", []) if isinstance(k, dict) and "key" not in k],
            [dict(k) for k in raw.get("launches", []) if isinstance(k, dict) and "key" not in k],
        )
    except (ValueError, AttributeError, TypeError, KeyError):
        # A damaged state file only loses conveniences (file removal, hand-edit digests);
        # it is rewritten on the next change.
        return State()


def save(state: State) -> None:
    import json  # noqa: PLC0415

    text = json.dumps(state.to_json(), indent=2) + "\n"
    fileio.atomic_write(state_path(), text.encode("utf-8"), backup=False)


def update(change: Callable[[State], None]) -> State:
    """Load, change and save the state under sshjup's lock (two runs lose nothing)."""
    with fileio.file_lock(paths.app_dir() / "sshjup.lock"):
        current = load()
        change(current)
        save(current)
        return current


__all__ = ["State", "load", "save", "state_path", "update"]
