"""``sshjup keep``: a foreground supervisor that keeps tunnels up (issue 8).

For a terminal or a service manager (systemd user unit, launchd agent, Task Scheduler). Each
tunnel is opened with plain ``ssh ALIAS`` plus ``BatchMode yes`` (it never prompts), watched
through its own control socket and a probe of its local port, and re-opened with capped
exponential backoff (1 s doubling to 60 s, back to 1 s after a success) when it dies: a
server that restarts, a network that changes, a laptop that wakes. A silent drop is noticed by
ssh itself (``ServerAliveInterval 15``, ``ServerAliveCountMax 2``: ~45 s): the master exits.

A tunnel that needs a person (a key passphrase, a host key to accept, a login refused) is
reported once and not retried. SIGTERM and SIGINT close the tunnels keep opened (a tunnel that
was already up when keep started is left as it was) and end it with exit 0.

The library never prints: every state change goes to ``log`` as one line.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from sshjup.errors import PortTaken, SshjupError
from sshjup.models import Target
from sshjup.records import dataclass
from sshjup.ssh import sshconfig, tunnel

BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
TICK = 1.0
START_TIMEOUT = 20.0
BATCH_ARGS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
# ssh's words for "a person must act": retrying cannot help.
_NEEDS_USER = (
    "Permission denied",
    "Host key verification failed",
    "passphrase",
    "REMOTE HOST IDENTIFICATION HAS CHANGED",
    "No ED25519 host key is known",
    "host key is known",
)

Log = Callable[[str], None]


@dataclass
class Kept:
    """One tunnel under watch."""

    target: Target
    state: str = "new"  # new, up, down, needs-user
    opened: bool = False  # keep opened the master now running (so keep closes it)
    backoff: float = BACKOFF_START
    next_try: float = 0.0
    last_reason: str = ""


def next_backoff(current: float) -> float:
    """1, 2, 4, ... 60 (pure)."""
    return min(current * 2, BACKOFF_MAX)


def needs_user(message: str) -> bool:
    """ssh's failure needs a person (passphrase, host key, refused login), not a retry."""
    return any(needle in message for needle in _NEEDS_USER)


def alive(ssh_config: Path, socket_dir: Path | None, target: Target) -> bool:
    """The control socket is there and the Jupyter port accepts connections."""
    if (
        socket_dir is not None
        and not (socket_dir / sshconfig.control_socket_name(target.alias)).exists()
    ):
        return False
    return tunnel.port_accepts(target.local_port)


class Supervisor:
    def __init__(
        self,
        ssh_config: Path,
        targets: Sequence[Target],
        *,
        socket_dir: Path | None,
        log: Log,
        extra_args: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
        on_up: Callable[[Target], Sequence[str]] | None = None,
    ) -> None:
        self.ssh_config = ssh_config
        self.on_up = on_up  # after a tunnel (re)opened: e.g. forward its kernels again
        self.socket_dir = socket_dir
        self.kept = [Kept(t) for t in targets]
        self.log = log
        self.extra_args = (*extra_args, *BATCH_ARGS)
        self.clock = clock
        self.stopping = False

    def _say(self, kept: Kept, state: str, text: str) -> None:
        kept.state = state
        self.log(f"{kept.target.alias}: {text}")

    def _try(self, kept: Kept, now: float) -> None:
        target = kept.target
        try:
            st = tunnel.up(
                target.alias,
                self.ssh_config,
                target.local_port,
                timeout=START_TIMEOUT,
                extra_args=self.extra_args,
                forwards=target.forwards,
            )
        except SshjupError as err:
            reason = str(err).splitlines()[-1] if str(err) else type(err).__name__
            if needs_user(str(err)) and not isinstance(err, PortTaken):
                hint = f"; {err.hint}" if err.hint else ""
                self._say(
                    kept,
                    "needs-user",
                    f"needs you, not retried: {reason}{hint}. Open it once by hand "
                    f"(`sshjup up {target.name}`, or `ssh-add` the key), then restart keep",
                )
                return
            wait = kept.backoff
            kept.next_try = now + wait
            kept.backoff = next_backoff(kept.backoff)
            if reason != kept.last_reason or kept.state != "down":
                self._say(kept, "down", f"down: {reason}; retrying (backoff up to 60 s)")
            kept.last_reason = reason
            return
        kept.opened = True
        kept.backoff = BACKOFF_START
        kept.last_reason = ""
        self._say(kept, "up", f"up: {st.detail}")
        if self.on_up is not None:
            for note in self.on_up(target):
                self.log(f"{target.alias}: {note}")

    def tick(self) -> None:
        now = self.clock()
        for kept in self.kept:
            if self.stopping:
                return
            if kept.state == "needs-user":
                continue
            if kept.state == "up":
                if alive(self.ssh_config, self.socket_dir, kept.target):
                    continue
                kept.opened = False
                kept.next_try = now + BACKOFF_START
                self._say(kept, "down", "down: the ssh master is gone; reconnecting")
                continue
            if kept.state == "new" and alive(self.ssh_config, self.socket_dir, kept.target):
                self._say(kept, "up", "up: already running (keep watches it, leaves it open)")
                continue
            if now >= kept.next_try:
                self._try(kept, now)

    def close(self) -> None:
        for kept in self.kept:
            if not kept.opened:
                continue
            target = kept.target
            try:
                st = tunnel.down(target.alias, self.ssh_config, target.local_port)
                self.log(f"{target.alias}: closed: {st.detail}")
            except SshjupError as err:
                self.log(f"{target.alias}: could not close: {err}")

    def run(self, *, tick: float = TICK) -> int:
        """Until SIGTERM/SIGINT (exit 0), or until every tunnel needs the user (exit 9)."""

        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.stopping = True

        old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self.stopping:
                self.tick()
                if all(k.state == "needs-user" for k in self.kept):
                    self.log("every tunnel needs you: keep stops")
                    return 9
                deadline = self.clock() + tick
                while not self.stopping and self.clock() < deadline:
                    time.sleep(0.1)
            self.log("stopping: closing the tunnels keep opened")
            return 0
        finally:
            self.close()
            for sig, handler in old.items():
                signal.signal(sig, handler)


__all__ = [
    "BACKOFF_MAX",
    "BACKOFF_START",
    "Kept",
    "Supervisor",
    "alive",
    "needs_user",
    "next_backoff",
]
