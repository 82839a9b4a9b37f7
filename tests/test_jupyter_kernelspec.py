"""The kernelspec route without a network: kernel.json, the front end's connection file, the
remote wrapper, the route choice (the Unix/Windows seam) and the launcher driven by fakes."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sshjup.cli import cli
from sshjup.errors import Conflict, InvalidInput, NotFound, ToolMissing
from sshjup.hosts import Where
from sshjup.jupyter import kernelops, kernels, launcher
from sshjup.models import JupyterSpec, Target
from sshjup.ssh.sshconfig import Capabilities
from tests.support.net import free_port

UNIX = Capabilities(True, True, True, "9.2")
WINDOWS = Capabilities(True, False, False, "9.5")
KEY = "0123abcd-4567-89ef-0123-456789abcdef"
PORTS = dict(zip(kernels.CHANNELS, range(40001, 40006), strict=True))


def _frontend_text(**over: Any) -> str:
    data: dict[str, Any] = {
        **{f"{ch}_port": p for ch, p in PORTS.items()},
        "ip": "127.0.0.1",
        "key": KEY,
        "transport": "tcp",
        "signature_scheme": "hmac-sha256",
        "kernel_name": "jup-gpu",
    }
    data.update(over)
    return json.dumps({k: v for k, v in data.items() if v is not None})


# -- kernel.json --------------------------------------------------------------------------------


def test_launcher_argv_runs_sshjup_itself_with_the_connection_file_placeholder() -> None:
    assert kernels.launcher_argv("/py", "gpu") == [
        "/py",
        "-m",
        "sshjup",
        "kernel",
        "run",
        "gpu",
        "--connection-file",
        "{connection_file}",
    ]
    argv = kernels.launcher_argv(
        "/py", "gpu", spec="ir", jupyter_cmd="/opt/j/bin/jupyter", ssh_config="/c/cfg"
    )
    assert argv[6:] == [
        "--kernel",
        "ir",
        "--jupyter-cmd",
        "/opt/j/bin/jupyter",
        "--ssh-config",
        "/c/cfg",
        "--connection-file",
        "{connection_file}",
    ]


def test_kernelspec_json_has_argv_display_name_language_and_message_interrupts() -> None:
    argv = kernels.launcher_argv("/py", "gpu")
    data = json.loads(
        kernels.render_kernelspec(argv, display_name="GPU", alias="jup-gpu", remote_kernel=None)
    )
    assert data == {
        "argv": argv,
        "display_name": "GPU",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {"sshjup": {"alias": "jup-gpu", "remote_kernel": None}, "debugger": False},
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("display_name", "two\nlines"), ("display_name", " "), ("language", "py\x1b[2J")],
)
def test_kernelspec_refuses_control_characters_and_empty_names(field: str, value: str) -> None:
    kwargs: dict[str, Any] = {"display_name": "GPU", "language": "python", field: value}
    with pytest.raises(InvalidInput):
        kernels.render_kernelspec(["/py"], alias="jup-gpu", **kwargs)


def test_kernelspec_refuses_an_unknown_interrupt_mode() -> None:
    with pytest.raises(InvalidInput):
        kernels.render_kernelspec(
            ["/py"], display_name="x", alias="jup-gpu", interrupt_mode="telepathy"
        )


def test_data_dir_rules_without_jupyter_core() -> None:
    home = Path("/home/a")
    assert kernels.default_data_dir({"JUPYTER_DATA_DIR": "/d"}, home, "linux") == Path("/d")
    assert kernels.default_data_dir({}, home, "linux") == home / ".local/share/jupyter"
    assert kernels.default_data_dir({"XDG_DATA_HOME": "/x"}, home, "linux") == Path("/x/jupyter")
    assert kernels.default_data_dir({}, home, "darwin") == home / "Library/Jupyter"
    assert kernels.default_data_dir({"APPDATA": "C:/A"}, home, "win32") == Path("C:/A/jupyter")


# -- the front end's connection file ----------------------------------------------------------------


def test_frontend_connection_file_gives_ports_key_and_scheme() -> None:
    fe = kernels.parse_frontend(_frontend_text())
    assert (fe.key, fe.signature_scheme, fe.ports) == (KEY, "hmac-sha256", PORTS)


@pytest.mark.parametrize(
    "over",
    [
        {"transport": "ipc"},
        {"ip": "0.0.0.0"},  # noqa: S104 (what is refused)
        {"shell_port": 0},
        {"hb_port": None},
        {"iopub_port": "40002"},
        {"key": ""},
        {"key": "x$(reboot)y12345"},
        {"key": "abc\ndef-12345"},
        {"signature_scheme": "none; rm -rf"},
    ],
)
def test_frontend_connection_file_is_refused_when_unusable(over: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as err:
        kernels.parse_frontend(_frontend_text(**over))
    assert KEY not in str(err.value)


def test_frontend_connection_file_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidInput):
        kernels.parse_frontend("not json")


# -- the remote wrapper ------------------------------------------------------------------------


def test_launch_script_reads_the_key_from_stdin_and_never_holds_it() -> None:
    d = kernels.launch_dir("0123456789abcdef")
    script = kernels.launch_script("/opt/j/jupyter", "python3", d, "hmac-sha256")
    assert KEY not in script
    assert "IFS= read -r key" in script
    assert '--Session.keyfile="$d/key"' in script
    assert "--KernelManager.transport=ipc" in script
    assert "--kernel=python3" in script
    assert "--KernelManager.hb_port=5" in script
    assert (
        script.index(kernels.SEND_KEY) < script.index("read -r key") < script.index(kernels.READY)
    )
    # EOF on stdin (the launcher went away) ends in stop(), which removes the directory.
    assert script.rstrip().endswith("done\nstop\nexit 0")
    assert 'rm -rf "$d"' in script


def test_launch_script_refuses_hostile_values() -> None:
    d = kernels.launch_dir("0123456789abcdef")
    with pytest.raises(InvalidInput):
        kernels.launch_script("jupyter", "py; reboot", d, "hmac-sha256")
    with pytest.raises(InvalidInput):
        kernels.launch_script("jupyter", None, d, "hmac-sha256 --x")
    with pytest.raises(InvalidInput):
        kernels.launch_dir("../../etc")


def test_launch_specs_forward_the_front_ends_ports_to_the_five_sockets() -> None:
    d = kernels.launch_dir("0123456789abcdef")
    assert kernels.launch_specs(PORTS, d) == [
        f"127.0.0.1:{PORTS[ch]}:{d}/k-{n}" for n, ch in enumerate(kernels.CHANNELS, start=1)
    ]


# -- the route: the seam between Unix and Windows' OpenSSH ---------------------------------------


@pytest.mark.parametrize(
    ("control_master", "master_running", "route"),
    [
        (True, True, "tunnel"),
        (True, False, "own"),
        (False, False, "direct"),
        (False, True, "direct"),
    ],
)
def test_route_choice(control_master: bool, master_running: bool, route: str) -> None:
    assert (
        kernels.choose_route(control_master=control_master, master_running=master_running) == route
    )


def _where(tmp_path: Path) -> Where:
    return Where(tmp_path / "config", tmp_path / "inv.yaml")


def _target() -> Target:
    return Target("gpu", "gpu.example.org", jupyter=JupyterSpec(kind="server"))


def _plan(tmp_path: Path, caps: Capabilities, running: bool) -> launcher.Plan:
    fe = kernels.parse_frontend(_frontend_text())
    return launcher.plan(
        _where(tmp_path),
        _target(),
        fe,
        caps=caps,
        master_running=running,
        launch_id="0123456789abcdef",
        socket_dir=tmp_path,
    )


def _options(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "-o"]


def test_windows_plan_is_one_ssh_with_the_five_forwards_and_no_multiplexing(
    tmp_path: Path,
) -> None:
    p = _plan(tmp_path, WINDOWS, running=False)
    assert p.route == "direct"
    assert p.socket is None
    forwards = [p.argv[i + 1] for i, a in enumerate(p.argv) if a == "-L"]
    assert forwards == p.specs
    assert len(forwards) == len(kernels.CHANNELS)
    opts = _options(p.argv)
    assert "ControlMaster=no" in opts
    assert "ControlPath=none" in opts
    assert "ClearAllForwardings=yes" not in opts  # (it would clear the -L forwards too)
    assert "ExitOnForwardFailure=no" in opts
    assert not any(o.startswith("ForkAfterAuthentication") for o in opts)  # not on Windows
    assert p.argv[-3:] == ["jup-gpu", "sh", "-s"]


def test_unix_plan_rides_on_the_running_tunnel(tmp_path: Path) -> None:
    p = _plan(tmp_path, UNIX, running=True)
    assert p.route == "tunnel"
    assert "-L" not in p.argv
    opts = _options(p.argv)
    assert "ControlMaster=no" in opts
    assert not any(o.startswith("ControlPath") for o in opts)  # the config's: the master
    assert "ClearAllForwardings=yes" in opts


def test_unix_plan_without_a_tunnel_is_a_private_master(tmp_path: Path) -> None:
    p = _plan(tmp_path, UNIX, running=False)
    assert p.route == "own"
    assert p.socket == str(tmp_path / "sshjup-kr-0123456789abcdef")
    opts = _options(p.argv)
    assert {"ControlMaster=yes", f"ControlPath={p.socket}", "ControlPersist=no"} <= set(opts)
    assert "ClearAllForwardings=yes" in opts
    assert "-L" not in p.argv


def test_kernel_start_and_attach_need_a_control_master() -> None:
    kernelops.require_master(control_master=True)
    with pytest.raises(ToolMissing) as err:
        kernelops.require_master(control_master=False)
    assert "kernelspec install" in (err.value.hint or "")


# -- the launcher on the Windows route, with a fake ssh --------------------------------------------


class _FakeStdin:
    def __init__(self, child: _FakeSsh) -> None:
        self.child = child
        self.closed = False

    def write(self, data: bytes) -> int:
        self.child.on_input(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        self.child.finish()


class _FakeSsh:
    """Plays the remote wrapper: SEND_KEY after the script, READY after the key line; then
    relays nothing and ends when its stdin is closed (as the real one does on EOF)."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = list(argv)
        self.pid = 4242
        self.returncode: int | None = None
        self.received = b""
        self.lines_after_script: list[str] = []
        r, w = os.pipe()
        self.stdout = os.fdopen(r, "rb")
        self._out = os.fdopen(w, "wb")
        self.stdin = _FakeStdin(self)
        self._done = threading.Event()

    def _say(self, line: str) -> None:
        self._out.write(line.encode() + b"\n")
        self._out.flush()

    def on_input(self, data: bytes) -> None:
        self.received += data
        if data.endswith(b"stop\nexit 0\n"):
            self._say(kernels.SEND_KEY)
            return
        self.lines_after_script.append(data.decode())
        if len(self.lines_after_script) == 1:
            self._say(kernels.READY)
            threading.Timer(0.2, self.finish).start()  # the kernel exits on its own

    def finish(self) -> None:
        if not self._done.is_set():
            self._done.set()
            self._out.close()

    def wait(self, timeout: float | None = None) -> int:
        self._done.wait(timeout)
        self.returncode = 0
        return 0

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.finish()

    kill = terminate


def test_launcher_on_windows_runs_one_ssh_with_forwards_and_sends_the_key_on_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cf = tmp_path / "kernel-x.json"
    cf.write_text(_frontend_text())
    spawned: list[_FakeSsh] = []

    def spawn(argv: list[str], **_: Any) -> _FakeSsh:
        spawned.append(_FakeSsh(argv))
        return spawned[-1]

    def no_mux(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("no multiplexing on Windows")

    monkeypatch.setattr(launcher.hosts, "get_target", lambda where, name: _target())
    monkeypatch.setattr(launcher.openssh, "capabilities", lambda: WINDOWS)
    monkeypatch.setattr(launcher.proc, "spawn", spawn)
    for name in ("status", "forward", "forward_on", "cancel"):
        monkeypatch.setattr(launcher.tunnel, name, no_mux)
    said: list[str] = []
    code = launcher.run(_where(tmp_path), "gpu", cf, log=said.append)
    assert code == 0
    [child] = spawned
    assert KEY not in " ".join(child.argv)
    assert child.argv.count("-L") == len(kernels.CHANNELS)
    assert child.lines_after_script == [KEY + "\n"]
    assert child.stdin.closed
    assert any("direct route" in line for line in said)
    assert not any(KEY in line for line in said)


# -- install / uninstall through the CLI ------------------------------------------------------------


@pytest.fixture
def managed(ssh_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(
        cli, ["add", "gpu.example.org", "--user", "alice", "--local-port", str(free_port())]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "data" / "kernels" / "jup-gpu"


def test_install_writes_kernel_json_with_the_ssh_config_and_uninstall_removes_it(
    managed: Path, ssh_config: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["kernelspec", "install", "gpu", "--display-name", "GPU box", "--kernel", "python3"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((managed / "kernel.json").read_text())
    assert data["display_name"] == "GPU box"
    assert "--ssh-config" not in data["argv"]  # ~/.ssh/config: ssh's own default
    assert data["argv"][data["argv"].index("--kernel") + 1] == "python3"
    result = CliRunner().invoke(cli, ["kernelspec", "uninstall", "gpu"])
    assert result.exit_code == 0, result.output
    assert not managed.exists()
    result = CliRunner().invoke(cli, ["kernelspec", "uninstall", "gpu"])
    assert result.exit_code == NotFound.exit_code


def test_install_leaves_a_kernelspec_it_did_not_write_alone(managed: Path) -> None:
    managed.mkdir(parents=True)
    foreign = '{"argv": ["python"], "display_name": "mine", "language": "python"}\n'
    (managed / "kernel.json").write_text(foreign)
    for args in (["install", "gpu"], ["uninstall", "gpu"]):
        result = CliRunner().invoke(cli, ["kernelspec", *args])
        assert result.exit_code == Conflict.exit_code, result.output
        assert (managed / "kernel.json").read_text() == foreign


def test_install_for_an_unknown_host_exits_4_and_writes_nothing(managed: Path) -> None:
    result = CliRunner().invoke(cli, ["kernelspec", "install", "nope"])
    assert result.exit_code == NotFound.exit_code
    assert not managed.parent.exists()


def test_install_refuses_a_hostile_kernel_name_and_writes_nothing(managed: Path) -> None:
    result = CliRunner().invoke(cli, ["kernelspec", "install", "gpu", "--kernel", "a b"])
    assert result.exit_code == InvalidInput.exit_code
    assert not managed.parent.exists()


def test_install_for_another_ssh_config_names_it_in_the_launcher_argv(
    managed: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-config"
    args = ["--ssh-config", str(other)]
    add = ["add", "box.example.org", "--name", "box", "--local-port", str(free_port())]
    assert CliRunner().invoke(cli, [*add, *args]).exit_code == 0
    result = CliRunner().invoke(cli, ["kernelspec", "install", "box", *args, "--json"])
    assert result.exit_code == 0, result.output
    argv = json.loads(result.stdout)["argv"]
    assert argv[argv.index("--ssh-config") + 1] == str(other)


def test_kernel_run_without_the_connection_file_exits_4(managed: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["kernel", "run", "gpu", "--connection-file", str(tmp_path / "nope.json")]
    )
    assert result.exit_code == NotFound.exit_code
    assert "does not exist" in result.stderr


def test_kernel_run_with_an_unusable_connection_file_exits_2_without_the_key(
    managed: Path, tmp_path: Path
) -> None:
    cf = tmp_path / "kernel.json"
    cf.write_text(_frontend_text(transport="ipc"))
    result = CliRunner().invoke(cli, ["kernel", "run", "gpu", "--connection-file", str(cf)])
    assert result.exit_code == InvalidInput.exit_code
    assert KEY not in result.output + result.stderr


# -- launcher kernels in `kernel list` and `kernel stop` --------------------------------------------

DEAD_PID = 2**22 + 1  # (above Linux's largest pid_max: no such process)


def _launch(launch_id: str, pid: int, pid_start: str | None, route: str = "own") -> dict[str, Any]:
    d = kernels.launch_dir(launch_id)
    return {
        "alias": "jup-gpu",
        "launch_id": launch_id,
        "pid": pid,
        "route": route,
        "specs": kernels.launch_specs(PORTS, d),
        "local_ports": PORTS,
        "connection_file": "/nonexistent/kernel-fe.json",
        "kernel_name": None,
        "started": 1.0,
        "pid_start": pid_start,
    }


LIVE_ID, STALE_ID, STALE_TUNNEL_ID = "1" * 16, "2" * 16, "3" * 16


@pytest.fixture
def launches(managed: Path) -> list[dict[str, Any]]:
    from sshjup.store import state

    recs = [
        _launch(LIVE_ID, os.getpid(), launcher._own_start()),
        _launch(STALE_ID, DEAD_PID, None),
        _launch(STALE_TUNNEL_ID, DEAD_PID, None, route="tunnel"),
    ]
    state.update(lambda st: st.launches.extend(recs))
    return recs


def _launch_ids() -> list[str]:
    from sshjup.store import state

    return [str(r["launch_id"]) for r in state.load().launches]


def test_launcher_alive_tells_a_reused_pid_and_a_dead_one_apart() -> None:
    start = launcher._own_start()
    if start is None:
        pytest.skip("no /proc here: the start time cannot be read")
    assert launcher.launcher_alive(os.getpid(), start) is True
    assert launcher.launcher_alive(os.getpid(), str(int(start) + 1)) is False  # reused pid
    assert launcher.launcher_alive(DEAD_PID) is False


def test_kernel_list_shows_launcher_kernels_and_marks_the_stale_ones(
    launches: list[dict[str, Any]],
) -> None:
    result = CliRunner().invoke(cli, ["kernel", "list", "gpu"])
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert len(rows) == 3
    live = next(r for r in rows if LIVE_ID in r)
    assert live.split()[2] == "alive"
    assert f"launcher pid {os.getpid()}, own route (its front end owns it)" in live
    assert next(r for r in rows if STALE_TUNNEL_ID in r).split()[2] == "stale"
    assert "tunnel route" in next(r for r in rows if STALE_TUNNEL_ID in r)
    assert "`sshjup kernel stop gpu --all`" in result.stderr
    listed = json.loads(CliRunner().invoke(cli, ["kernel", "list", "--json"]).stdout)
    assert [(k["kernel_id"], k["owner"], k["alive"], k["forwarded"]) for k in listed] == [
        (LIVE_ID, "launcher", True, False),
        (STALE_ID, "launcher", False, False),
        (STALE_TUNNEL_ID, "launcher", False, False),
    ]
    assert {k["launcher_pid"] for k in listed} == {os.getpid(), DEAD_PID}
    assert listed[0]["remote_dir"] == kernels.launch_dir(LIVE_ID)
    assert _launch_ids() == [LIVE_ID, STALE_ID, STALE_TUNNEL_ID]  # listing changes nothing
    assert KEY not in result.output + json.dumps(listed)


def test_kernel_stop_all_removes_stale_launcher_records_and_leaves_running_ones(
    launches: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cancelled: list[str] = []
    monkeypatch.setattr(launcher.tunnel, "cancel", lambda cfg, alias, spec: cancelled.append(spec))
    result = CliRunner().invoke(cli, ["kernel", "stop", "gpu", "--all"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Removed the record of kernel {STALE_ID} on jup-gpu (stale).",
        f"Removed the record of kernel {STALE_TUNNEL_ID} on jup-gpu (stale).",
    ]
    assert f"left kernel {LIVE_ID} on jup-gpu running: a front end owns it" in result.stderr
    assert cancelled == launches[2]["specs"]  # only the tunnel route left forwards behind
    assert _launch_ids() == [LIVE_ID]


def test_kernel_stop_id_of_a_running_launcher_kernel_exits_3_and_keeps_it(
    launches: list[dict[str, Any]],
) -> None:
    result = CliRunner().invoke(cli, ["kernel", "stop", "gpu", LIVE_ID])
    assert result.exit_code == Conflict.exit_code
    assert f"launcher (pid {os.getpid()}) runs" in result.stderr
    assert "editor or notebook" in result.stderr
    assert _launch_ids() == [LIVE_ID, STALE_ID, STALE_TUNNEL_ID]
    result = CliRunner().invoke(cli, ["kernel", "stop", "gpu", STALE_ID])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Removed the record of kernel {STALE_ID} on jup-gpu (stale).\n"
    assert _launch_ids() == [LIVE_ID, STALE_TUNNEL_ID]
    result = CliRunner().invoke(cli, ["kernel", "stop", "gpu", "4" * 16])
    assert result.exit_code == NotFound.exit_code


def test_launcher_records_itself_while_it_runs_and_the_next_one_drops_stale_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the direct route (the fake ssh): the record exists while the kernel runs, holds no
    key, and a dead launcher's record is gone after the next launch."""
    from sshjup.store import state

    state.update(lambda st: st.launches.append(_launch(STALE_ID, DEAD_PID, None)))
    cf = tmp_path / "kernel-x.json"
    cf.write_text(_frontend_text())
    seen: list[list[dict[str, Any]]] = []

    class _Watching(_FakeSsh):
        def finish(self) -> None:
            if not self._done.is_set():
                seen.append(list(state.load().launches))
            super().finish()

    monkeypatch.setattr(launcher.hosts, "get_target", lambda where, name: _target())
    monkeypatch.setattr(launcher.openssh, "capabilities", lambda: WINDOWS)
    monkeypatch.setattr(launcher.proc, "spawn", lambda argv, **_: _Watching(argv))
    assert launcher.run(_where(tmp_path), "gpu", cf, kernel="python3") == 0
    [during] = seen
    [rec] = during
    assert (rec["route"], rec["pid"], rec["local_ports"]) == ("direct", os.getpid(), PORTS)
    assert rec["connection_file"] == str(cf.absolute())
    assert rec["kernel_name"] == "python3"
    assert KEY not in json.dumps(rec)
    assert state.load().launches == []


def test_a_sigterm_during_the_launchers_clean_up_does_not_cut_it_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the tunnel route the launcher's clean-up cancels its forwards on the master and drops
    its record. A front end that finds it slow to exit sends SIGTERM (jupyter_client does after
    half its shutdown wait); the launcher's own handler must still be the one then (the default
    would end it with the forwards and the record left behind), and be restored after."""
    import signal

    from sshjup.ssh.tunnel import TunnelStatus
    from sshjup.store import state

    cf = tmp_path / "kernel-x.json"
    cf.write_text(_frontend_text())
    handlers: list[object] = []

    def cancel(cfg: Path, alias: str, spec: str) -> None:
        handlers.append(signal.getsignal(signal.SIGTERM))

    def update(change: Any) -> Any:
        handlers.append(signal.getsignal(signal.SIGTERM))
        return real_update(change)

    real_update = state.update
    running = TunnelStatus("jup-gpu", True, 1, True, "", 8888, ())
    monkeypatch.setattr(launcher.hosts, "get_target", lambda where, name: _target())
    monkeypatch.setattr(launcher.openssh, "capabilities", lambda: UNIX)
    monkeypatch.setattr(launcher.tunnel, "status", lambda *a, **k: running)
    monkeypatch.setattr(launcher.tunnel, "forward", lambda cfg, alias, spec: None)
    monkeypatch.setattr(launcher.tunnel, "cancel", cancel)
    monkeypatch.setattr(launcher.state, "update", update)
    monkeypatch.setattr(launcher, "SHELL_DELAY", 0.0)
    monkeypatch.setattr(launcher.proc, "spawn", lambda argv, **_: _FakeSsh(argv))
    before = signal.getsignal(signal.SIGTERM)
    said: list[str] = []
    assert launcher.run(_where(tmp_path), "gpu", cf, log=said.append) == 0
    assert any("tunnel route" in line for line in said)
    # The record's addition, the five cancels and the record's removal all ran under the
    # launcher's handler; then the one from before is back.
    assert len(handlers) == 1 + len(kernels.CHANNELS) + 1
    assert before not in handlers
    assert len(set(map(id, handlers))) == 1
    assert signal.getsignal(signal.SIGTERM) == before
    assert state.load().launches == []


def test_a_launcher_that_cannot_be_told_alive_is_kept_by_all_and_removed_by_its_id(
    launches: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows' answer (None: os.kill would end the process there), faked: `--all` and the
    listing keep the record; naming its id removes it."""
    monkeypatch.setattr(launcher, "launcher_alive", lambda pid, start=None: None)
    monkeypatch.setattr(launcher.tunnel, "cancel", lambda *a: None)
    listed = CliRunner().invoke(cli, ["kernel", "list", "gpu"])
    assert [r.split()[2] for r in listed.stdout.splitlines()] == ["unknown"] * 3
    result = CliRunner().invoke(cli, ["kernel", "stop", "gpu", "--all"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"`sshjup kernel stop gpu {STALE_ID}` removes it if it is gone" in result.stderr
    assert _launch_ids() == [LIVE_ID, STALE_ID, STALE_TUNNEL_ID]
    result = CliRunner().invoke(cli, ["kernel", "stop", "gpu", STALE_ID])
    assert result.exit_code == 0, result.output
    assert _launch_ids() == [LIVE_ID, STALE_TUNNEL_ID]


def test_the_stale_record_hints_name_the_ssh_config_the_command_ran_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --ssh-config OTHER (spaces and all), the suggested commands carry it, quoted:
    without it they would look for the host in ~/.ssh/config."""
    from sshjup.store import state

    other = tmp_path / "my configs" / "config"
    other.parent.mkdir()
    added = CliRunner().invoke(
        cli,
        ["add", "gpu.example.org", "--local-port", str(free_port()), "--ssh-config", str(other)],
    )
    assert added.exit_code == 0, added.output
    state.update(
        lambda st: st.launches.extend(
            [_launch(STALE_ID, DEAD_PID, None), _launch(LIVE_ID, os.getpid(), None)]
        )
    )
    flag = f"--ssh-config '{other}'"
    listed = CliRunner().invoke(cli, ["kernel", "list", "gpu", "--ssh-config", str(other)])
    assert listed.exit_code == 0, listed.output
    assert f"`sshjup kernel stop gpu --all {flag}` (or the next launcher)" in listed.stderr
    monkeypatch.setattr(launcher, "launcher_alive", lambda pid, start=None: None)
    stopped = CliRunner().invoke(
        cli, ["--ssh-config", str(other), "kernel", "stop", "gpu", "--all"]
    )
    assert stopped.exit_code == 0, stopped.output
    assert f"`sshjup kernel stop gpu {STALE_ID} {flag}` removes it if it is gone" in stopped.stderr


def test_the_shell_channel_is_forwarded_last() -> None:
    """A front end that sends code once shell answers (jupyter console) must find IOPub
    forwarded already, or the first output is lost."""
    specs = kernels.launch_specs(PORTS, kernels.launch_dir("0123456789abcdef"))
    order = launcher.forward_order(specs)
    assert sorted(order) == sorted(specs)
    assert order[-1] == specs[0]
    assert specs[0].startswith(f"127.0.0.1:{PORTS['shell']}:")
    assert order[0].startswith(f"127.0.0.1:{PORTS['iopub']}:")


# -- a removed host takes its kernels with it ---------------------------------------------------

KERNEL_ID = "0a1b2c3d"


@pytest.fixture
def fake_launcher() -> Any:
    """A process standing in for a running launcher (SIGTERM ends it), with its /proc start."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stat = launcher._proc_stat(child.pid)
        if stat is None:
            pytest.skip("no /proc here: a launcher's identity cannot be checked")
        yield child, stat[1]
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def _detached(alias: str = "jup-gpu") -> dict[str, Any]:
    return {
        "alias": alias,
        "kernel_id": KERNEL_ID,
        "remote_dir": "/tmp/sshjup-k.Xy12ab34",
        "pid": 4242,
        "local_ports": PORTS,
        "remote_ports": PORTS,
        "connection_file": "/nonexistent/kernel-jup-gpu-0a1b2c3d.json",
    }


def _all_records() -> tuple[list[str], list[str]]:
    from sshjup.store import state

    st = state.load()
    return [str(k["kernel_id"]) for k in st.kernels], [str(r["launch_id"]) for r in st.launches]


def test_remove_stops_the_hosts_kernels_and_removes_every_record_of_it(
    managed: Path, fake_launcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sshjup import hosts
    from sshjup.store import state

    child, start = fake_launcher
    other = {**_launch("5" * 16, DEAD_PID, None), "alias": "jup-cpu"}
    recs = [_launch(LIVE_ID, child.pid, start), _launch(STALE_ID, DEAD_PID, None), other]
    state.update(lambda st: (st.launches.extend(recs), st.kernels.append(_detached())))
    asked: list[tuple[str, str, bool]] = []

    def run_script(alias: str, cfg: Path, script: str, **_: Any) -> Any:
        managed_now = "gpu" in {t.name for t in hosts.list_targets(hosts.Where.locate())}
        asked.append((alias, script, managed_now))
        return None

    monkeypatch.setattr(kernelops.remote, "run_script", run_script)
    monkeypatch.setattr(kernelops.tunnel, "cancel", lambda *a: None)
    monkeypatch.setattr(launcher.tunnel, "cancel", lambda *a: None)

    preview = CliRunner().invoke(cli, ["remove", "gpu", "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert f"would stop kernel {KERNEL_ID} on jup-gpu" in preview.stdout
    assert (
        f"would stop kernel {LIVE_ID} on jup-gpu (its launcher, pid {child.pid})" in preview.stdout
    )
    assert child.poll() is None and asked == []
    assert _all_records() == ([KERNEL_ID], [LIVE_ID, STALE_ID, "5" * 16])

    result = CliRunner().invoke(cli, ["remove", "gpu"])
    assert result.exit_code == 0, result.output
    [(alias, script, managed_then)] = asked
    assert (alias, managed_then) == ("jup-gpu", True)  # stopped while the alias still resolved
    assert "p=4242" in script and "/tmp/sshjup-k.Xy12ab34" in script
    assert child.wait(timeout=10) == -15  # the launcher got SIGTERM
    assert f"Stopped kernel {KERNEL_ID} on jup-gpu." in result.stdout
    assert f"Stopped kernel {LIVE_ID} on jup-gpu (its launcher ended)." in result.stdout
    assert f"Removed the record of kernel {STALE_ID} on jup-gpu (stale)." in result.stdout
    assert _all_records() == ([], ["5" * 16])  # another host's record stays


def test_remove_signals_no_launcher_it_cannot_tell_apart_from_a_reused_pid(
    managed: Path, fake_launcher: Any
) -> None:
    from sshjup.store import state

    child, start = fake_launcher
    wrong = str(int(start) + 1)  # the pid was reused by another process
    unknown = _launch(STALE_ID, child.pid, None)  # no start time recorded (no /proc there)
    state.update(lambda st: st.launches.extend([_launch(LIVE_ID, child.pid, wrong), unknown]))
    result = CliRunner().invoke(cli, ["remove", "gpu", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert f"Removed the record of kernel {LIVE_ID} on jup-gpu (stale)." in out["tunnel"]
    assert any(STALE_ID in w and "cannot tell whether its launcher" in w for w in out["warnings"])
    assert child.poll() is None  # never signalled
    assert _all_records() == ([], [])


def test_a_refused_remove_stops_no_kernel(
    managed: Path, fake_launcher: Any, ssh_config: Path
) -> None:
    from sshjup.store import state

    child, start = fake_launcher
    state.update(lambda st: st.launches.append(_launch(LIVE_ID, child.pid, start)))
    ssh_config.write_text(ssh_config.read_text().replace("HostName gpu.example.org", "HostName x"))
    result = CliRunner().invoke(cli, ["remove", "gpu"])
    assert result.exit_code == 3, result.output  # a hand edit of the section
    assert child.poll() is None
    assert _all_records() == ([], [LIVE_ID])


def test_kernel_list_marks_the_records_of_a_removed_host_and_stop_all_clears_them(
    managed: Path, fake_launcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records left by an older sshjup (or a library caller of hosts.remove_target): listed as
    removed, with no ssh to the alias (it no longer names the host), and cleared by stop."""
    from sshjup import hosts
    from sshjup.store import state

    child, start = fake_launcher
    hosts.remove_target(hosts.Where.locate(), "gpu")
    state.update(
        lambda st: (
            st.launches.extend(
                [_launch(LIVE_ID, child.pid, start), _launch(STALE_ID, DEAD_PID, None)]
            ),
            st.kernels.append(_detached()),
        )
    )

    def no_ssh(*a: Any, **k: Any) -> Any:
        raise AssertionError("ssh to the alias of a removed host")

    monkeypatch.setattr(kernelops.remote, "run_script", no_ssh)
    listed = CliRunner().invoke(cli, ["kernel", "list"])
    assert listed.exit_code == 0, listed.output
    rows = listed.stdout.splitlines()
    assert len(rows) == 3 and all(r.split()[2] == "removed" for r in rows)
    assert "removed: jup-gpu is no longer a managed host" in listed.stderr
    assert "`sshjup kernel stop gpu --all` ends what is left of them" in listed.stderr
    assert "stale:" not in listed.stderr
    shown = json.loads(CliRunner().invoke(cli, ["kernel", "list", "gpu", "--json"]).stdout)
    assert [(k["kernel_id"], k["managed"]) for k in shown] == [
        (KERNEL_ID, False),
        (LIVE_ID, False),
        (STALE_ID, False),
    ]
    assert shown[0]["alive"] is None
    assert _all_records() == ([KERNEL_ID], [LIVE_ID, STALE_ID])  # listing changes nothing

    stopped = CliRunner().invoke(cli, ["kernel", "stop", "gpu", "--all"])
    assert stopped.exit_code == 0, stopped.output
    assert child.wait(timeout=10) == -15
    assert f"Stopped kernel {LIVE_ID} on jup-gpu (its launcher ended)." in stopped.stdout
    assert "KernelApp (pid 4242, /tmp/sshjup-k.Xy12ab34) was not stopped" in stopped.stderr
    assert _all_records() == ([], [])
    again = CliRunner().invoke(cli, ["kernel", "stop", "gpu", "--all"])
    assert again.exit_code == NotFound.exit_code  # nothing left: an unknown host again


def test_records_of_another_ssh_config_are_not_taken_for_a_removed_host(
    managed: Path, tmp_path: Path, fake_launcher: Any
) -> None:
    from sshjup.store import state

    child, start = fake_launcher
    theirs = {**_launch(LIVE_ID, child.pid, start), "ssh_config": str(tmp_path / "other")}
    state.update(lambda st: st.launches.append(theirs))
    result = CliRunner().invoke(cli, ["remove", "gpu"])
    assert result.exit_code == 0, result.output
    assert child.poll() is None
    listed = CliRunner().invoke(cli, ["kernel", "list"])
    assert listed.stdout.split()[2] == "alive" and "removed" not in listed.stderr
    assert _all_records() == ([], [LIVE_ID])


def test_apply_prune_without_click_ends_the_kernels_of_the_hosts_it_removes(
    managed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sshjup apply FILE --prune --yes` runs without click (sshjup/cli/fast.py): a pruned
    host's kernel records go with it there too, and another host's stay."""
    import io
    import sys

    from sshjup.cli import fast
    from sshjup.store import state

    other = {**_launch("5" * 16, DEAD_PID, None), "alias": "jup-cpu"}
    state.update(lambda st: st.launches.extend([_launch(STALE_ID, DEAD_PID, None), other]))
    monkeypatch.setattr(launcher.tunnel, "cancel", lambda *a: None)
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # (no terminal: nothing to ask)
    keep = tmp_path / "keep.yaml"
    keep.write_text("version: 1\nhosts:\n  cpu:\n    hostname: cpu.example.org\n")
    assert fast.parse_apply(["apply", str(keep), "--prune", "--yes"]) is not None
    assert fast.run(["apply", str(keep), "--prune", "--yes"]) == 0
    assert _all_records() == ([], ["5" * 16])
