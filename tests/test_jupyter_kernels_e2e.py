"""`sshjup kernel start|list|attach|stop` against the real sshd and a real remote ipykernel.

A stock jupyter_client.BlockingKernelClient (and `jupyter console --existing`) on the local
connection file runs code as the remote account; the kernel opens no TCP port on the remote.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sshjup.cli import cli
from tests.support import remote_jupyter
from tests.support.procs import PtyOutput, descendants_of, pid_alive, stop_pid
from tests.support.remote_jupyter import (
    ProcessStartRecorder,
    ProcSampler,
    RemoteHost,
    files_holding,
    invoke,
    remote_user,
)
from tests.test_cli_json_shapes import assert_same_shape, documented_examples

# Fixtures (tests/support/remote_jupyter.py); remote_host uses remote_account.
remote_account = remote_jupyter.remote_account
remote_host = remote_jupyter.remote_host

jupyter_client = pytest.importorskip("jupyter_client")

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remote_host: RemoteHost
) -> Iterator[Path]:
    """The local Jupyter runtime dir; every kernel of the host is stopped afterwards."""
    path = tmp_path / "jupyter-runtime"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(path))
    yield path
    CliRunner().invoke(cli, ["kernel", "stop", remote_host.name, "--all"])


def _start(host: RemoteHost) -> dict[str, object]:
    out = invoke("kernel", "start", host.name, "--jupyter-cmd", str(host.dirs.command), "--json")
    return json.loads(out.stdout)


def _run(cf: str, code: str) -> str:
    client = jupyter_client.BlockingKernelClient(connection_file=cf)
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        chunks: list[str] = []

        def hook(msg: dict[str, object]) -> None:
            content = msg["content"]
            assert isinstance(content, dict)
            if msg["msg_type"] == "stream":
                chunks.append(str(content["text"]))
            elif msg["msg_type"] == "execute_result":
                chunks.append(str(content["data"]["text/plain"]))  # type: ignore[index]

        reply = client.execute_interactive(code, output_hook=hook, timeout=30)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(chunks).strip()
    finally:
        client.stop_channels()


def _tcp_listeners(pids: set[int]) -> list[str]:
    out = subprocess.run(["ss", "-ltnpeH"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if any(f"pid={p}," in line for p in pids)]


def _kernel_pids(pid: int) -> set[int]:
    return {pid, *descendants_of(pid)}


def test_kernel_start_runs_code_as_the_remote_account_without_a_remote_tcp_port(
    remote_host: RemoteHost, runtime_dir: Path
) -> None:
    sampler = ProcSampler()
    sampler.start()
    with ProcessStartRecorder() as recorder:
        info = _start(remote_host)
    cf = str(info["connection_file"])
    assert Path(cf).parent == runtime_dir
    assert re.fullmatch(r"kernel-jup-jr-[0-9a-f]{8}\.json", Path(cf).name)
    assert os.stat(cf).st_mode & 0o777 == 0o600
    conn = json.loads(Path(cf).read_text())
    key = conn["key"]
    assert len(key) >= 16
    assert conn["transport"] == "tcp"
    assert conn["ip"] == "127.0.0.1"

    assert _run(cf, "import getpass; print(getpass.getuser())") == remote_user()
    assert _run(cf, "1+1") == "2"

    pid = int(info["pid"])  # type: ignore[call-overload]
    pids = _kernel_pids(pid)
    assert len(pids) >= 2, "KernelApp and its kernel"
    # No channel is a TCP port. The one TCP listener ipykernel opens whatever the transport is
    # its IOPub pipe for forked subprocesses (127.0.0.1, a PULL socket whose messages carry a
    # random 16-byte id): asked from the kernel itself, and nothing else may listen.
    pipe = _run(
        cf,
        "from ipykernel.kernelapp import IPKernelApp; print(IPKernelApp.instance().iopub_thread._pipe_port)",
    )
    listeners = _tcp_listeners(pids)
    assert all(f"127.0.0.1:{pipe} " in line for line in listeners), listeners
    assert len(listeners) <= 1

    assert_same_shape(documented_examples()["sshjup kernel start --json"], info)
    listed = json.loads(invoke("kernel", "list", remote_host.name, "--json").stdout)
    assert_same_shape(documented_examples()["sshjup kernel list [NAME] --json"][0], listed[0])
    assert listed[0]["owner"] == "sshjup"
    shown = invoke("kernel", "list", remote_host.name)
    assert info["kernel_id"] in shown.stdout
    assert key not in json.dumps(listed) + shown.output + shown.stderr
    assert [(k["kernel_id"], k["alive"], k["forwarded"]) for k in listed] == [
        (info["kernel_id"], True, True)
    ]
    stopped = invoke("kernel", "stop", remote_host.name, "--all")
    assert stopped.stdout == f"Stopped kernel {info['kernel_id']} on {remote_host.alias}.\n"
    sampler.stop()
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(p) for p in pids)
    assert not Path(cf).exists()
    assert not Path(str(info["remote_dir"])).exists()
    assert json.loads(invoke("kernel", "list", "--json").stdout) == []

    # The key never reached an argv (local starts, every /proc cmdline), the state or output.
    assert sampler.rounds > 0
    assert not [e for e in recorder.events if key in repr(e)]
    assert not [c for c in sampler.cmdlines if key.encode() in c]
    app = Path(os.environ["SSHJUP_HOME"])
    assert files_holding(app, {"key": key}) == {"key": []}
    assert key not in json.dumps(info)


def test_kernel_keeps_its_state_across_down_up_and_attach(
    remote_host: RemoteHost, runtime_dir: Path
) -> None:
    info = _start(remote_host)
    cf = str(info["connection_file"])
    try:
        assert _run(cf, "x = 42; x") == "42"
        invoke("down", remote_host.name)
        assert not json.loads(invoke("kernel", "list", "--json").stdout)[0]["forwarded"]
        invoke("up", remote_host.name)  # forwards the known kernels again on its own
        assert _run(cf, "x") == "42"
        invoke("down", remote_host.name)
        invoke("kernel", "attach", remote_host.name)  # brings the tunnel up, then forwards
        assert _run(cf, "x") == "42"
    finally:
        invoke("kernel", "stop", remote_host.name, "--all")


def test_keep_forwards_the_kernel_again_each_time_it_reopens_the_tunnel(
    remote_host: RemoteHost, runtime_dir: Path, tmp_path: Path
) -> None:
    info = _start(remote_host)
    cf = str(info["connection_file"])
    invoke("down", remote_host.name)
    log = tmp_path / "keep.log"
    needle = f"jup-{remote_host.name}: kernel {info['kernel_id']} forwarded again"

    def seen(count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.read_text(errors="replace").count(needle) >= count:
                return True
            time.sleep(0.1)
        return False

    with log.open("wb") as out:
        keep = subprocess.Popen(
            [sys.executable, "-m", "sshjup", "keep", remote_host.name],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert seen(1, 60), log.read_text()  # keep opened the tunnel and forwarded the kernel
        assert _run(cf, "x = 42; x") == "42"
        invoke("down", remote_host.name)  # the tunnel dies under keep
        assert seen(2, 60), log.read_text()  # reopened, and the kernel forwarded again
        assert _run(cf, "x") == "42"  # the same kernel, reached again
    finally:
        if keep.poll() is None:
            stop_pid(keep.pid)
        keep.wait(timeout=30)
        invoke("kernel", "stop", remote_host.name, "--all")


def test_jupyter_console_existing_prints_the_remote_result(
    remote_host: RemoteHost, runtime_dir: Path
) -> None:
    pytest.importorskip("jupyter_console")
    info = _start(remote_host)
    cf = str(info["connection_file"])
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "dumb"}
    console = subprocess.Popen(
        [sys.executable, "-m", "jupyter_console", "--existing", Path(cf).name, "--simple-prompt"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    out = PtyOutput(master)
    try:
        assert out.read_until(b"In [", 60), out.text()
        os.write(master, b"print('remote:' + __import__('getpass').getuser())\n")
        assert out.read_until(f"remote:{remote_user()}".encode(), 30), out.text()
        os.write(master, b"exit(keep_kernel=True)\n")
        console.wait(timeout=30)
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()
        os.close(master)
        invoke("kernel", "stop", remote_host.name, "--all")
