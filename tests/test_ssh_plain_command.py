"""The plain ``ssh`` command sshjup shows for a shell (after ``add``, and in the tunnel block's
``RemoteCommand`` message): pasted into a POSIX shell, it must be the same words.

An identity file may hold spaces (and, from Windows, backslashes): ``validate_key_path``
accepts them, so the printed command must quote them.

``plain_ssh_command`` quotes each word with ``shlex.quote`` (a leading ``~/`` stays outside the
quotes, for the shell to expand); ``refusal_command`` then turns each ``'`` of the message into ``'\\''``,
as the message sits inside ``sh -c '...'``.
"""

from __future__ import annotations

import shlex
import subprocess

import pytest
from click.testing import CliRunner

from sshjup.cli import cli
from sshjup.models import Target
from sshjup.ssh import sshconfig
from tests.support.net import free_port

KEYS = [
    "/home/alice/my keys/id_ed25519",
    "C:\\Users\\Alice Smith\\.ssh\\id_ed25519",
    "~/keys/a  b/id",  # (two spaces: a shell would fold them into one separator)
]


def _target(key: str, **over: object) -> Target:
    return Target("gpu", "gpu.example.org", user="alice", port=2222, identity_file=key, **over)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", KEYS)
def test_the_plain_command_is_the_same_words_when_a_shell_reads_it(key: str) -> None:
    command = sshconfig.plain_ssh_command(_target(key))
    assert shlex.split(command) == ["ssh", "-p", "2222", "-i", key, "alice@gpu.example.org"]


def test_a_plain_command_without_shell_characters_is_unchanged() -> None:
    target = Target("gpu", "gpu.example.org", user="alice", identity_file="~/.ssh/id_ed25519")
    assert sshconfig.plain_ssh_command(target) == "ssh -i ~/.ssh/id_ed25519 alice@gpu.example.org"


@pytest.mark.parametrize("key", KEYS)
def test_the_tunnel_blocks_refusal_names_a_command_that_pastes_right(key: str) -> None:
    """The RemoteCommand as the login shell runs it (OpenSSH turns %% into %), locally."""
    remote_command = sshconfig.refusal_command(_target(key)).replace("%%", "%")
    cp = subprocess.run(
        ["sh", "-c", remote_command], capture_output=True, text=True, timeout=10, check=False
    )
    assert cp.returncode == 0, cp.stderr
    command = cp.stderr.strip().rpartition(" use: ")[2]
    assert shlex.split(command) == ["ssh", "-p", "2222", "-i", key, "alice@gpu.example.org"]


def test_add_prints_the_plain_command_quoted(ssh_config: object) -> None:
    key = KEYS[0]
    result = CliRunner().invoke(
        cli,
        [
            "add",
            "alice@gpu.example.org:2222",
            "--identity-file",
            key,
            "--local-port",
            str(free_port()),
        ],
    )
    assert result.exit_code == 0, result.output
    [line] = [x for x in result.stdout.splitlines() if x.startswith("For a shell")]
    command = line.removeprefix("For a shell, files and editors: ").partition(" (or ")[0]
    assert shlex.split(command) == ["ssh", "-p", "2222", "-i", key, "alice@gpu.example.org"]
