"""The pure part of remote kernels: scripts, the local connection file, names, Jupyter dirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sshjup.errors import InvalidInput, RemoteCommandFailed
from sshjup.jupyter import kernels

REMOTE = {
    "shell_port": 1,
    "iopub_port": 2,
    "stdin_port": 3,
    "control_port": 4,
    "hb_port": 5,
    "ip": "/tmp/sshjup-k.abc/k",
    "key": "secret-key-0123456789",
    "transport": "ipc",
    "signature_scheme": "hmac-sha256",
    "kernel_name": "python3",
}


def _printed(info: dict[str, object]) -> str:
    return "\n".join(
        ["pid=123", "dir=/tmp/sshjup-k.abc", kernels.JSON_BEGIN, json.dumps(info), kernels.JSON_END]
    )


def test_local_connection_file_is_tcp_on_loopback_with_the_local_ports_and_the_same_key() -> None:
    ports = dict(zip(kernels.CHANNELS, range(40001, 40006), strict=True))
    data = json.loads(kernels.local_connection(REMOTE, ports))
    assert data["transport"] == "tcp"
    assert data["ip"] == "127.0.0.1"
    assert [data[f"{c}_port"] for c in kernels.CHANNELS] == list(range(40001, 40006))
    assert data["key"] == REMOTE["key"]
    assert data["signature_scheme"] == "hmac-sha256"


def test_parse_started_reads_pid_dir_and_the_remote_connection_file() -> None:
    started = kernels.parse_started(_printed(REMOTE))
    assert (started.pid, started.remote_dir) == (123, "/tmp/sshjup-k.abc")
    assert started.remote_ports() == dict(zip(kernels.CHANNELS, range(1, 6), strict=True))


@pytest.mark.parametrize("change", [{"transport": "tcp"}, {"key": None}])
def test_parse_started_refuses_a_connection_file_it_cannot_forward(
    change: dict[str, object],
) -> None:
    info = {k: v for k, v in {**REMOTE, **change}.items() if v is not None}
    with pytest.raises(RemoteCommandFailed):
        kernels.parse_started(_printed(info))


def test_forward_spec_is_a_loopback_port_to_the_remote_unix_socket() -> None:
    assert kernels.forward_spec(40001, "/tmp/d", 3) == "127.0.0.1:40001:/tmp/d/k-3"


def test_connection_file_name_is_what_jupyter_console_existing_finds() -> None:
    assert kernels.connection_file_name("jup-gpu", "0a1b2c3d") == "kernel-jup-gpu-0a1b2c3d.json"
    with pytest.raises(InvalidInput):
        kernels.connection_file_name("jup-gpu", "../x")


@pytest.mark.parametrize("bad", ["", "a b", "x;rm -rf ~", "-k", "py\n3"])
def test_a_kernelspec_name_that_is_not_a_name_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        kernels.check_spec(bad)


def test_the_start_script_uses_unix_sockets_in_a_private_dir_and_quotes_the_command() -> None:
    script = kernels.start_script("/opt/my venv/bin/jupyter", "python3")
    assert "umask 077" in script
    assert "--KernelManager.transport=ipc" in script
    assert "'/opt/my venv/bin/jupyter' kernel --kernel=python3" in script
    assert "key" not in script


def test_the_stop_script_only_signals_the_pid_whose_cwd_is_the_kernel_dir() -> None:
    script = kernels.stop_script(4242, "/tmp/sshjup-k.abc")
    assert "readlink /proc/$p/cwd" in script
    assert "kill -TERM $p" in script
    with pytest.raises(RemoteCommandFailed):
        kernels.stop_script(1, "/tmp/../etc")


def test_runtime_dir_rules_without_jupyter_core() -> None:
    home = Path("/h")
    assert kernels.default_runtime_dir({"JUPYTER_RUNTIME_DIR": "/r"}, home, "linux") == Path("/r")
    assert kernels.default_runtime_dir({"JUPYTER_DATA_DIR": "/d"}, home, "linux") == Path(
        "/d/runtime"
    )
    assert kernels.default_runtime_dir({"XDG_DATA_HOME": "/x"}, home, "linux") == Path(
        "/x/jupyter/runtime"
    )
    assert kernels.default_runtime_dir({}, home, "linux") == Path("/h/.local/share/jupyter/runtime")
    assert kernels.default_runtime_dir({}, home, "darwin") == Path("/h/Library/Jupyter/runtime")
    assert kernels.default_runtime_dir({"APPDATA": "/a"}, home, "win32") == Path(
        "/a/jupyter/runtime"
    )


def test_runtime_dir_honours_jupyter_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "rt"))
    assert kernels.runtime_dir() == tmp_path / "rt"


def test_kernel_cli_without_kernels_lists_nothing_and_stop_needs_an_id_or_all(
    ssh_config: Path,
) -> None:
    from click.testing import CliRunner

    from sshjup.cli import cli

    ssh_config.write_text("")
    added = CliRunner().invoke(cli, ["add", "gpu.example.org", "--user", "alice"])
    assert added.exit_code == 0, added.output + added.stderr
    before = ssh_config.read_bytes()
    listed = CliRunner().invoke(cli, ["kernel", "list", "--json"])
    assert (listed.exit_code, json.loads(listed.stdout)) == (0, [])
    both = CliRunner().invoke(cli, ["kernel", "stop", "gpu"])
    assert both.exit_code == 2
    assert "give either a kernel id or --all" in both.stderr
    unknown = CliRunner().invoke(cli, ["kernel", "stop", "gpu", "0a1b2c3d"])
    assert unknown.exit_code == 4
    assert "sshjup kernel list gpu" in unknown.stderr
    assert ssh_config.read_bytes() == before
