"""End to end through the CLI: sshjup jupyter/open/url/token against a real Jupyter behind sshd.

Every step is a ``sshjup`` command run in-process with CliRunner, the way a user types it:
``add``, ``jupyter setup``, ``jupyter start``, ``up``, ``url``, ``open``, ``token ...``,
``jupyter status``, ``jupyter stop``, ``down``. The remote is the throwaway sshd logging in as
the unprivileged account of .ci/setup-remote-jupyter.sh, with a real jupyter_server
(tests/support/remote_jupyter.py; ``--jupyter-cmd`` points at a wrapper that gives each test
its own Jupyter config and runtime dirs). Every Jupyter started is stopped, and every tunnel
closed, by the ``remote_account`` fixture (by PID as a last resort).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import keyring
import keyring.core
import pytest
from click.testing import CliRunner, Result
from keyring.backends import fail

from sshjup.cli import cli
from sshjup.store import paths, state
from sshjup.store.tokens import SERVICE
from tests.support import remote_jupyter
from tests.support.memkeyring import MemoryKeyring
from tests.support.net import listening_socket, port_accepts, port_is_free
from tests.support.procs import pid_alive
from tests.support.remote_jupyter import (
    START_TIMEOUT,
    ProcessStartRecorder,
    ProcSampler,
    RemoteAccount,
    RemoteHost,
    files_holding,
    http_status,
    invoke,
)

# Fixtures (tests/support/remote_jupyter.py).
remote_account = remote_jupyter.remote_account

pytestmark = pytest.mark.e2e

TIMEOUT = str(int(START_TIMEOUT))


def run(*args: str, input: str | None = None) -> Result:
    """``sshjup ARGS`` in-process, whatever its exit code."""
    return CliRunner().invoke(cli, list(args), input=input)


def setup(h: RemoteHost) -> Result:
    """``sshjup jupyter setup`` for jupyter_server alone, with the test's ``jupyter``."""
    return invoke("jupyter", "setup", h.name, "--server", "--jupyter-cmd", str(h.dirs.command))


def start(h: RemoteHost, *args: str) -> tuple[dict[str, Any], Result]:
    """``sshjup jupyter start --json``: its JSON (the pid is kept for the cleanup)."""
    started = invoke("jupyter", "start", h.name, "--timeout", TIMEOUT, "--json", *args)
    info: dict[str, Any] = _json(started)
    h.pids.append(info["pid"])
    return info, started


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def error_of(result: Result) -> str:
    """The ``Error: ...`` message and its hint (progress lines before it left out)."""
    return result.stderr[result.stderr.index("Error: ") :]


def api_status(url: str) -> int:
    """GET /api/status with the query (the token) of a URL sshjup printed: does it log in?

    The server root itself answers 200 to anyone (a page that asks for the token), so the
    URL's own status proves little; the API refuses a wrong or missing token with 403.
    """
    base, _, query = url.partition("?")
    assert base.endswith("/")
    return http_status(base + "api/status" + (f"?{query}" if query else ""))


def remote_status(h: RemoteHost) -> dict[str, Any]:
    result = run("jupyter", "status", h.name, "--json")
    assert result.exit_code in (0, 1), result.output + result.stderr
    data: dict[str, Any] = _json(result)
    assert data["running"] is (result.exit_code == 0)
    return data


# -- the whole way, through the CLI ------------------------------------------------------------


def test_cli_sets_up_starts_reaches_and_stops_a_real_jupyter(
    remote_account: RemoteAccount, memory_keyring: MemoryKeyring
) -> None:
    h = remote_account.add("jr")
    [listed] = _json(invoke("list", "--json"))
    assert (listed["alias"], listed["local_port"], listed["remote_port"]) == (
        h.alias,
        h.local_port,
        h.remote_port,
    )

    first = setup(h)
    assert f"+++ {h.config_file}" in first.stdout
    assert first.stdout.endswith(f"Wrote {h.config_file} on the remote.\n")
    assert '"port_retries": 0' in h.config_file.read_text()
    again = invoke("jupyter", "setup", h.name)  # the Jupyter command and kind are remembered
    assert again.stdout == f"Already set up: {h.config_file} has every setting sshjup needs.\n"

    info, started = start(h)
    token = memory_keyring.store[(SERVICE, h.alias)]
    assert memory_keyring.store == {(SERVICE, h.alias): token}
    assert info == {
        "alias": h.alias,
        "remote_port": h.remote_port,
        "pid": info["pid"],
        "token_source": "keyring",
        "log": str(h.log_file),
        "elapsed": info["elapsed"],
    }
    assert f"checking Jupyter on {h.alias}\n" in started.stderr
    assert f"waiting for Jupyter on {h.alias}, remote port {h.remote_port}" in started.stderr
    assert token not in started.output + started.stderr

    # A second server on the same remote port: refused, named, and never moved elsewhere.
    second = run("jupyter", "start", h.name, "--timeout", TIMEOUT)
    assert second.exit_code == 8, second.output + second.stderr
    assert error_of(second).startswith(
        f"Error: remote port {h.remote_port} on {h.alias} is already used by Jupyter Server"
    )
    assert f"(pid {info['pid']})" in second.stderr
    assert "sshjup jupyter stop" in second.stderr
    assert memory_keyring.store == {(SERVICE, h.alias): token}  # the working token is kept
    servers = remote_status(h)["servers"]
    assert [(s["port"], s["pid"], s["ours"]) for s in servers] == [
        (h.remote_port, info["pid"], True)
    ]

    invoke("up", h.name)
    base = f"http://127.0.0.1:{h.local_port}"
    assert http_status(f"{base}/api/status?token={token}") == 200
    assert http_status(f"{base}/api/status", headers={"Authorization": f"token {token}"}) == 200
    assert http_status(f"{base}/api/status") == 403

    url = invoke("url", h.name).stdout.strip()
    assert url == f"{base}/?token={token}"
    assert http_status(url) == 200
    assert api_status(url) == 200
    assert api_status(url.replace(token, "0" * len(token))) == 403

    running = run("jupyter", "status", h.name, "--json")  # beside the open tunnel
    assert running.exit_code == 0, running.output + running.stderr
    assert _json(running) == {
        "alias": h.alias,
        "remote_port": h.remote_port,
        "remote_socket": None,
        "running": True,
        "servers": [
            {"port": h.remote_port, "pid": info["pid"], "root_dir": str(h.dirs.home), "ours": True}
        ],
    }
    assert token not in running.stdout

    stopped = invoke("jupyter", "stop", h.name)
    assert stopped.stdout == f"Stopped Jupyter (pid {info['pid']}).\n"
    assert not pid_alive(info["pid"])
    assert port_is_free(h.remote_port)
    nothing = run("jupyter", "status", h.name)
    assert nothing.exit_code == 1
    assert f"Nothing on the host's remote port {h.remote_port}." in nothing.stdout
    assert invoke("jupyter", "stop", h.name).stdout == (
        "No Jupyter server was running on the remote port.\n"
    )

    invoke("down", h.name)
    assert port_is_free(h.local_port)


def test_start_on_a_remote_port_another_program_holds_fails_and_moves_nowhere(
    remote_account: RemoteAccount, memory_keyring: MemoryKeyring
) -> None:
    h = remote_account.add("jr")
    setup(h)
    with listening_socket(h.remote_port):
        result = run("jupyter", "start", h.name, "--timeout", TIMEOUT)
        assert result.exit_code == 8, result.output + result.stderr
        assert error_of(result).startswith(
            f"Error: remote port {h.remote_port} on {h.alias} is already in use by another "
            "program (Jupyter does not move to another port)\n"
        )
        assert "--remote-port" in result.stderr
        # No server anywhere: not on the port, not on the next one, not on any other.
        assert remote_status(h)["servers"] == []
        assert list(h.dirs.runtime_dir.glob("jpserver-*")) == []
    assert memory_keyring.store == {}  # a token for a server that never came up is not kept


# -- the token precedence chain and the token commands, against the real server ---------------


def test_token_precedence_and_token_commands_reach_the_real_server(
    remote_account: RemoteAccount,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = remote_account.add("jr")
    setup(h)
    start(h)
    token = memory_keyring.store[(SERVICE, h.alias)]
    invoke("up", h.name)
    base = f"http://127.0.0.1:{h.local_port}/?token="

    def url(*extra: str) -> str:
        return invoke("url", h.name, *extra).stdout.strip()

    assert url() == base + token  # the keyring
    assert api_status(url()) == 200
    monkeypatch.setenv("SSHJUP_TOKEN", "not-the-token")  # beats the keyring
    assert url() == base + "not-the-token"
    assert api_status(url()) == 403
    assert url("--token", token) == base + token  # --token beats both
    assert api_status(url("--token", token)) == 200
    monkeypatch.delenv("SSHJUP_TOKEN")

    assert invoke("token", "get", h.name).stdout == token + "\n"
    assert invoke("token", "delete", h.name).stdout == "Deleted.\n"
    missing = run("token", "get", h.name)
    assert missing.exit_code == 4
    assert f"no token is stored for {h.alias}" in missing.stderr
    bare = invoke("url", h.name)
    assert bare.stdout.strip() == f"http://127.0.0.1:{h.local_port}/"
    assert "no token known" in bare.stderr
    assert http_status(f"http://127.0.0.1:{h.local_port}/api/status") == 403

    assert invoke("token", "set", h.name, input=token + "\n").stdout == "Stored in the keyring.\n"
    assert memory_keyring.store == {(SERVICE, h.alias): token}
    assert invoke("token", "get", h.name).stdout == token + "\n"
    assert api_status(url()) == 200

    invoke("jupyter", "stop", h.name)
    invoke("down", h.name)


# -- no keyring backend ------------------------------------------------------------------------


def test_without_a_keyring_secrets_exit_7_and_a_given_token_still_runs_jupyter(
    remote_account: RemoteAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    prev = keyring.get_keyring()
    keyring.core.init_backend()  # re-read PYTHON_KEYRING_BACKEND (conftest: the fail backend)
    try:
        assert isinstance(keyring.get_keyring(), fail.Keyring)
        h = remote_account.add("jr")  # `sshjup add` needs no keyring
        assert h.alias in invoke("list").stdout
        setup(h)

        hint = "Hint: install and select a keyring backend"
        for args in (
            ("jupyter", "setup", h.name, "--password"),
            ("jupyter", "start", h.name),
            ("url", h.name),
            ("token", "get", h.name),
            ("token", "set", h.name),
        ):
            result = run(*args, input="x" * 48 + "\n")
            assert result.exit_code == 7, (args, result.output, result.stderr)
            assert result.stderr.startswith(
                "Error: no keyring backend is available to store Jupyter tokens and passwords\n"
                + hint
            ), args
            assert "SSHJUP_TOKEN" in result.stderr
            assert result.stdout == ""  # nothing done, nothing prompted
        assert remote_status(h)["servers"] == []  # start refused before it started anything

        token = "given-" + "7" * 40
        info, _ = start(h, "--token", token)
        assert info["token_source"] == "cli"
        invoke("up", h.name)
        url = invoke("url", h.name, "--token", token).stdout.strip()
        assert api_status(url) == 200
        monkeypatch.setenv("SSHJUP_TOKEN", token)
        assert api_status(invoke("url", h.name).stdout.strip()) == 200
        invoke("jupyter", "stop", h.name)
        invoke("down", h.name)
    finally:
        keyring.set_keyring(prev)


# -- remote commands never open the local forward ---------------------------------------------


def test_jupyter_status_runs_on_the_remote_without_opening_the_local_forward(
    remote_account: RemoteAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = remote_account.add("jr")
    setup(h)
    runs = remote_jupyter.record_proc_runs(monkeypatch)

    seen_open: list[bool] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen_open.append(port_accepts("127.0.0.1", h.local_port, timeout=0.2))
            done.wait(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = run("jupyter", "status", h.name, "--json")
    finally:
        done.set()
        watcher.join(timeout=5)
    assert result.exit_code == 1, result.output + result.stderr  # reached the remote: none runs
    assert _json(result)["servers"] == []
    assert len(seen_open) > 10
    assert not any(seen_open), "the local forward was open while `jupyter status` ran"
    assert port_is_free(h.local_port)

    [argv] = [a for a, _ in runs]
    assert argv[0] == "ssh"
    assert argv[-3:] == [h.alias, "sh", "-s"]
    options = {argv[i + 1] for i, word in enumerate(argv) if word == "-o"}
    assert {"ClearAllForwardings=yes", "ControlMaster=no", "ControlPath=none"} <= options

    # With the local port taken by another program (the Host block says ExitOnForwardFailure
    # yes), a remote command still runs: it never tries to forward.
    with listening_socket(h.local_port):
        busy = run("jupyter", "status", h.name, "--json")
    assert busy.exit_code == 1, busy.output + busy.stderr
    assert _json(busy)["servers"] == []


# -- secrets: in no argv, file or output of any command ---------------------------------------


def test_no_secret_in_any_argv_file_or_output_of_the_cli(
    remote_account: RemoteAccount,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    putty_dir = Path(os.environ["PUTTYDIR"])
    putty_dir.mkdir()
    h = remote_account.add("jr")
    invoke("edit", h.name, "--putty")  # a jup-jr PuTTY session too
    password = "Tr0ub4dor&3 is my jupyter password"

    runs = remote_jupyter.record_proc_runs(monkeypatch)
    popens: list[list[str]] = []
    real_popen = subprocess.Popen

    class RecordingPopen(real_popen):  # type: ignore[type-arg,misc]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            popens.append([str(a) for a in args])
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)

    printed: dict[str, Result] = {}  # command -> result; stdout/stderr are scanned
    on_purpose: dict[str, Result] = {}  # these print the token (their stdout only)
    recorder = ProcessStartRecorder()
    sampler = ProcSampler()
    sampler.start()
    recorder.start()
    try:
        printed["setup"] = invoke(
            "jupyter",
            "setup",
            h.name,
            "--server",
            "--jupyter-cmd",
            str(h.dirs.command),
            "--password",
            input=f"{password}\n{password}\n",
        )
        printed["start"] = invoke("jupyter", "start", h.name, "--timeout", TIMEOUT)
        token = memory_keyring.store[(SERVICE, h.alias)]
        on_purpose["open"] = invoke("open", h.name, "--print-only")
        assert api_status(on_purpose["open"].stdout.strip()) == 200
        on_purpose["url"] = invoke("url", h.name)  # after `open`: url checks the tunnel answers
        printed["status"] = invoke("jupyter", "status", h.name, "--json")
        on_purpose["token get"] = invoke("token", "get", h.name)
        printed["stop"] = invoke("jupyter", "stop", h.name)
        printed["down"] = invoke("down", h.name)
    finally:
        recorder.stop()
        sampler.stop()

    digest = _remote_hash(h)
    secret = {"token": token, "password": password, "hash": digest}
    assert memory_keyring.store == {
        (SERVICE, h.alias): token,
        (SERVICE, h.alias + ":password"): password,
    }
    assert printed["setup"].stdout.endswith(
        "The password is kept in the keyring (service sshjup).\n"
    )

    # What sshjup printed: no secret, except the URL (and `token get`) on stdout, on purpose.
    for name, result in printed.items():
        for label, value in secret.items():
            assert value not in result.stdout + result.stderr, f"{label} in `{name}` output"
    for name, result in on_purpose.items():
        assert token in result.stdout
        assert result.stdout.count("\n") == 1, name  # that one line only
        for label, value in secret.items():
            assert value not in result.stderr, f"{label} in `{name}` stderr"
        assert password not in result.stdout
        assert digest not in result.stdout

    # Every process sshjup started (argv and environment), locally.
    assert recorder.events, "the audit hook saw no process start"
    for _event, args in recorder.events:
        for label, value in secret.items():
            assert value not in repr(args), f"{label} in a local process's argv or environment"
    assert popens, "the tunnel's ssh was not seen"
    for argv, stdin in runs:
        for label, value in secret.items():
            assert value not in " ".join(argv), f"{label} in {argv[:3]}..."
        if stdin is not None and (token in stdin or digest in stdin):
            assert argv[0] == "ssh"
            assert argv[-2:] == ["sh", "-s"]
        assert password not in (stdin or ""), "the password itself left this machine"
    assert any(token in (stdin or "") for _argv, stdin in runs)
    assert any(digest in (stdin or "") for _argv, stdin in runs)
    for argv in popens:
        for label, value in secret.items():
            assert value not in " ".join(argv), f"{label} in {argv[:3]}..."

    # Every command line on this machine (the remote's sh, jupyter) while the commands ran.
    assert sampler.rounds > 10
    assert any(b"--ServerApp.port=" in c for c in sampler.cmdlines), "never saw Jupyter run"
    for cmdline in sampler.cmdlines:
        for label, value in secret.items():
            assert value.encode() not in cmdline, f"{label} in the command line {cmdline[:80]!r}"

    # Files: the ssh config, PuTTY's session, the inventory and state, the remote log.
    written = [
        paths.ssh_config_path(None),
        paths.inventory_path(),
        state.state_path(),
        putty_dir / "sessions" / h.alias,
        h.log_file,
    ]
    for path in written:
        assert path.is_file(), path
    for root in (tmp_path, h.dirs.home, h.dirs.runtime_dir):
        assert files_holding(root, secret) == {"token": [], "password": [], "hash": []}, root
    assert files_holding(h.dirs.config_dir, secret) == {
        "token": [],
        "password": [],
        "hash": [str(h.config_file)],
    }


def _remote_hash(h: RemoteHost) -> str:
    saved = json.loads(h.config_file.read_text())
    digest = saved["IdentityProvider"]["hashed_password"]
    assert isinstance(digest, str)
    assert digest.startswith(("argon2:", "sha512:"))
    return digest
