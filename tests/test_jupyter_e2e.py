"""End to end: a real jupyter_server behind a throwaway sshd, reached through sshjup's tunnel.

The "remote" is this machine: the sshd (127.0.0.1, own host key, key-only) logs in as the
unprivileged account made by .ci/setup-remote-jupyter.sh, which runs jupyter_server from a
venv outside root's home. Each test gets its own Jupyter config and runtime dirs through a
small ``jupyter`` wrapper given as the Jupyter command (``--jupyter-cmd`` for a venv). Every
Jupyter started is stopped with ``remote.stop``, falling back to its PID from
``jupyter server list``; the tunnel with ``sshjup down``, falling back to the master's PID.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import pwd
import stat
import urllib.parse
from pathlib import Path

import pytest

from sshjup.errors import RemoteCommandFailed
from sshjup.jupyter import remote
from sshjup.jupyter.scripts import hash_password, local_url, new_token
from sshjup.models import JupyterSpec
from sshjup.store.tokens import TokenStore, resolve_token
from tests.support import remote_jupyter
from tests.support.memkeyring import MemoryKeyring
from tests.support.net import listening_socket, port_is_free
from tests.support.procs import pid_alive
from tests.support.remote_jupyter import (
    START_TIMEOUT,
    ProcessStartRecorder,
    ProcSampler,
    RemoteHost,
    files_holding,
    http_status,
    invoke,
    make_opener,
    remote_user,
)

# Fixtures (tests/support/remote_jupyter.py); remote_host uses remote_account.
remote_account = remote_jupyter.remote_account
remote_host = remote_jupyter.remote_host

pytestmark = pytest.mark.e2e

pytestmark = pytest.mark.e2e


def _remote_uid() -> int:
    return pwd.getpwnam(remote_user()).pw_uid


# -- the whole way ----------------------------------------------------------------------------


def test_setup_start_tunnel_token_url_and_stop(
    remote_host: RemoteHost, memory_keyring: MemoryKeyring
) -> None:
    h = remote_host

    plan = remote.setup(h.alias, h.cfg, h.spec, h.remote_port, dry_run=True)
    assert plan.merge.changed
    assert not plan.written
    assert plan.path == str(h.config_file)
    assert plan.info.server_version.split(".")[0].isdigit()
    assert not h.config_file.exists()

    done = remote.setup(h.alias, h.cfg, h.spec, h.remote_port)
    assert done.written
    assert json.loads(h.config_file.read_text()) == {
        "ServerApp": {
            "ip": "127.0.0.1",
            "port": h.remote_port,
            "port_retries": 0,
            "open_browser": False,
        }
    }
    st = h.config_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == _remote_uid()
    again = remote.setup(h.alias, h.cfg, h.spec, h.remote_port)
    assert not again.merge.changed
    assert not again.written

    progress: list[str] = []
    token = new_token()
    started = remote.start(
        h.alias,
        h.cfg,
        h.spec,
        h.remote_port,
        token,
        timeout=START_TIMEOUT,
        progress=progress.append,
    )
    h.pids.append(started.server.pid)
    assert started.server.port == h.remote_port
    assert started.server.hostname == "127.0.0.1"
    assert started.token == token
    assert started.log_path == str(h.log_file)
    assert stat.S_IMODE(h.log_file.stat().st_mode) == 0o600
    assert h.log_file.stat().st_uid == _remote_uid()
    assert progress[0] == f"checking Jupyter on {h.alias}"
    assert any(line.startswith(f"waiting for Jupyter on {h.alias}") for line in progress)

    store = TokenStore()
    store.set(h.alias, token)
    invoke("up", h.name)

    stored, source = resolve_token(h.alias, cli_value=None, env_value=None, store=store)
    assert (stored, source) == (token, "keyring")
    base = f"http://127.0.0.1:{h.local_port}"
    assert http_status(f"{base}/api/status?token={stored}") == 200
    assert http_status(f"{base}/api/status") == 403
    assert http_status(f"{base}/api/status", headers={"Authorization": f"token {stored}"}) == 200
    assert http_status(f"{base}/api/status?token=wrong{stored}") == 403
    assert http_status(local_url(h.local_port, stored)) == 200  # `sshjup url`

    status = remote.status(h.alias, h.cfg, h.spec, h.remote_port)
    assert status.server is not None
    assert status.server.pid == started.server.pid
    assert status.server.token == token
    assert [s.port for s in status.servers] == [h.remote_port]

    stopped = remote.stop(h.alias, h.cfg, h.spec, h.remote_port)
    assert stopped is not None
    assert stopped.server.pid == started.server.pid
    assert not stopped.forced  # SIGTERM was enough: Jupyter shut down cleanly
    assert not pid_alive(started.server.pid)
    assert port_is_free(h.remote_port)
    assert remote.status(h.alias, h.cfg, h.spec, h.remote_port).server is None
    assert remote.stop(h.alias, h.cfg, h.spec, h.remote_port) is None

    invoke("down", h.name)
    assert port_is_free(h.local_port)


def test_check_names_what_is_missing_on_the_remote(remote_host: RemoteHost) -> None:
    h = remote_host
    info = remote.check_jupyter(h.alias, h.cfg, h.spec)
    assert info.kind == "server"
    assert info.path == str(h.dirs.command)
    assert info.app_version is None

    lab = JupyterSpec(kind="lab", command=str(h.dirs.command))
    with pytest.raises(RemoteCommandFailed, match="JupyterLab does not run on jup-jr") as err:
        remote.check_jupyter(h.alias, h.cfg, lab)
    assert "pip install --user jupyterlab" in (err.value.hint or "")

    nowhere = JupyterSpec(kind="server", command="/nonexistent/bin/jupyter")
    with pytest.raises(RemoteCommandFailed, match="Jupyter is not installed on jup-jr") as err:
        remote.check_jupyter(h.alias, h.cfg, nowhere)
    assert "--jupyter-cmd" in (err.value.hint or "")


def test_a_password_set_up_by_sshjup_logs_in_to_the_real_server(remote_host: RemoteHost) -> None:
    h = remote_host
    password = "correct horse battery staple"
    digest = hash_password(password)
    plan = remote.setup(h.alias, h.cfg, h.spec, h.remote_port, password_hash=digest)
    assert plan.written
    saved = json.loads(h.config_file.read_text())
    assert saved["IdentityProvider"] == {"hashed_password": digest}

    token = new_token()
    started = remote.start(h.alias, h.cfg, h.spec, h.remote_port, token, timeout=START_TIMEOUT)
    h.pids.append(started.server.pid)
    assert started.token == token  # the token sshjup passed works beside the password
    invoke("up", h.name)
    base = f"http://127.0.0.1:{h.local_port}"
    assert http_status(f"{base}/api/status?token={token}") == 200

    jar = http.cookiejar.CookieJar()
    browser = make_opener(jar)
    assert http_status(f"{base}/login", opener=browser) == 200
    xsrf = next(c.value for c in jar if c.name == "_xsrf")

    def login(pw: str) -> int:
        form = urllib.parse.urlencode({"_xsrf": xsrf, "password": pw}).encode()
        return http_status(f"{base}/login?next=%2Fapi%2Fstatus", data=form, opener=browser)

    assert login("not the password") == 401
    assert http_status(f"{base}/api/status", opener=browser) == 403
    assert login(password) == 302
    assert http_status(f"{base}/api/status", opener=browser) == 200


def test_two_hosts_on_one_remote_account_each_keep_their_own_settings_and_run_at_once(
    remote_account: remote_jupyter.RemoteAccount,
) -> None:
    a, b = remote_account.add("ja"), remote_account.add("jb")
    # The user's own global config: sshjup reads around it and never writes it.
    global_text = '{\n  "ServerApp": {\n    "port": 9\n  }\n}\n'
    remote_jupyter.run_as_remote_user(
        ["sh", "-c", 'cat > "$1"', "sh", str(a.global_config_file)], input_text=global_text
    )
    password = "only for jb"
    assert remote.setup(a.alias, a.cfg, a.spec, a.remote_port).written
    digest = hash_password(password)
    assert remote.setup(b.alias, b.cfg, b.spec, b.remote_port, password_hash=digest).written
    # Each host has its own file (the second setup did not replace the first one's port).
    assert a.config_file != b.config_file
    for h in (a, b):
        assert stat.S_IMODE(h.config_file.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(h.config_file.stat().st_mode) == 0o600
    assert json.loads(a.config_file.read_text())["ServerApp"]["port"] == a.remote_port
    saved_b = json.loads(b.config_file.read_text())
    assert saved_b["ServerApp"]["port"] == b.remote_port
    assert saved_b["IdentityProvider"] == {"hashed_password": digest}
    assert "IdentityProvider" not in json.loads(a.config_file.read_text())
    assert a.global_config_file.read_text() == global_text

    tokens = {h.name: new_token() for h in (a, b)}
    for h in (a, b):
        started = remote.start(h.alias, h.cfg, h.spec, h.remote_port, tokens[h.name])
        h.pids.append(started.server.pid)
        invoke("up", h.name)
    listed = remote.status(a.alias, a.cfg, a.spec, a.remote_port).servers
    assert sorted(s.port for s in listed) == sorted([a.remote_port, b.remote_port])
    for h in (a, b):
        base = f"http://127.0.0.1:{h.local_port}"
        assert http_status(f"{base}/api/status?token={tokens[h.name]}") == 200

    def login(h: RemoteHost, pw: str) -> int:
        jar = http.cookiejar.CookieJar()
        browser = make_opener(jar)
        base = f"http://127.0.0.1:{h.local_port}"
        assert http_status(f"{base}/login", opener=browser) == 200
        xsrf = next(c.value for c in jar if c.name == "_xsrf")
        form = urllib.parse.urlencode({"_xsrf": xsrf, "password": pw}).encode()
        return http_status(f"{base}/login?next=%2Fapi%2Fstatus", data=form, opener=browser)

    # jb's password is jb's only: the per-host file reached jb's server and not ja's.
    assert login(b, password) == 302
    assert login(a, password) == 401
    assert a.global_config_file.read_text() == global_text


# -- the remote port is taken: fail, never move -----------------------------------------------


def test_start_refuses_a_port_another_jupyter_server_holds(remote_host: RemoteHost) -> None:
    h = remote_host
    first = remote.start(h.alias, h.cfg, h.spec, h.remote_port, new_token(), timeout=START_TIMEOUT)
    h.pids.append(first.server.pid)
    second_token = new_token()
    with pytest.raises(RemoteCommandFailed) as info:
        remote.start(h.alias, h.cfg, h.spec, h.remote_port, second_token, timeout=START_TIMEOUT)
    err = info.value
    assert err.exit_code == 8
    assert str(err).startswith(f"remote port {h.remote_port} on jup-jr is already used by Jupyter")
    assert f"(pid {first.server.pid})" in str(err)
    assert "sshjup jupyter stop" in (err.hint or "")
    servers = remote.status(h.alias, h.cfg, h.spec, h.remote_port).servers
    assert [(s.pid, s.port) for s in servers] == [(first.server.pid, h.remote_port)]


def test_start_refuses_a_port_another_program_holds_and_never_moves(
    remote_host: RemoteHost,
) -> None:
    h = remote_host
    token = new_token()
    with listening_socket(h.remote_port), pytest.raises(RemoteCommandFailed) as info:
        remote.start(h.alias, h.cfg, h.spec, h.remote_port, token, timeout=START_TIMEOUT)
    err = info.value
    assert str(err) == (
        f"remote port {h.remote_port} on jup-jr is already in use by another program "
        "(Jupyter does not move to another port)"
    )
    assert "--remote-port" in (err.hint or "")
    assert token not in str(err)
    assert token not in (err.hint or "")
    assert remote.status(h.alias, h.cfg, h.spec, h.remote_port).servers == ()


def test_a_jupyter_that_never_comes_up_is_stopped_after_the_timeout(
    remote_host: RemoteHost,
) -> None:
    h = remote_host
    hanging = h.dirs.root / "jupyter-hangs"
    hanging.write_text(
        "#!/bin/sh\n"
        '[ "$1" = server ] && [ "$2" = --no-browser ] && exec sleep 300\n'
        f"exec '{h.dirs.command}' \"$@\"\n"
    )
    hanging.chmod(0o755)
    spec = JupyterSpec(kind="server", command=str(hanging))
    lines: list[str] = []
    with pytest.raises(RemoteCommandFailed, match="did not come up on jup-jr") as info:
        remote.start(
            h.alias, h.cfg, spec, h.remote_port, new_token(), timeout=3, progress=lines.append
        )
    assert "stopped again" in (info.value.hint or "")
    started = next(line for line in lines if line.startswith("started Jupyter"))
    pid = int(started.split("(pid ")[1].split(",")[0])
    h.pids.append(pid)
    assert not pid_alive(pid)
    assert os.path.exists(h.log_file)


# -- secrets: in no argv (local or remote), log, message or file ------------------------------


def test_no_secret_reaches_an_argv_a_log_a_message_or_a_file(
    remote_host: RemoteHost,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    h = remote_host
    token = new_token()
    password = "Tr0ub4dor&3 is my jupyter password"
    digest = hash_password(password)
    secret = {"token": token, "password": password, "hash": digest}

    runs = remote_jupyter.record_proc_runs(monkeypatch)
    recorder = ProcessStartRecorder()
    events = recorder.events
    sampler = ProcSampler()
    sampler.start()
    recorder.start()
    try:
        store = TokenStore()
        store.set(h.alias, token)
        store.set(h.alias, password, "password")
        assert remote.setup(h.alias, h.cfg, h.spec, h.remote_port, password_hash=digest).written
        started = remote.start(h.alias, h.cfg, h.spec, h.remote_port, token, timeout=START_TIMEOUT)
        h.pids.append(started.server.pid)
        invoke("up", h.name)
        assert http_status(local_url(h.local_port, store.get(h.alias))) == 200

        # The one channel the token takes into Jupyter: its environment, private to its user.
        environ = Path(f"/proc/{started.server.pid}/environ")
        assert f"JUPYTER_TOKEN={token}".encode() in environ.read_bytes().split(b"\0")
        assert environ.stat().st_uid == _remote_uid()
        assert stat.S_IMODE(environ.stat().st_mode) == 0o400
        runtime = h.dirs.runtime_dir
        assert stat.S_IMODE(runtime.stat().st_mode) == 0o700  # Jupyter's own (token) files

        with pytest.raises(RemoteCommandFailed) as info:  # an error while a token is in hand
            remote.start(h.alias, h.cfg, h.spec, h.remote_port, new_token() + "x")
        messages = [str(info.value), info.value.hint or ""]

        assert remote.stop(h.alias, h.cfg, h.spec, h.remote_port) is not None
        invoke("down", h.name)
    finally:
        recorder.stop()
        sampler.stop()

    # Local processes (everything this test process started, ssh included): argv and env.
    assert events, "the audit hook saw no process start"
    for _event, args in events:
        text = repr(args)
        for name, value in secret.items():
            assert value not in text, f"{name} in a local process's argv or environment"
    # Through proc.run, the token only ever travels in the stdin of `ssh ... sh -s`.
    for argv, stdin in runs:
        for name, value in secret.items():
            assert value not in " ".join(argv), f"{name} in {argv[:3]}..."
        if stdin is not None and (token in stdin or digest in stdin):
            assert argv[0] == "ssh"
            assert argv[-2:] == ["sh", "-s"]
        assert password not in (stdin or ""), "the password itself left this machine"
    assert any(token in (stdin or "") for _argv, stdin in runs)

    # Remote (and local) command lines, sampled from /proc while all of the above ran.
    assert sampler.rounds > 10
    assert b"sh\0-s\0" in sampler.cmdlines, "the sampler never saw a remote `sh -s`"
    assert any(b"--ServerApp.port=" in c for c in sampler.cmdlines), "never saw Jupyter run"
    for cmdline in sampler.cmdlines:
        for name, value in secret.items():
            assert value.encode() not in cmdline, f"{name} in the command line {cmdline[:80]!r}"

    for text in messages:
        for value in secret.values():
            assert value not in text

    # Files: the hash (never the password or token) is in Jupyter's config, and nowhere else.
    remote_config = files_holding(h.dirs.config_dir, secret)
    assert remote_config == {"token": [], "password": [], "hash": [str(h.config_file)]}
    assert stat.S_IMODE(h.config_file.stat().st_mode) == 0o600
    for root in (h.dirs.home, h.dirs.runtime_dir, tmp_path):
        assert files_holding(root, secret) == {"token": [], "password": [], "hash": []}, root
    assert stat.S_IMODE(h.log_file.stat().st_mode) == 0o600
