"""After a command that only reads and prints, the console script ends the process without the
interpreter's teardown (sshjup.cli.main, ``READ_ONLY_COMMANDS``): same output, same exit code.

Each run happens twice: as the console script is installed (nothing registered at exit, so
the early end applies) and with an ``atexit`` callback registered (the interpreter's own exit,
as before). An object in ``__main__`` tells which one happened: its finalizer runs only in the
interpreter's teardown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sshjup.cli.app import COMMANDS, READ_ONLY_COMMANDS

ROOT = Path(__file__).resolve().parent.parent
TEARDOWN = b"<teardown ran>"
SCRIPT = (
    "import os, sys\n"
    "class Witness:\n"
    "    def __del__(self):\n"
    f"        os.write(2, {TEARDOWN!r})\n"
    "witness = Witness()\n"
    "if os.environ.get('HARNESS'):\n"
    "    import atexit\n"
    "    atexit.register(lambda: None)\n"
    "from sshjup.cli import main\n"
    "sys.argv[0] = 'sshjup'\n"
    "main()\n"
)
TOKEN = "0123456789abcdef" * 2


def _run(argv: list[str], *, harness: bool) -> tuple[int, bytes, bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SSHJUP_TOKEN": TOKEN}
    if harness:
        env["HARNESS"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def two_hosts(ssh_config: Path) -> None:
    for name, port in (("box0", "9000"), ("box1", "9001")):
        code, _, err = _run(["add", name, "--no-putty", "--local-port", port], harness=False)
        assert code == 0, err


@pytest.mark.usefixtures("two_hosts")
@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["list"], 0),
        (["list", "--json"], 0),
        (["url", "--no-check", "box0"], 0),
        (["url", "--no-check", "--json", "box1"], 0),
        (["url", "nope"], 4),
        (["export"], 0),
        (["completion", "bash"], 0),
        (["--help"], 0),
        (["list", "--help"], 0),
        (["--version"], 0),
        (["lisst"], 2),
        (["list", "--bogus"], 2),
    ],
)
def test_a_read_only_command_ends_early_with_the_same_output(argv: list[str], code: int) -> None:
    early = _run(argv, harness=False)
    usual = _run(argv, harness=True)
    assert early[0] == code, early[2]
    assert TEARDOWN not in early[2]  # ended without the teardown
    assert usual[2].endswith(TEARDOWN)  # the interpreter's own exit
    assert early == (usual[0], usual[1], usual[2].removesuffix(TEARDOWN))


@pytest.mark.usefixtures("two_hosts")
@pytest.mark.parametrize("argv", [["status"], ["up", "--help"], ["remove", "nope"]])
def test_any_other_command_exits_through_the_interpreter(argv: list[str]) -> None:
    code, _, err = _run(argv, harness=False)
    assert err.endswith(TEARDOWN), (code, err)


def test_the_read_only_commands_are_commands() -> None:
    assert set(COMMANDS) >= READ_ONLY_COMMANDS
