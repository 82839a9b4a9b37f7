"""`sshjup kernelspec install` and its launcher `sshjup kernel run`, driven by stock front ends.

jupyter_client's KernelManager (what JupyterLab, Zed's and emacs-jupyter's Python side and
nbclient use) starts the `jup-NAME` kernelspec, runs code as the remote account, interrupts,
restarts and shuts it down; nbclient executes a notebook on it; a SIGKILLed launcher takes
its remote kernel with it. Real sshd, real remote ipykernel, no fakes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import remote_jupyter
from tests.support.procs import PtyOutput, descendants_of, pid_alive
from tests.support.remote_jupyter import (
    ProcessStartRecorder,
    ProcSampler,
    RemoteHost,
    files_holding,
    invoke,
    remote_user,
)

remote_account = remote_jupyter.remote_account
remote_host = remote_jupyter.remote_host

jupyter_client = pytest.importorskip("jupyter_client")

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 60


@pytest.fixture
def jupyter_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """JUPYTER_DATA_DIR and JUPYTER_RUNTIME_DIR in temp dirs (the front end's and sshjup's)."""
    data, runtime = tmp_path / "jupyter-data", tmp_path / "jupyter-runtime"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    return data, runtime


def _install(host: RemoteHost, *extra: str) -> dict[str, Any]:
    out = invoke(
        "kernelspec",
        "install",
        host.name,
        "--jupyter-cmd",
        str(host.dirs.command),
        *extra,
        "--json",
    )
    return dict(json.loads(out.stdout))


def _remote_pids_with(text: str) -> list[int]:
    """PIDs of the remote account whose command line names ``text`` (our kernel's dir)."""
    import pwd

    uid = pwd.getpwnam(remote_user()).pw_uid
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != uid:
                continue
            if text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def _ppid(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _family(remote_dir: str) -> set[int]:
    """The kernel's remote processes (KernelApp, the kernel: their argv names the dir), the
    wrapper shell that started them (KernelApp's parent) and everything below that shell."""
    named = _remote_pids_with(remote_dir)
    shells = {_ppid(p) for p in named} - {0, 1}
    return {*named, *shells, *(d for sh in shells for d in descendants_of(sh))}


def _wait_gone(remote_dir: str, family: set[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = {p for p in family if pid_alive(p)}
        if not Path(remote_dir).exists() and not alive and not _remote_pids_with(remote_dir):
            return
        time.sleep(0.1)
    assert not Path(remote_dir).exists(), f"{remote_dir} is still there"
    assert not _remote_pids_with(remote_dir), "a remote process of the kernel is still running"
    assert not {p for p in family if pid_alive(p)}, "the remote wrapper is still running"


def _execute(kc: Any, code: str, timeout: float = 30) -> tuple[dict[str, Any], str]:
    chunks: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        content = msg["content"]
        if msg["msg_type"] == "stream":
            chunks.append(str(content["text"]))
        elif msg["msg_type"] == "execute_result":
            chunks.append(str(content["data"]["text/plain"]))
        elif msg["msg_type"] == "error":
            chunks.append(str(content["ename"]))

    reply = kc.execute_interactive(code, output_hook=hook, timeout=timeout)
    return reply["content"], "".join(chunks).strip()


def _remote_dir(kc: Any) -> str:
    content, out = _execute(
        kc,
        "from ipykernel.kernelapp import IPKernelApp; "
        "import os; print(os.path.dirname(IPKernelApp.instance().connection_file))",
    )
    assert content["status"] == "ok", content
    assert out.startswith("/tmp/sshjup-r."), out
    return out


@contextlib.contextmanager
def _manager(log: Path) -> Iterator[Any]:
    km = jupyter_client.KernelManager(kernel_name="jup-jr")
    with log.open("ab") as sink:  # (open for restarts too)
        km.start_kernel(stdout=sink, stderr=sink)
        try:
            yield km
        finally:
            if km.has_kernel:
                with contextlib.suppress(Exception):
                    km.shutdown_kernel(now=True)


def _client(km: Any) -> Any:
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=READY_TIMEOUT)
    return kc


@pytest.mark.parametrize("route", ["own", "tunnel"])
def test_kernelspec_runs_interrupts_restarts_and_shuts_down_a_remote_kernel(
    remote_host: RemoteHost, jupyter_dirs: tuple[Path, Path], tmp_path: Path, route: str
) -> None:
    data, _runtime = jupyter_dirs
    if route == "tunnel":
        invoke("up", remote_host.name)
    info = _install(remote_host)
    spec_file = data / "kernels" / "jup-jr" / "kernel.json"
    assert info["directory"] == str(spec_file.parent)
    spec = json.loads(spec_file.read_text())
    assert spec["argv"][1:6] == ["-m", "sshjup", "kernel", "run", "jr"]
    assert spec["argv"][-2:] == ["--connection-file", "{connection_file}"]
    assert spec["interrupt_mode"] == "message"
    assert (
        jupyter_client.kernelspec.KernelSpecManager().get_kernel_spec("jup-jr").argv
        == (spec["argv"])
    )

    log = tmp_path / "launcher.log"
    sampler = ProcSampler()
    sampler.start()
    recorder = ProcessStartRecorder()
    recorder.start()
    environs: list[bytes] = []
    with _manager(log) as km:
        key = km.session.key.decode()
        kc = _client(km)
        try:
            content, out = _execute(kc, "import getpass; print(getpass.getuser())")
            assert (content["status"], out) == ("ok", remote_user())
            first_dir = _remote_dir(kc)
            first_family = _family(first_dir)
            for pid in first_family:  # the remote processes' environment
                with contextlib.suppress(OSError):
                    environs.append((Path("/proc") / str(pid) / "environ").read_bytes())
            assert len(first_family) >= 3, "wrapper, KernelApp, kernel"
            assert os.stat(first_dir).st_mode & 0o777 == 0o700
            assert f"({route} route)" in log.read_text()

            # Interrupt a time.sleep(60): KeyboardInterrupt within 10 s.
            assert _interrupt_sleep(km, kc) < 10
            content, out = _execute(kc, "1+1")
            assert out == "2"

            # Restart: a fresh remote kernel; the old one and its dir are gone.
            content, _ = _execute(kc, "x = 42")
            km.restart_kernel(now=False)
            kc.stop_channels()
            kc = _client(km)
            content, out = _execute(kc, "print('x' in dir())")
            assert out == "False"
            second_dir = _remote_dir(kc)
            second_family = _family(second_dir)
            assert second_dir != first_dir
            _wait_gone(first_dir, first_family)
        finally:
            kc.stop_channels()
        launcher = km.provisioner.process.pid
        ssh_session = descendants_of(launcher)
        assert ssh_session, "the launcher's ssh"
        km.shutdown_kernel(now=False)
        assert not pid_alive(launcher)
        _wait_gone(second_dir, second_family)
        assert not [p for p in ssh_session if pid_alive(p)]
    sampler.stop()
    recorder.stop()

    # Nothing of the kernel is left on the remote; the forwards on the tunnel are cancelled.
    if route == "tunnel":
        assert (
            json.loads((Path(os.environ["SSHJUP_HOME"]) / "state.json").read_text()).get(
                "launches", []
            )
            == []
        )
    # The key never reached an argv (local or remote: /proc of this machine), output or file.
    assert sampler.rounds > 0
    assert not [c for c in sampler.cmdlines if key.encode() in c]
    assert recorder.events, "the launcher's start was recorded"
    assert not [e for e in recorder.events if key in repr(e)]  # argv and env of local starts
    assert environs
    assert not [e for e in environs if key.encode() in e]
    assert key not in log.read_text()
    assert files_holding(Path(os.environ["SSHJUP_HOME"]), {"key": key}) == {"key": []}
    assert files_holding(data, {"key": key}) == {"key": []}

    invoke("kernelspec", "uninstall", remote_host.name)
    assert not spec_file.parent.exists()
    with pytest.raises(jupyter_client.kernelspec.NoSuchKernel):
        jupyter_client.kernelspec.KernelSpecManager().get_kernel_spec("jup-jr")


def test_nbclient_executes_a_notebook_on_the_remote_kernel(
    remote_host: RemoteHost, jupyter_dirs: tuple[Path, Path]
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    _install(remote_host)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import getpass\nuser = getpass.getuser()"),
        nbformat.v4.new_code_cell("print(user, 6 * 7)"),
    ]
    client = nbclient.NotebookClient(nb, kernel_name="jup-jr", timeout=60, startup_timeout=60)
    client.execute()
    outputs = nb.cells[1].outputs
    assert [o.get("text", "").strip() for o in outputs] == [f"{remote_user()} 42"]


def test_sigkill_of_the_launcher_takes_the_remote_kernel_with_it(
    remote_host: RemoteHost, jupyter_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    invoke("up", remote_host.name)
    _install(remote_host)
    with _manager(tmp_path / "launcher.log") as km:
        kc = _client(km)
        try:
            remote_dir = _remote_dir(kc)
        finally:
            kc.stop_channels()
        family = _family(remote_dir)
        assert family
        launcher = km.provisioner.process.pid
        ssh_session = descendants_of(launcher)
        os.kill(launcher, signal.SIGKILL)
        start = time.monotonic()
        _wait_gone(remote_dir, family, timeout=10)
        assert time.monotonic() - start < 10
        deadline = time.monotonic() + 10  # the orphaned ssh ends with its session
        while [p for p in ssh_session if pid_alive(p)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in ssh_session if pid_alive(p)]
    # The killed launcher's forwards on the tunnel are cancelled by the next launcher.
    launches = json.loads((Path(os.environ["SSHJUP_HOME"]) / "state.json").read_text())
    assert len(launches.get("launches", [])) == 1
    with _manager(tmp_path / "launcher2.log") as km:
        kc = _client(km)
        try:
            _content, out = _execute(kc, "6 * 7")
            assert out == "42"
        finally:
            kc.stop_channels()
        km.shutdown_kernel(now=False)
    state = json.loads((Path(os.environ["SSHJUP_HOME"]) / "state.json").read_text())
    assert state.get("launches", []) == []


def _interrupt_sleep(km: Any, kc: Any) -> float:
    """Run time.sleep(60), interrupt it; seconds until the KeyboardInterrupt reply."""
    msg_id = kc.execute("import time; time.sleep(60)")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if kc.get_iopub_msg(timeout=10)["msg_type"] == "execute_input":
            break
    time.sleep(0.5)
    start = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=10)
    while reply["parent_header"].get("msg_id") != msg_id:  # (a kernel_info reply before it)
        reply = kc.get_shell_msg(timeout=max(start + 10 - time.monotonic(), 0.1))
    assert (reply["content"]["status"], reply["content"]["ename"]) == ("error", "KeyboardInterrupt")
    return time.monotonic() - start


def test_signal_interrupt_mode_relays_sigint_to_the_remote_kernel(
    remote_host: RemoteHost, jupyter_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    """With interrupt_mode signal the front end sends the launcher SIGINT; it is relayed as a
    line on ssh's stdin, and the remote wrapper signals the kernel's process group."""
    _install(remote_host, "--interrupt-mode", "signal")
    with _manager(tmp_path / "launcher.log") as km:
        assert km.kernel_spec.interrupt_mode == "signal"
        kc = _client(km)
        try:
            assert _interrupt_sleep(km, kc) < 10
            assert _execute(kc, "6 * 7")[1] == "42"  # the kernel lives on
        finally:
            kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_launcher_exits_when_the_remote_kernel_exits(
    remote_host: RemoteHost, jupyter_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    _install(remote_host)
    km = jupyter_client.KernelManager(kernel_name="jup-jr", autorestart=False)
    with (tmp_path / "launcher.log").open("ab") as sink:
        km.start_kernel(stdout=sink, stderr=sink)
        try:
            kc = _client(km)
            try:
                remote_dir = _remote_dir(kc)
                family = _family(remote_dir)
                kc.execute("import os; os._exit(0)")
            finally:
                kc.stop_channels()
            deadline = time.monotonic() + 10
            while km.is_alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not km.is_alive(), "the launcher outlived its kernel"
            _wait_gone(remote_dir, family)
        finally:
            if km.is_alive():
                km.shutdown_kernel(now=True)
            km.cleanup_resources()


def test_kernel_run_with_no_jupyter_on_the_remote_exits_8_and_leaves_nothing(
    remote_host: RemoteHost, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from sshjup.cli import cli

    def dirs() -> set[str]:
        return {str(p) for p in Path("/tmp").glob("sshjup-r.*")}

    before = dirs()
    cf = tmp_path / "kernel-x.json"
    km = jupyter_client.KernelManager()  # only to write a connection file as a front end does
    km.connection_file = str(cf)
    km.write_connection_file()
    key = json.loads(cf.read_text())["key"]
    result = CliRunner().invoke(
        cli,
        [
            "kernel",
            "run",
            remote_host.name,
            "--jupyter-cmd",
            "/nonexistent/bin/jupyter",
            "--connection-file",
            str(cf),
        ],
    )
    assert result.exit_code == 8, result.output
    assert "did not start" in result.stderr
    assert key not in result.output + result.stderr
    assert dirs() <= before


def test_direct_route_of_windows_runs_over_one_ssh_with_five_forwards(
    remote_host: RemoteHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route Windows' OpenSSH takes (no ControlMaster), run here against the real sshd:
    one ssh carries the five -L forwards and the session; with the tunnel up, the Host block's
    own Jupyter forward only warns, and the tunnel keeps serving."""
    import threading

    from sshjup.hosts import Where
    from sshjup.jupyter import launcher
    from sshjup.ssh.sshconfig import Capabilities

    invoke("up", remote_host.name)
    no_mux = Capabilities(True, True, False, "9.2")  # (ForkAfterAuthentication=no still needed)
    monkeypatch.setattr(launcher.openssh, "capabilities", lambda: no_mux)
    km = jupyter_client.KernelManager()
    km.connection_file = str(tmp_path / "kernel-direct.json")
    km.write_connection_file()
    spawned: list[list[str]] = []
    real_spawn = launcher.proc.spawn

    def spawn(argv: list[str], **kw: Any) -> Any:
        spawned.append(list(argv))
        return real_spawn(argv, **kw)

    monkeypatch.setattr(launcher.proc, "spawn", spawn)
    result: dict[str, Any] = {}
    said: list[str] = []
    ready = threading.Event()

    def log(line: str) -> None:
        said.append(line)
        if line.endswith(" ready"):
            ready.set()

    def run() -> None:
        try:
            result["code"] = launcher.run(
                Where.locate(),
                remote_host.name,
                Path(km.connection_file),
                jupyter_cmd=str(remote_host.dirs.command),
                log=log,
            )
        except Exception as err:
            result["error"] = err
        finally:
            ready.set()  # (ended before the kernel was ready: the assertion below says so)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    # Connect at once, as a front end does: on this route ssh binds the five local ports before
    # the remote kernel exists (its early connects are opened and closed by ssh).
    kc = jupyter_client.BlockingKernelClient(connection_file=km.connection_file)
    kc.load_connection_file()
    kc.start_channels()
    try:
        # A bare client's only sign of life is the heartbeat, which fails until the remote
        # kernel runs, and wait_for_ready takes that for a dead kernel: wait for the launcher
        # to say the kernel is ready, as a KernelManager's client waits on its launcher.
        assert ready.wait(READY_TIMEOUT), ("no ready within the timeout", said)
        assert thread.is_alive(), (result, said)
        kc.wait_for_ready(timeout=READY_TIMEOUT)
        content, out = _execute(kc, "import getpass; print(getpass.getuser())")
        assert out == remote_user(), (content, result)
        remote_dir = _remote_dir(kc)
        family = _family(remote_dir)
        [argv] = spawned
        assert argv.count("-L") == 5
        assert "ControlPath=none" in argv
        status = json.loads(invoke("status", remote_host.name, "--json").stdout)
        assert status[0]["port_open"], "the tunnel's own port still serves"
        kc.shutdown()
    finally:
        kc.stop_channels()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the launcher did not exit with its kernel"
    assert result == {"code": 0}
    _wait_gone(remote_dir, family)


def test_tunnel_down_ends_the_launchers_kernel_and_leaves_nothing(
    remote_host: RemoteHost, jupyter_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    """On the tunnel route the session rides on the master: `sshjup down` ends it, the remote
    wrapper stops the kernel, and the launcher exits (a front end then restarts it)."""
    invoke("up", remote_host.name)
    _install(remote_host)
    km = jupyter_client.KernelManager(kernel_name="jup-jr", autorestart=False)
    with (tmp_path / "launcher.log").open("ab") as sink:
        km.start_kernel(stdout=sink, stderr=sink)
        try:
            kc = _client(km)
            try:
                remote_dir = _remote_dir(kc)
                family = _family(remote_dir)
            finally:
                kc.stop_channels()
            invoke("down", remote_host.name)
            deadline = time.monotonic() + 20
            while km.is_alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not km.is_alive(), "the launcher outlived its tunnel"
            _wait_gone(remote_dir, family)
        finally:
            if km.is_alive():
                km.shutdown_kernel(now=True)
            km.cleanup_resources()
    state = json.loads((Path(os.environ["SSHJUP_HOME"]) / "state.json").read_text())
    assert state.get("launches", []) == []


def test_kernel_list_shows_a_launcher_kernel_and_stop_all_cleans_its_stale_record(
    remote_host: RemoteHost,
    jupyter_dirs: tuple[Path, Path],
    tmp_path: Path,
    memory_keyring: object,
) -> None:
    """A front end's kernel is listed (owner launcher, its pid, route, forwards) with no key
    in the output or the state; SIGKILL of the launcher leaves a stale record whose forwards
    still sit on the tunnel's master; `kernel stop NAME --all` cancels them and drops it."""
    import secrets

    from sshjup.ssh.tunnel import port_accepts

    invoke("up", remote_host.name)
    _install(remote_host)
    token = secrets.token_hex(24)
    invoke("token", "set", remote_host.name, input=token + "\n")
    state_file = Path(os.environ["SSHJUP_HOME"]) / "state.json"
    with _manager(tmp_path / "launcher.log") as km:
        key = km.session.key.decode()
        kc = _client(km)
        try:
            remote_dir = _remote_dir(kc)
        finally:
            kc.stop_channels()
        launcher = km.provisioner.process.pid
        listed = json.loads(invoke("kernel", "list", remote_host.name, "--json").stdout)
        [entry] = listed
        assert (entry["owner"], entry["route"], entry["launcher_pid"]) == (
            "launcher",
            "tunnel",
            launcher,
        )
        assert (entry["alive"], entry["forwarded"], entry["file_exists"]) == (True, True, True)
        assert entry["connection_file"] == km.connection_file
        assert entry["remote_dir"] == remote_dir
        assert entry["local_ports"] == {
            ch: getattr(km, f"{ch}_port") for ch in ("shell", "iopub", "stdin", "control", "hb")
        }
        text = invoke("kernel", "list", remote_host.name)
        assert f"launcher pid {launcher}, tunnel route" in text.stdout
        # Secrets: neither the kernel key nor the host's token in the listing, state or logs.
        outputs = json.dumps(listed) + text.output + text.stderr
        needles = {"key": key, "token": token}
        for secret in needles.values():
            assert secret not in outputs
            assert secret not in state_file.read_text()
            assert secret not in (tmp_path / "launcher.log").read_text()
        assert files_holding(Path(os.environ["SSHJUP_HOME"]), needles) == {
            "key": [],
            "token": [],
        }

        family = _family(remote_dir)
        os.kill(launcher, signal.SIGKILL)
        _wait_gone(remote_dir, family, timeout=10)
        ports = list(entry["local_ports"].values())
        [stale] = json.loads(invoke("kernel", "list", remote_host.name, "--json").stdout)
        assert (stale["kernel_id"], stale["alive"]) == (entry["kernel_id"], False)
        assert stale["forwarded"], "the killed launcher's forwards are still on the master"
        text = invoke("kernel", "list", remote_host.name)
        assert "stale" in text.stdout
        assert f"`sshjup kernel stop {remote_host.name} --all`" in text.stderr

        stopped = invoke("kernel", "stop", remote_host.name, "--all")
        assert stopped.stdout == (
            f"Removed the record of kernel {entry['kernel_id']} on {remote_host.alias} (stale).\n"
        )
        assert not [p for p in ports if port_accepts(p, timeout=0.3)]
        assert json.loads(invoke("kernel", "list", remote_host.name, "--json").stdout) == []
        assert json.loads(state_file.read_text()).get("launches", []) == []
        assert json.loads(invoke("status", remote_host.name, "--json").stdout)[0]["port_open"]


def test_jupyter_console_kernel_jup_name_runs_on_the_remote_and_leaves_nothing(
    remote_host: RemoteHost, jupyter_dirs: tuple[Path, Path]
) -> None:
    """`jupyter console --kernel jup-NAME` (a stock front end, through a pty) launches the
    kernelspec, prints the remote's result, and its `exit` ends launcher and remote kernel."""
    import pty
    import subprocess
    import sys

    pytest.importorskip("jupyter_console")
    _install(remote_host)
    master, slave = pty.openpty()
    console = subprocess.Popen(
        [sys.executable, "-m", "jupyter_console", "--kernel", "jup-jr", "--simple-prompt"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "dumb"},
        close_fds=True,
    )
    os.close(slave)
    out = PtyOutput(master)

    try:
        assert out.read_until(b"In [", 90), out.text()
        os.write(master, b"print('remote:' + __import__('getpass').getuser())\n")
        assert out.read_until(f"remote:{remote_user()}".encode(), 30), out.text()
        [entry] = json.loads(invoke("kernel", "list", remote_host.name, "--json").stdout)
        assert (entry["owner"], entry["alive"], entry["forwarded"]) == ("launcher", True, True)
        family = _family(str(entry["remote_dir"]))
        os.write(master, b"exit\n")
        console.wait(timeout=30)
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()
        os.close(master)
    launcher = int(entry["launcher_pid"])
    deadline = time.monotonic() + 20  # (the console does not wait for it to exit)
    while pid_alive(launcher) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(launcher), "the launcher outlived `exit` in jupyter console"
    _wait_gone(str(entry["remote_dir"]), family)
    assert json.loads(invoke("kernel", "list", remote_host.name, "--json").stdout) == []


@pytest.mark.parametrize("route", ["own", "tunnel"])
def test_remove_ends_the_hosts_launcher_and_detached_kernels_and_their_records(
    remote_host: RemoteHost, jupyter_dirs: tuple[Path, Path], tmp_path: Path, route: str
) -> None:
    """`sshjup remove NAME` with a front end's kernel (through the kernelspec) and a `kernel
    start` kernel running: both remote kernels end, the launcher exits, nothing is recorded."""
    from tests.support.procs import descendants_of as below

    if route == "tunnel":
        invoke("up", remote_host.name)
    _install(remote_host)
    with _manager(tmp_path / "launcher.log") as km:
        kc = _client(km)
        try:
            remote_dir = _remote_dir(kc)
        finally:
            kc.stop_channels()
        family = _family(remote_dir)
        launcher = km.provisioner.process
        assert f"({route} route)" in (tmp_path / "launcher.log").read_text()
        started = json.loads(
            invoke(
                "kernel",
                "start",
                remote_host.name,
                "--jupyter-cmd",
                str(remote_host.dirs.command),
                "--json",
            ).stdout
        )
        detached = {int(started["pid"]), *below(int(started["pid"]))}
        listed = json.loads(invoke("kernel", "list", "--json").stdout)
        assert {k["owner"] for k in listed} == {"sshjup", "launcher"}

        removed = invoke("remove", remote_host.name)
        assert f"Stopped kernel {started['kernel_id']} on {remote_host.alias}." in removed.stdout
        [entry] = [k for k in listed if k["owner"] == "launcher"]
        assert f"Stopped kernel {entry['kernel_id']} on {remote_host.alias}" in removed.stdout
        # Own route: SIGTERM, the launcher's clean end (0). Tunnel route: stopping the master
        # ended its session first (ssh's error: exit 1); it was not signalled while ending.
        assert launcher.wait(timeout=30) == (0 if route == "own" else 1)
        _wait_gone(remote_dir, family, timeout=15)
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in detached) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(pid_alive(p) for p in detached)
        assert not Path(str(started["remote_dir"])).exists()
        assert not Path(str(started["connection_file"])).exists()
        state = json.loads((Path(os.environ["SSHJUP_HOME"]) / "state.json").read_text())
        assert (state.get("kernels", []), state.get("launches", [])) == ([], [])
        assert json.loads(invoke("kernel", "list", "--json").stdout) == []
