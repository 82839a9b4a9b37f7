"""``--remote-socket``, the local part: the model, the Host block as ``ssh -G`` reads it, the
inventory, and the refusal for PuTTY (which cannot forward to a Unix socket).

The remote part (resolving the path, Jupyter on the socket behind a real sshd) is in
tests/test_jupyter_socket_e2e.py; the scripts themselves in tests/test_jupyter_scripts.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sshjup import hosts
from sshjup.cli import cli
from sshjup.errors import InvalidInput, InventoryError
from sshjup.models import Forward, Target, validate_socket_path
from sshjup.ssh import openssh
from sshjup.store import inventory, paths

SOCK = "/home/alice/.local/share/sshjup/run/jupyter-hpc.sock"


def _target(**changes: object) -> Target:
    return Target(
        name="hpc",
        hostname="login.example.org",
        forwards=(Forward(18888, 18889, remote_socket=SOCK),),
        putty=False,
    ).with_changes(**changes)


@pytest.mark.parametrize(
    "bad",
    [
        "relative/j.sock",
        "~/j.sock",
        "/home/a:b/j.sock",
        "/home/%u/j.sock",
        "/home/${USER}/j.sock",
        "/home/a/../j.sock",
        "/home/a/",
        "/home//a.sock",
        "/home/a b.sock",
        "/home/a\n.sock",
        "/" + "x" * 103,
    ],
)
def test_socket_paths_ssh_could_split_expand_or_not_bind_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        validate_socket_path(bad)


def test_only_the_jupyter_forward_can_go_to_a_socket() -> None:
    with pytest.raises(InvalidInput, match="only the Jupyter forward"):
        _target(forwards=(Forward(18888, 18889), Forward(16006, 6006, remote_socket=SOCK)))


def test_the_block_forwards_the_local_port_to_the_socket_as_ssh_resolves_it(
    ssh_config: Path,
) -> None:
    result = hosts.add_target(hosts.Where.locate(None), _target())
    assert result.warnings == []  # add checked the block with ssh -G itself
    assert "    LocalForward 127.0.0.1:18888 " + SOCK + "\n" in ssh_config.read_text()
    resolved = openssh.resolve(ssh_config, "jup-hpc")
    assert resolved.local_forwards == (f"[127.0.0.1]:18888 {SOCK}",)


def test_the_socket_path_is_kept_in_the_inventory_and_read_back(ssh_config: Path) -> None:
    hosts.add_target(hosts.Where.locate(None), _target())
    text = paths.inventory_path().read_text()
    assert f"remote_socket: {SOCK}\n" in text
    assert hosts.get_target(hosts.Where.locate(None), "hpc").remote_socket == SOCK
    bad = text.replace(SOCK, "~/j.sock")
    with pytest.raises(InventoryError, match="remote_socket"):
        inventory.loads(bad, "tunnels.yaml")


def test_a_section_with_a_socket_forward_is_adopted_without_an_inventory(
    ssh_config: Path,
) -> None:
    where = hosts.Where.locate(None)
    hosts.add_target(where, _target())
    paths.inventory_path().unlink()
    assert hosts.get_target(where, "hpc").remote_socket == SOCK


def test_putty_and_a_remote_socket_are_refused_together_and_nothing_is_written(
    ssh_config: Path,
) -> None:
    ssh_config.write_text("Host other\n    HostName other.example.org\n")
    before = ssh_config.read_bytes()
    result = CliRunner().invoke(
        cli, ["add", "login.example.org", "--name", "hpc", "--putty", "--remote-socket"]
    )
    assert result.exit_code == 2, result.output
    assert "PuTTY cannot forward to a Unix socket" in result.stderr
    assert "--no-putty" in result.stderr
    assert "Resolving the socket path" not in result.stderr  # refused before any ssh
    assert ssh_config.read_bytes() == before
    assert not paths.inventory_path().exists()

    with pytest.raises(InvalidInput, match="PuTTY cannot forward"):
        hosts.add_target(hosts.Where.locate(None), _target(putty=True))
    assert ssh_config.read_bytes() == before


def test_turning_putty_on_for_a_socket_host_is_refused(ssh_config: Path) -> None:
    where = hosts.Where.locate(None)
    hosts.add_target(where, _target())
    before = ssh_config.read_bytes(), paths.inventory_path().read_bytes()
    result = CliRunner().invoke(cli, ["edit", "hpc", "--putty"])
    assert result.exit_code == 2, result.output
    assert "PuTTY cannot forward to a Unix socket" in result.stderr
    assert (ssh_config.read_bytes(), paths.inventory_path().read_bytes()) == before


def test_edit_goes_back_to_a_tcp_port(ssh_config: Path) -> None:
    where = hosts.Where.locate(None)
    hosts.add_target(where, _target())
    result = CliRunner().invoke(cli, ["edit", "hpc", "--no-remote-socket"])
    assert result.exit_code == 0, result.output
    assert "LocalForward 127.0.0.1:18888 localhost:18889" in ssh_config.read_text()
    assert hosts.get_target(where, "hpc").remote_socket is None
