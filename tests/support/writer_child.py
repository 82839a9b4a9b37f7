"""A fork server for the SIGKILL test: forks writers that change the ssh config until killed.

Run as ``python tests/support/writer_child.py`` with the test's environment (HOME, SSHJUP_HOME,
SSHJUP_SSH_CONFIG, SSHJUP_CONTROL_DIR). It imports sshjup once, then for every ``go SEED`` line
on stdin forks a writer, prints ``pid PID``, waits for it and prints ``status STATUS``. The
test SIGKILLs the writer by that PID at a random moment; forking keeps each try to a few
milliseconds instead of a whole Python start-up. An empty line or EOF ends the server.

A writer repeats ``add``/``remove`` of the hosts in ``NAMES`` (chosen by a seeded RNG) through
the library, exactly as the CLI does, until it is killed.
"""

from __future__ import annotations

import os
import random
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sshjup import hosts  # noqa: E402 (after the sys.path set-up)
from sshjup.models import Forward, Target  # noqa: E402
from sshjup.ssh import openssh  # noqa: E402

NAMES = ("k0", "k1", "k2", "k3")


def target(name: str) -> Target:
    """The one target each name stands for (the test renders the same ones to check the file)."""
    index = NAMES.index(name)
    return Target(
        name,
        f"{name}.example.org",
        forwards=(Forward(19000 + index, 8889), Forward(16000 + index, 6006)),
        user="alice",
        port=2200 + index,
    )


def write_forever(seed: int) -> None:
    rng = random.Random(seed)
    where = hosts.Where.locate()
    while True:
        name = rng.choice(NAMES)
        if name in hosts.load_inventory(where).hosts:
            hosts.remove_target(where, name)
        else:
            hosts.add_target(where, target(name))


def serve() -> int:
    openssh.capabilities()  # `ssh -V` once here; the forked writers inherit the cache
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "go":
            break
        pid = os.fork()
        if pid == 0:  # the writer: never returns into the server's loop
            code = 1
            try:
                write_forever(int(words[1]))
            except BaseException:  # reported to the test through stderr
                traceback.print_exc()
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"status {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve())
