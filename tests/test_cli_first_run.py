"""What a new user meets on a first run (issue 10): the messages, hints and exit codes, exactly.

`open` and `url` check that a Jupyter answers through the tunnel before they hand out a URL:
against a dead local port, a local port held by another program, and (end to end, through the
throwaway sshd) a tunnel that is up but reaches no Jupyter on the remote port.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sshjup.cli import cli
from sshjup.ssh.sshconfig import SERVER_ALIVE_INTERVAL
from tests.support import remote_jupyter
from tests.support.httpd import PageServer
from tests.support.net import free_port, port_is_free
from tests.support.sshd import SshServer, master_pid, run_ssh, stop_master
from tests.test_ssh_tunnel_e2e import _add, _prepare

remote_account = remote_jupyter.remote_account  # fixture (tests/support/remote_jupyter.py)


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def ok(*args: str, input: str | None = None) -> Result:
    result = run(*args, input=input)
    assert result.exit_code == 0, f"sshjup {' '.join(args)}: {result.output}{result.stderr}"
    return result


def _add_unreached(local: int) -> None:
    """jup-gpu: ssh to 127.0.0.1:9 (never contacted), the Jupyter forward on ``local``."""
    ok("add", "127.0.0.1", "--port", "9", "--name", "gpu", "--local-port", str(local))


# -- open and url: never a URL on a dead port ------------------------------------------------


def test_url_on_a_dead_port_exits_11_and_names_up_and_jupyter_start(ssh_config: Path) -> None:
    local = free_port()
    _add_unreached(local)
    result = run("url", "gpu", "--token", "t0k")
    assert result.exit_code == 11
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: nothing listens on 127.0.0.1:{local}: the tunnel jup-gpu is not up\n"
        "Hint: open it with `sshjup up gpu` (or `ssh jup-gpu`), and if no Jupyter runs on the "
        "remote, start it with `sshjup jupyter start gpu`\n"
    )
    # --no-check prints it anyway (for an editor's box, before the tunnel is up).
    assert ok("url", "gpu", "--token", "t0k", "--no-check").stdout == (
        f"http://127.0.0.1:{local}/?token=t0k\n"
    )


def test_url_on_a_port_another_program_answers_exits_11(
    ssh_config: Path, remote_http: PageServer
) -> None:
    _add_unreached(remote_http.port)
    result = run("url", "gpu", "--token", "t0k")
    assert result.exit_code == 11
    assert result.stdout == ""
    first, _, hint = result.stderr.partition("\nHint: ")
    assert first.startswith(f"Error: 127.0.0.1:{remote_http.port} answers HTTP ")
    assert first.endswith("but not as a Jupyter server (GET /api gives no version)")
    assert hint == (
        f"another program may hold local port {remote_http.port}: pick another with "
        "`sshjup edit gpu --local-port PORT`, or start it with `sshjup jupyter start gpu`\n"
    )


@pytest.mark.e2e
def test_open_through_a_tunnel_that_reaches_no_jupyter_exits_11_and_opens_nothing(
    ssh_config: Path, sshd: SshServer, tmp_path: Path
) -> None:
    _prepare(ssh_config, sshd, tmp_path)
    local, remote = free_port(), free_port()  # nothing listens on the remote port
    _add(ssh_config, sshd, "dead", local, remote)
    try:
        result = run("open", "dead", "--print-only", "--token", "t0k")
        assert result.exit_code == 11, result.output + result.stderr
        assert result.stdout == ""
        assert result.stderr.endswith(
            f"Error: no Jupyter answers through jup-dead (127.0.0.1:{local} -> remote port "
            f"{remote})\nHint: start it with `sshjup jupyter start dead`\n"
        )
    finally:
        ok("down", "dead")
    assert port_is_free(local)


# -- messages --------------------------------------------------------------------------------


def test_the_open_hint_carries_minus_f_for_a_config_ssh_does_not_read_by_itself(
    tmp_path: Path,
) -> None:
    other = tmp_path / "my config"
    result = ok("add", "gpu.example.org", "--ssh-config", str(other))
    assert result.stdout.endswith(f"Open the tunnel with: ssh -F '{other}' jup-gpu\n")


def test_ssh_config_before_the_command_is_accepted_for_every_command(
    tmp_path: Path, ssh_config: Path
) -> None:
    other = tmp_path / "other_config"
    added = ok("--ssh-config", str(other), "add", "gpu.example.org", "--user", "alice")
    assert f"Added jup-gpu in {other}." in added.stdout
    assert "Host jup-gpu" in other.read_text()
    assert not ssh_config.exists()  # the default ($SSHJUP_SSH_CONFIG here) was not touched
    assert "gpu.example.org" in ok("--ssh-config", str(other), "show", "gpu").stdout
    # The command's own option wins over the group's.
    removed = run("--ssh-config", str(ssh_config), "remove", "gpu", "--ssh-config", str(other))
    assert removed.exit_code == 0, removed.output + removed.stderr
    assert not other.exists()  # the last host took the file it made with it


def test_a_typo_in_name_suggests_the_close_managed_name(ssh_config: Path) -> None:
    ok("add", "t1.example.org", "--name", "t1")
    for args in (("up", "tl"), ("show", "tl"), ("remove", "tl"), ("edit", "tl", "--user", "x")):
        result = run(*args)
        assert result.exit_code == 4, args
        assert result.stderr == (
            "Error: no managed host named 'tl' (managed: t1)\nHint: did you mean 't1'?\n"
        ), args
    far = run("show", "zzzz")
    assert far.stderr == (
        "Error: no managed host named 'zzzz' (managed: t1)\n"
        "Hint: add it with: sshjup add HOST --name zzzz\n"
    )


def test_an_alias_taken_outside_the_section_hints_a_real_name_not_a_placeholder(
    ssh_config: Path,
) -> None:
    ssh_config.write_text("Host jup-gpu\n    HostName elsewhere\n")
    result = run("add", "gpu.example.org")
    assert result.exit_code == 3
    assert result.stderr.endswith("\nHint: pick another name, e.g. --name gpu2\n")
    assert "NAME" not in result.stderr


def test_an_unparseable_config_says_what_was_and_was_not_checked(ssh_config: Path) -> None:
    original = "Host mine\n    NoSuchKeyword yes\n"
    ssh_config.write_text(original)
    result = ok("add", "gpu.example.org")
    assert "Checked with ssh -G" not in result.stdout
    assert result.stderr.startswith(f"Warning: ssh cannot parse {ssh_config}, before this change")
    assert (
        "sshjup wrote its section, and checked only that the error is not in it: what ssh "
        "resolves for jup-gpu was not checked, and ssh will use no host of this file until the "
        "error is fixed (then run `sshjup doctor`)\n"
    ) in result.stderr
    text = ssh_config.read_text()
    assert "Host jup-gpu" in text
    assert original in text


# -- doctor: $HOME is not the home ssh uses ------------------------------------------------


def test_doctor_finds_that_plain_ssh_reads_another_home(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sshjup import hosts
    from sshjup.doctor import check_home
    from sshjup.ssh import openssh
    from sshjup.store import paths

    ok("add", "gpu.example.org")
    monkeypatch.delenv("SSHJUP_SSH_CONFIG")  # sshjup's default: $HOME/.ssh/config
    where = hosts.Where.locate(None)
    assert where.ssh_config == ssh_config
    [target] = hosts.list_targets(where)
    asked: list[tuple[Path, str, bool]] = []

    def without_f(config: Path, alias: str, *, use_default: bool = False) -> openssh.Resolved:
        # What `ssh -G jup-gpu` (no -F) says for a home without the tunnel. Faked: a test
        # must not let ssh read this machine's own ~/.ssh/config.
        asked.append((config, alias, use_default))
        return openssh.parse_g_output(f"hostname {alias}\nuser root\nport 22\n")

    check = check_home(where, [target], resolve=without_f)
    assert asked == [(ssh_config, "jup-gpu", True)]
    assert check.status == "fail"
    reads = paths.default_ssh_config()
    assert check.summary == (
        f"plain `ssh jup-gpu` does not see the tunnel: $HOME is {paths.home()}, but ssh takes ~ "
        f"from the password database ({paths.ssh_home()}) and reads {reads}, not {ssh_config}, "
        "which sshjup wrote"
    )
    assert check.fix == (
        f"run sshjup with HOME={paths.ssh_home()}, or write that file: "
        f"`sshjup --ssh-config {reads} ...`; or open it with `ssh -F {ssh_config} jup-gpu`"
    )

    def sees_it(config: Path, alias: str, *, use_default: bool = False) -> openssh.Resolved:
        return openssh.parse_g_output("hostname gpu.example.org\n")

    assert check_home(where, [target], resolve=sees_it).status == "pass"
    # A config the user chose on purpose: no ssh run, a pass that says -F is needed.
    chosen = check_home(where, [target], chosen=True, resolve=without_f)
    assert chosen.status == "pass"
    assert "which ssh reads only with -F" in chosen.summary
    assert len(asked) == 1


def test_doctor_runs_the_home_check_without_reading_the_real_ssh_config(
    ssh_config: Path,
) -> None:
    import json

    ok("add", "gpu.example.org")
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    [home] = [c for c in json.loads(result.stdout)["checks"] if c["id"] == "home"]
    assert home["status"] == "pass"  # $SSHJUP_SSH_CONFIG (the test's) is a chosen file
    [control] = [c for c in json.loads(result.stdout)["checks"] if c["id"] == "control:gpu"]
    assert control["summary"] == (
        f"jup-gpu: tunnel not running (open it with `ssh -F {ssh_config} jup-gpu`)"
    )
    assert set(home["details"]) == {"home", "ssh_home", "ssh_reads", "alias", "resolved_hostname"}


# -- a command through a jup- alias fails loudly; the tunnel and sshjup's commands still work --


@pytest.mark.e2e
def test_a_command_or_sftp_through_the_tunnel_alias_fails_loudly_scp_works_no_master_is_left(
    ssh_config: Path, sshd: SshServer, tmp_path: Path
) -> None:
    import subprocess

    _prepare(ssh_config, sshd, tmp_path)
    local, remote = free_port(), free_port()
    _add(ssh_config, sshd, "cmd", local, remote)
    try:
        code, err = run_ssh(ssh_config, "jup-cmd", "hostname")
        assert code == 255  # before: exit 0, the command silently ignored
        assert err.strip() == "Cannot execute command-line and remote command."
        assert master_pid(ssh_config, "jup-cmd") is None  # nothing left behind
        sftp = subprocess.run(
            ["sftp", "-F", str(ssh_config), "-b", "/dev/null", "jup-cmd"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert sftp.returncode == 255
        assert "Cannot execute command-line and remote command." in sftp.stderr
        assert master_pid(ssh_config, "jup-cmd") is None
        # scp passes RemoteCommand=none and runs the sftp subsystem: it works, and
        # (ControlPersist no) the master it started ends with it, instead of staying behind
        # without the Jupyter forward (ControlPersist yes did that).
        _scp(ssh_config, "jup-cmd", tmp_path / "got")
        deadline = time.monotonic() + 5
        while master_pid(ssh_config, "jup-cmd") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert master_pid(ssh_config, "jup-cmd") is None

        # A session forced through the alias prints the plain command to use instead.
        forced = subprocess.run(
            [
                *("ssh", "-F", str(ssh_config), "-o", "SessionType=default"),
                *("-o", "ForkAfterAuthentication=no", "-o", "ControlPath=none"),
                *("-o", "ClearAllForwardings=yes", "jup-cmd"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert forced.returncode == 0
        plain = f"ssh -p {sshd.port} -i {sshd.client_key} {sshd.user}@127.0.0.1"
        message = (
            "jup-cmd is the Jupyter tunnel and runs no shell or command; for those, sftp or an "
            f"editor use: {plain}\n"
        )
        assert (forced.stdout, forced.stderr) == ("", message)
        # ...and that command works (with the test's own known_hosts from the config tail).
        code, err = run_ssh(ssh_config, *plain.split()[1:], "true")
        assert code == 0, err

        # The tunnel itself is unchanged: plain `ssh jup-cmd` opens it.
        code, err = run_ssh(ssh_config, "jup-cmd")
        assert code == 0, err
        first = master_pid(ssh_config, "jup-cmd")
        assert first is not None
        # A second one (through the master's socket) says the same, exits 0, keeps the master.
        again = subprocess.run(
            ["ssh", "-F", str(ssh_config), "jup-cmd"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert (again.returncode, again.stdout, again.stderr) == (0, "", message)
        assert master_pid(ssh_config, "jup-cmd") == first
        # scp through the running tunnel goes through its master, and leaves it as it was.
        _scp(ssh_config, "jup-cmd", tmp_path / "again")
        assert master_pid(ssh_config, "jup-cmd") == first
    finally:
        stop_master(ssh_config, "jup-cmd")


def _scp(ssh_config: Path, alias: str, dest: Path) -> None:
    """``scp ALIAS:FILE DEST`` with the real scp; asserts it copied the file whole."""
    import subprocess

    source = Path("/etc/hostname") if Path("/etc/hostname").is_file() else Path("/etc/passwd")
    scp = subprocess.run(
        ["scp", "-F", str(ssh_config), f"{alias}:{source}", str(dest)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert scp.returncode == 0, scp.stderr
    assert dest.read_bytes() == source.read_bytes()


# -- what users reach for ------------------------------------------------------------------


def test_an_identity_file_gets_identities_only_and_a_missing_one_warns_at_once(
    ssh_config: Path, tmp_path: Path
) -> None:
    from sshjup.ssh import openssh

    missing = tmp_path / "no_such_key"
    result = ok("add", "gpu.example.org", "--identity-file", str(missing))
    assert result.stderr == (
        f"Warning: --identity-file {missing}: no such file here; ssh cannot log in with it "
        "until it exists (check the path, or create the key with ssh-keygen)\n"
    )
    text = ssh_config.read_text()
    assert f"    IdentityFile {missing}\n    IdentitiesOnly yes\n" in text
    assert openssh.resolve(ssh_config, "jup-gpu").get("identitiesonly") == "yes"

    key = tmp_path / "id_real"
    key.write_text("not really a key\n")
    edited = ok("edit", "gpu", "--identity-file", str(key))
    assert "Warning" not in edited.stderr
    ok("edit", "gpu", "--identity-file", "")  # removed: IdentitiesOnly goes with it
    assert "IdentitiesOnly" not in ssh_config.read_text()


def test_powershell_completion_script_and_protocol(ssh_config: Path) -> None:
    script = ok("completion", "powershell").stdout
    assert script.startswith("Register-ArgumentCompleter -Native -CommandName sshjup ")
    assert '$env:_SSHJUP_COMPLETE = "powershell_complete"' in script
    _add_unreached(free_port())
    ok("add", "10.0.0.5", "--name", "lab", "--local-port", str(free_port()))
    for words, cword, expected in (
        ("sshjup up ", "", ["plain\tgpu\t127.0.0.1", "plain\tlab\t10.0.0.5"]),
        ("sshjup show g", "g", ["plain\tgpu\t127.0.0.1"]),
        ("sshjup show jup-l", "jup-l", ["plain\tjup-lab\t10.0.0.5"]),
    ):
        result = CliRunner().invoke(
            cli,
            [],
            prog_name="sshjup",
            env={
                "_SSHJUP_COMPLETE": "powershell_complete",
                "COMP_WORDS": words,
                "COMP_CWORD": cword,
            },
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == expected, words


def test_local_port_auto_skips_managed_and_busy_ports_and_remote_port_auto_skips_the_remotes(
    ssh_config: Path,
) -> None:
    import json

    from tests.support.net import listening_socket, port_is_free

    def ports(name: str) -> tuple[int, int]:
        data = json.loads(ok("show", name, "--json").stdout)
        return data["local_port"], data["remote_port"]

    ok("add", "gpu.example.org", "--name", "a", "--local-port", "auto", "--remote-port", "auto")
    a_local, a_remote = ports("a")
    assert a_local >= 8888
    assert a_remote == 8889
    busy = next(p for p in range(a_local + 1, a_local + 100) if port_is_free(p))
    with listening_socket(busy):  # another program holds the next free port
        args = ("--local-port", "auto", "--remote-port", "auto")
        ok("add", "gpu.example.org", "--name", "b", *args)
        ok("add", "cpu.example.org", "--name", "c", *args)
    b_local, b_remote = ports("b")
    c_local, c_remote = ports("c")
    assert len({a_local, b_local, c_local, busy}) == 4
    assert min(b_local, c_local) > a_local
    assert (b_remote, c_remote) == (8890, 8889)  # c is another remote: 8889 is free there
    # edit: the host's own ports do not count against it
    ok("edit", "c", "--remote-port", "auto")
    assert ports("c")[1] == 8889


@pytest.mark.e2e
def test_stop_and_status_take_jupyter_cmd_and_an_interrupted_start_remembers_it(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from sshjup.jupyter import remote
    from sshjup.store import paths
    from sshjup.store.inventory import load
    from tests.support import remote_jupyter

    account = request.getfixturevalue("remote_account")
    h = account.add("jc")
    cmd = str(h.dirs.command)
    # --jupyter-cmd reaches the remote's jupyter for status before anything was remembered.
    asked = run("jupyter", "status", h.name, "--jupyter-cmd", cmd, "--json")
    assert asked.exit_code == 1, asked.output + asked.stderr
    assert json.loads(asked.stdout)["servers"] == []

    before = load(paths.inventory_path())
    assert before is not None
    assert before.hosts[h.name].jupyter.command is None  # status's --jupyter-cmd is not kept
    real_start = remote.start

    def start_then_ctrl_c(*args: object, **kwargs: object) -> object:
        started = real_start(*args, **kwargs)  # type: ignore[arg-type]
        h.pids.append(started.server.pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(remote, "start", start_then_ctrl_c)
    interrupted = run(
        "jupyter",
        "start",
        h.name,
        "--server",
        "--jupyter-cmd",
        cmd,
        "--token",
        "t" * 32,
        "--timeout",
        str(int(remote_jupyter.START_TIMEOUT)),
    )
    assert interrupted.exit_code == 130  # Ctrl-C: 128 + SIGINT
    inv = load(paths.inventory_path())
    assert inv is not None
    assert inv.hosts[h.name].jupyter.command == cmd
    found = run("jupyter", "status", h.name, "--json")  # no --jupyter-cmd: it was remembered
    assert found.exit_code == 0, found.output + found.stderr
    assert json.loads(found.stdout)["running"] is True
    stopped = run("jupyter", "stop", h.name, "--jupyter-cmd", cmd)
    assert stopped.exit_code == 0, stopped.output + stopped.stderr
    assert stopped.stdout.startswith("Stopped Jupyter (pid ")


@pytest.mark.e2e
def test_jupyter_logs_shows_the_remote_log_escaped_and_follows_what_is_added(
    remote_account: remote_jupyter.RemoteAccount,
) -> None:
    from sshjup import hosts
    from sshjup.jupyter import logs

    h = remote_account.add("jl")
    none = run("jupyter", "logs", h.name)
    assert none.exit_code == 4
    assert none.stderr == (
        f"Error: no Jupyter log on {h.alias} for remote port {h.remote_port} "
        f"(~/.local/state/sshjup/jupyter-{h.remote_port}.log)\n"
        f"Hint: start Jupyter with `sshjup jupyter start {h.name}`\n"
    )
    started = run(
        "jupyter",
        "start",
        h.name,
        "--server",
        "--jupyter-cmd",
        str(h.dirs.command),
        "--token",
        "t" * 32,
        "--json",
        "--timeout",
        str(int(remote_jupyter.START_TIMEOUT)),
    )
    assert started.exit_code == 0, started.output + started.stderr
    h.pids.append(json.loads(started.stdout)["pid"])
    assert h.log_file.stat().st_mode & 0o777 == 0o600
    with h.log_file.open("a") as log:  # what a hostile program could print into the log
        log.write("\x1b]0;owned\x07\x1b[31mred\n")
    shown = run("jupyter", "logs", h.name, "--lines", "3")
    assert shown.exit_code == 0, shown.output + shown.stderr
    assert shown.stdout.endswith("\\x1b]0;owned\\x07\\x1b[31mred\n")
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout

    where = hosts.Where.locate(None)
    first = logs.read(where, h.name, lines=1)
    assert logs.read(where, h.name, offset=first.size).text == ""
    with h.log_file.open("a") as log:
        log.write("one more line\n")
    assert logs.read(where, h.name, offset=first.size).text == "one more line\n"
    stopped = run("jupyter", "stop", h.name)
    assert stopped.exit_code == 0, stopped.output + stopped.stderr


@pytest.mark.e2e
def test_password_says_when_it_falls_back_from_argon2_to_sha512(
    remote_account: remote_jupyter.RemoteAccount, memory_keyring: object
) -> None:
    import importlib.util

    h = remote_account.add("jp")
    result = run(
        "jupyter",
        "setup",
        h.name,
        "--server",
        "--jupyter-cmd",
        str(h.dirs.command),
        "--password",
        "--dry-run",
        input="pw-for-the-test\npw-for-the-test\n",
    )
    assert result.exit_code == 0, result.output + result.stderr
    note = (
        "Note: argon2-cffi is not installed beside sshjup, so the password is hashed with "
        "salted SHA-512 instead of argon2 (Jupyter accepts both; SHA-512 resists guessing far "
        "less): install argon2-cffi in sshjup's environment for argon2.\n"
    )
    has_argon2 = importlib.util.find_spec("argon2") is not None
    assert (note in result.stderr) is not has_argon2


def test_ssh_option_is_validated_stored_and_rendered(ssh_config: Path, tmp_path: Path) -> None:
    from sshjup.ssh import openssh
    from sshjup.store import paths

    result = ok(
        "add",
        "gpu.example.org",
        "--ssh-option",
        "connecttimeout=7",
        "--ssh-option",
        "ServerAliveInterval=45",
        "--ssh-option",
        f"UserKnownHostsFile={tmp_path}/kh",
    )
    assert "Added jup-gpu" in result.stdout
    text = ssh_config.read_text()
    assert (
        f"    ConnectTimeout 7\n    ServerAliveInterval 45\n    UserKnownHostsFile {tmp_path}/kh\n"
    ) in text
    assert (
        f"ServerAliveInterval {SERVER_ALIVE_INTERVAL}" not in text
    )  # the given one replaces sshjup's default
    resolved = openssh.resolve(ssh_config, "jup-gpu")
    assert (resolved.get("connecttimeout"), resolved.get("serveraliveinterval")) == ("7", "45")
    from sshjup.store.inventory import load

    inv = load(paths.inventory_path())
    assert inv is not None
    assert inv.hosts["gpu"].ssh_options == (
        ("ConnectTimeout", "7"),
        ("ServerAliveInterval", "45"),
        ("UserKnownHostsFile", f"{tmp_path}/kh"),
    )
    shown = json.loads(ok("show", "gpu", "--json").stdout)
    assert shown["ssh_options"] == {
        "ConnectTimeout": "7",
        "ServerAliveInterval": "45",
        "UserKnownHostsFile": f"{tmp_path}/kh",
    }
    # The exported inventory applies elsewhere with the same options.
    exported = ok("export").stdout
    assert "ConnectTimeout" in exported

    before = ssh_config.read_bytes()
    for bad, problem in (
        ("ProxyCommand=nc", "'ProxyCommand' is not an ssh option sshjup writes"),
        ("LocalCommand=x", "'LocalCommand' is not an ssh option sshjup writes"),
        ("ConnectTimeout", "'ConnectTimeout' is not KEY=VALUE"),
        ("ConnectTimeout=1 2", "is not allowed"),
        ("LogLevel=%h", "is not allowed"),
        ("Ciphers=$(id)", "is not allowed"),
        ("ConnectTimeout=7\nProxyCommand nc", "line breaks are not allowed"),
    ):
        refused = run("edit", "gpu", "--ssh-option", bad)
        assert refused.exit_code == 2, bad
        assert problem in refused.stderr, (bad, refused.stderr)
        assert ssh_config.read_bytes() == before, bad
    ok("edit", "gpu", "--clear-ssh-options")
    assert "ConnectTimeout" not in ssh_config.read_text()
    assert f"ServerAliveInterval {SERVER_ALIVE_INTERVAL}" in ssh_config.read_text()


def test_status_says_tunnel_down_in_its_own_words_for_a_stale_control_socket(
    ssh_config: Path,
) -> None:
    import os
    import socket

    local = free_port()
    _add_unreached(local)
    # A master that was killed leaves its socket file behind: connecting is refused.
    path = Path(os.environ["SSHJUP_CONTROL_DIR"]) / "sshjup-jup-gpu"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
    try:
        result = run("status", "gpu")
        assert result.exit_code == 1
        assert "Control socket" not in result.output + result.stderr
        assert result.stdout == (
            "jup-gpu              down  not running (a stale control socket is left; the next "
            "`ssh jup-gpu` replaces it)\n"
        )
        path.unlink()
        result = run("status", "gpu")
        assert (result.exit_code, result.stdout) == (1, "jup-gpu              down  not running\n")
    finally:
        path.unlink(missing_ok=True)


def test_jupyter_arg_hints_name_the_host_never_a_placeholder(ssh_config: Path) -> None:
    _add_unreached(free_port())
    before = ssh_config.read_bytes()
    secret = run("jupyter", "start", "gpu", "--token", "t0k", "--jupyter-arg=--ServerApp.token=x")
    assert secret.exit_code == 2
    assert secret.stderr == (
        "Error: Jupyter argument '--ServerApp.token' would put a secret on a command line\n"
        "Hint: every account on the remote can read a command line (ps); tokens go through "
        "`sshjup token set gpu` (or are made by `sshjup jupyter start gpu`), passwords through "
        "`sshjup jupyter setup gpu --password`\n"
    )
    port = run("jupyter", "start", "gpu", "--token", "t0k", "--jupyter-arg=--port=1")
    assert port.exit_code == 2
    assert port.stderr.endswith("change the port with `sshjup edit gpu --remote-port PORT`\n")
    for result in (secret, port):
        assert "NAME" not in result.stderr
    assert ssh_config.read_bytes() == before


# -- a plain companion alias (--companion) ---------------------------------------------------


def test_companion_writes_a_plain_alias_beside_the_tunnel_and_goes_with_remove(
    ssh_config: Path,
) -> None:
    import subprocess

    ssh_config.write_text("Host other\n    HostName other.example.org\n")
    result = ok("add", "alice@gpu.example.org:2222", "--name", "gpu", "--companion")
    assert result.stdout.endswith(
        "Checked with ssh -G: jup-gpu.\n"
        f"For a shell, files and editors: ssh -F {ssh_config} gpu\n"
        f"Open the tunnel with: ssh -F {ssh_config} jup-gpu\n"
    )
    text = ssh_config.read_text()
    assert (
        "\nHost gpu\n    HostName gpu.example.org\n    User alice\n    Port 2222\n# <<< sshjup end"
    ) in text
    # The tunnel's hint names the companion; the companion resolves like the tunnel, without it.
    assert "sftp or an editor use: ssh gpu" in text
    resolved = subprocess.run(
        ["ssh", "-F", str(ssh_config), "-G", "gpu"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for line in ("hostname gpu.example.org", "user alice", "port 2222"):
        assert line in resolved
    assert not [line for line in resolved if line.startswith(("localforward", "sessiontype none"))]
    listed = json.loads(ok("list", "--json").stdout)
    assert [(t["name"], t["companion"]) for t in listed] == [("gpu", "gpu")]
    assert "companion: true" in ok("export").stdout
    shown = json.loads(ok("show", "gpu", "--json").stdout)
    assert shown["companion"] == "gpu"
    assert shown["block"].endswith(
        "\n\nHost gpu\n    HostName gpu.example.org\n    User alice\n    Port 2222\n"
    )

    # Off and on again with edit; remove takes both blocks.
    ok("edit", "gpu", "--no-companion")
    assert "\nHost gpu\n" not in ssh_config.read_text()
    assert json.loads(ok("list", "--json").stdout)[0]["companion"] is None
    ok("edit", "gpu", "--companion")
    assert "\nHost gpu\n" in ssh_config.read_text()
    ok("remove", "gpu")
    assert ssh_config.read_text() == "Host other\n    HostName other.example.org\n"


def test_without_companion_add_names_the_plain_command_and_the_flag(ssh_config: Path) -> None:
    result = ok("add", "alice@gpu.example.org", "--name", "gpu")
    assert (
        "For a shell, files and editors: ssh alice@gpu.example.org (or a plain alias gpu: "
        "`sshjup edit gpu --companion`)\n"
    ) in result.stdout
    assert "\nHost gpu\n" not in ssh_config.read_text()


def test_companion_is_refused_for_an_alias_that_exists_and_files_stay(ssh_config: Path) -> None:
    original = "Host mybox\n    HostName mybox.example.org\n    User bob\n"
    ssh_config.write_text(original)
    own = run("add", "mybox", "--companion")
    assert own.exit_code == 2
    assert own.stderr == (
        "Error: --companion: mybox is already an alias in your ssh config\n"
        "Hint: use `ssh mybox` for files and commands, without --companion\n"
    )
    # Without --companion, add names the alias the user already has.
    added = ok("add", "mybox")
    assert f"For a shell, files and editors: ssh -F {ssh_config} mybox\n" in added.stdout
    ok("remove", "mybox")
    assert ssh_config.read_text() == original
    taken = run("add", "mybox.example.org", "--name", "mybox", "--companion")
    assert taken.exit_code == 3
    assert taken.stderr == (
        f"Error: the companion alias 'mybox' is already defined at {ssh_config}:1, outside "
        "sshjup's section\n"
        "Hint: use `ssh mybox` for files and commands as it is, without --companion\n"
    )
    assert ssh_config.read_text() == original


def test_companion_is_adopted_back_from_the_section(ssh_config: Path) -> None:
    import os

    ok("add", "gpu.example.org", "--companion")
    Path(os.environ["SSHJUP_HOME"], "inventory.yaml").unlink()
    assert json.loads(ok("list", "--json").stdout)[0]["companion"] == "gpu"


def test_companion_alias_carries_a_shell_scp_and_sftp_to_the_real_sshd(
    ssh_config: Path, sshd: SshServer, tmp_path: Path
) -> None:
    import subprocess

    _prepare(ssh_config, sshd, tmp_path)
    _add(ssh_config, sshd, "pal", free_port(), free_port())
    ok("edit", "pal", "--companion")
    code, err = run_ssh(ssh_config, "pal", "true")
    assert code == 0, err
    assert master_pid(ssh_config, "jup-pal") is None  # the companion has no tunnel, no master
    _scp(ssh_config, "pal", tmp_path / "copied")
    sftp = subprocess.run(
        ["sftp", "-F", str(ssh_config), "-b", "-", "pal"],
        input="pwd\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert sftp.returncode == 0, sftp.stderr
    assert "Remote working directory" in sftp.stdout


def test_apply_of_a_companion_that_the_config_defines_is_refused_and_nothing_changes(
    ssh_config: Path, tmp_path: Path
) -> None:
    original = "Host gpu\n    HostName elsewhere.example.org\n"
    ssh_config.write_text(original)
    tunnels = tmp_path / "tunnels.yaml"
    tunnels.write_text(
        "version: 1\nhosts:\n  gpu:\n    hostname: gpu.example.org\n    companion: true\n"
    )
    result = run("apply", str(tunnels), "--yes")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: the companion alias 'gpu' is already defined at ")
    assert ssh_config.read_text() == original
    tunnels.write_text(
        "version: 1\nhosts:\n  gpu:\n    hostname: gpu.example.org\n    companion: 1\n"
    )
    bad = run("apply", str(tunnels), "--yes")
    assert bad.exit_code == 2
    assert "companion must be true or false" in bad.stderr


def test_a_companion_named_like_a_tunnel_alias_is_refused(ssh_config: Path) -> None:
    result = run("add", "gpu.example.org", "--name", "jup-x", "--companion")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: jup-x: a companion alias cannot start with 'jup-'\n"
        "Hint: give the host a name without it (--name)\n"
    )
    assert not ssh_config.exists()
