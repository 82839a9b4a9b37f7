"""`sshjup doctor` against broken set-ups built in temp dirs, and shell completion.

Each broken set-up is reported with its fix; a healthy one passes every check. Real tools
(ssh, ss, ssh-keygen, puttygen, a throwaway sshd) wherever they run here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sshjup import doctor, hosts, proc
from sshjup.cli import cli
from sshjup.cli.doctor import use_colour
from sshjup.cli.options import complete_names
from sshjup.doctor import Check, classify_config_mode, parse_proc_net_tcp, parse_ss, run_checks
from sshjup.errors import NotFound
from sshjup.jupyter import remote
from sshjup.jupyter.scripts import new_token
from sshjup.models import Forward, JupyterSpec, Target
from sshjup.ssh.sshconfig import BEGIN_MARK, END_MARK_PREFIX
from sshjup.store import paths
from tests.support.httpd import PageServer
from tests.support.memkeyring import MemoryKeyring
from tests.support.net import free_port, listening_socket
from tests.support.procs import pid_alive, stop_pid
from tests.support.remote_jupyter import remote_jupyter_dirs, remote_user
from tests.support.remote_jupyter import unavailable_reason as remote_jupyter_unavailable
from tests.support.sshd import SshServer, run_ssh, stop_master

# --- helpers -------------------------------------------------------------------------------------


def where() -> hosts.Where:
    return hosts.Where.locate(None)


def add(target: Target) -> None:
    hosts.add_target(where(), target)


def by_id(checks: list[Check]) -> dict[str, Check]:
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids)), ids
    return {c.id: c for c in checks}


def not_passing(checks: list[Check]) -> list[str]:
    return [f"{c.id}: {c.status}: {c.summary}" for c in checks if c.status != "pass"]


def move_section_to_end(config: Path) -> None:
    text = config.read_text()
    start = text.index(BEGIN_MARK)
    end_mark = text.index(END_MARK_PREFIX)
    end = text.index("\n", end_mark) + 1
    section = text[start:end]
    rest = text[:start] + text[end:]
    config.write_text(rest + ("" if rest.endswith("\n") else "\n") + section)


def gpu(**changes: object) -> Target:
    return Target(
        name="gpu",
        hostname="gpu.example.org",
        user="alice",
        forwards=(Forward(free_port(), 8889),),
    ).with_changes(**changes)


# --- a healthy set-up ----------------------------------------------------------------------------


def test_a_healthy_setup_passes_every_check(
    ssh_config: Path, memory_keyring: MemoryKeyring
) -> None:
    ssh_config.write_text("Host *\n    ServerAliveCountMax 3\n")
    ssh_config.chmod(0o600)
    add(gpu(port=2222))
    add(Target(name="lab", hostname="10.0.0.5", forwards=(Forward(free_port(), 8889),)))

    checks = run_checks(where())

    assert not_passing(checks) == []
    ids = by_id(checks)
    for expected in (
        "openssh",
        "inventory",
        "config.parse",
        "config.permissions",
        "ssh_dir.permissions",
        "section",
        "resolve:gpu",
        "control:gpu",
        "port:gpu",
        "resolve:lab",
        "port:lab",
        "keyring",
    ):
        assert expected in ids
    assert ids["keyring"].details["backend"].endswith("MemoryKeyring")
    assert ids["keyring"].details["tokens"] == {"jup-gpu": False, "jup-lab": False}

    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert all(line.startswith("PASS  ") for line in lines[:-1]), result.stdout
    assert lines[-1].endswith("0 warning(s), 0 failed")
    assert "fix:" not in result.stdout


def test_a_stored_token_is_reported_as_stored_never_shown(
    ssh_config: Path, memory_keyring: MemoryKeyring
) -> None:
    add(gpu())
    secret = "f00dfeedf00dfeedf00dfeedf00dfeed"
    memory_keyring.set_password("sshjup", "jup-gpu", secret)

    result = CliRunner().invoke(cli, ["doctor", "--json"])

    assert secret not in result.stdout
    keyring_check = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "keyring")
    assert keyring_check["details"]["tokens"] == {"jup-gpu": True}


# --- broken set-ups --------------------------------------------------------------------------


def test_a_host_star_above_the_section_that_sets_user_is_named_by_its_line(
    ssh_config: Path,
) -> None:
    ssh_config.write_text("Host *\n    User bob\n")
    add(gpu())
    assert ssh_config.read_text().startswith(BEGIN_MARK)  # sshjup put it first...
    move_section_to_end(ssh_config)  # ...and the user moved it below `Host *`

    check = by_id(run_checks(where()))["resolve:gpu"]

    assert check.status == "fail"
    assert "User to 'bob', not 'alice'" in check.summary
    assert f"line 2 of {ssh_config}" in check.summary
    assert check.fix is not None
    assert "above line 2" in check.fix
    assert check.details["overrides"] == [
        {
            "file": str(ssh_config),
            "line": 2,
            "keyword": "user",
            "value": "bob",
            "context": "Host *",
            "certain": True,
        }
    ]
    # The section itself is intact: moving it is allowed.
    assert by_id(run_checks(where()))["section"].status == "pass"


def test_a_config_ssh_cannot_parse_fails_with_ssh_s_own_message(ssh_config: Path) -> None:
    add(gpu())
    with ssh_config.open("a") as f:
        f.write("Host other\n    NoSuchKeyword yes\n")

    checks = by_id(run_checks(where()))

    check = checks["config.parse"]
    assert check.status == "fail"
    assert "Bad configuration option" in check.summary
    assert "nosuchkeyword" in check.summary.lower()
    assert check.fix is not None
    assert "ssh -F" in check.fix
    assert "resolve:gpu" not in checks  # nothing more to learn from ssh -G
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL  ssh cannot parse" in result.stdout
    assert "      fix: fix the line ssh names" in result.stdout


def test_a_busy_local_port_is_reported_with_the_process_that_holds_it(ssh_config: Path) -> None:
    with listening_socket() as sock:
        port = sock.getsockname()[1]
        add(gpu(forwards=(Forward(port, 8889),)))

        check = by_id(run_checks(where()))["port:gpu"]

    assert check.status == "fail"
    assert f"127.0.0.1:{port} is in use" in check.summary
    if shutil.which("ss") or Path("/proc/net/tcp").exists():
        assert f"(pid {os.getpid()})" in check.summary
    assert check.fix is not None
    assert "sshjup edit gpu --local-port" in check.fix
    [entry] = check.details["ports"]
    assert entry["in_use"] is True
    assert entry["by_tunnel"] is False


def test_the_port_owner_is_found_from_proc_when_ss_is_missing(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp on this platform (Linux only)")
    monkeypatch.setattr(proc, "which", lambda name: None)
    with listening_socket() as sock:
        port = sock.getsockname()[1]
        owners = doctor.port_owners(port)
    assert os.getpid() in [o.pid for o in owners]


def test_ss_output_is_parsed_with_and_without_process_names() -> None:
    text = (
        'LISTEN 0 128 127.0.0.1:8888 0.0.0.0:* users:(("python3",pid=4242,fd=3),'
        '("python3",pid=4243,fd=3))\n'
        "LISTEN 0 128 [::1]:8888 [::]:*\n"
        'LISTEN 0 128 127.0.0.1:18888 0.0.0.0:* users:(("sshd",pid=1,fd=3))\n'
    )
    found = parse_ss(text, 8888)
    assert [(o.address, o.pid, o.command) for o in found] == [
        ("127.0.0.1", 4242, "python3"),
        ("127.0.0.1", 4243, "python3"),
        ("[::1]", None, None),
    ]


def test_proc_net_tcp_is_parsed_for_listening_sockets() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
        "        0 12345 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:22B8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0"
        "        0 12346 1 0000000000000000 100 0 0 10 0\n"
    )
    assert parse_proc_net_tcp(text, 8888) == [("0100007F", 12345)]
    assert parse_proc_net_tcp(text, 8889) == []


def test_a_group_writable_config_is_reported_with_chmod_as_the_fix(ssh_config: Path) -> None:
    add(gpu())
    ssh_config.chmod(0o664)

    check = by_id(run_checks(where()))["config.permissions"]

    assert check.status in ("warn", "fail")
    assert "group-writable" in check.summary or "group can write" in check.summary
    assert check.fix == f"chmod 600 {ssh_config}"
    assert check.details["mode"] == "0664"


def test_a_world_writable_config_fails_when_it_is_the_file_ssh_reads_by_default(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssh_config.write_text("Host x\n")
    ssh_config.chmod(0o666)
    # Only the permission check runs here: pretending the temp file is ~/.ssh/config for ssh
    # would make any ssh run read the real one.
    monkeypatch.setattr(paths, "is_default_ssh_config", lambda path: True)

    checks = by_id(doctor.check_config_permissions(ssh_config, "OpenSSH_9.2p1 Debian-2"))

    check = checks["config.permissions"]
    assert check.status == "fail"
    assert "Bad owner or permissions" in check.summary
    assert check.fix == f"chmod 600 {ssh_config}"


def test_a_world_writable_ssh_dir_is_reported(ssh_config: Path) -> None:
    ssh_config.parent.chmod(0o777)
    try:
        check = by_id(run_checks(where()))["ssh_dir.permissions"]
    finally:
        ssh_config.parent.chmod(0o700)
    assert check.status == "warn"
    assert check.fix == f"chmod 700 {ssh_config.parent}"


@pytest.mark.parametrize(
    ("mode", "uid", "debian", "private", "verdict"),
    [
        (0o600, 1000, False, False, "ok"),
        (0o644, 0, False, False, "ok"),
        (0o666, 1000, True, True, "refused"),
        (0o620, 1000, False, True, "refused"),
        (0o620, 1000, True, False, "refused"),
        (0o620, 1000, True, True, "relaxed"),
        (0o600, 1001, True, True, "refused"),
    ],
)
def test_config_permissions_follow_openssh_and_debian_rules(
    mode: int, uid: int, debian: bool, private: bool, verdict: str
) -> None:
    got, reason = classify_config_mode(
        stat.S_IFREG | mode, uid, 1000, 1000, debian=debian, group_is_private=lambda g, u: private
    )
    assert got == verdict
    assert (reason == "") == (verdict == "ok")


def test_a_private_key_others_can_read_fails(ssh_config: Path, isolated: Path) -> None:
    key = isolated / ".ssh" / "id_test"
    key.write_text("not really a key\n")
    key.chmod(0o644)
    add(gpu(identity_file=str(key)))

    check = by_id(run_checks(where()))["key:gpu"]

    assert check.status == "fail"
    assert "UNPROTECTED PRIVATE KEY FILE" in check.summary
    assert check.fix == f"chmod 600 {key}"


def test_no_keyring_backend_is_a_warning_with_the_fix(ssh_config: Path) -> None:
    # conftest selects keyring's fail backend (no backend at all)
    add(gpu())

    check = by_id(run_checks(where()))["keyring"]

    assert check.status == "warn"
    assert "no keyring backend" in check.summary
    assert check.fix is not None
    assert "PYTHON_KEYRING_BACKEND" in check.fix
    assert "SSHJUP_TOKEN" in check.fix
    assert check.details["backend"] == "keyring.backends.fail.Keyring"


def test_a_hand_edited_section_is_a_warning(ssh_config: Path) -> None:
    add(gpu())
    ssh_config.write_text(
        ssh_config.read_text().replace("ServerAliveInterval 15", "Compression yes")
    )

    check = by_id(run_checks(where()))["section"]

    assert check.status == "warn"
    assert check.details["state"] == "hand-edited"
    assert check.fix is not None
    assert "--force" in check.fix


def test_a_damaged_section_fails_with_the_restore_hint(ssh_config: Path) -> None:
    add(gpu())
    text = ssh_config.read_text()
    end = text.index(END_MARK_PREFIX)
    ssh_config.write_text(text[:end] + text[text.index("\n", end) + 1 :])

    checks = run_checks(where())

    section = by_id(checks)["section"]
    assert section.status == "fail"
    assert "end marker is missing" in section.summary
    assert section.fix is not None
    assert "backup" in section.fix


def test_a_missing_section_while_the_inventory_has_hosts_fails(ssh_config: Path) -> None:
    add(gpu())
    ssh_config.write_text("Host other\n    HostName other.example.org\n")

    checks = by_id(run_checks(where()))

    assert checks["section"].status == "fail"
    assert checks["section"].fix is not None
    assert "sshjup apply" in checks["section"].fix
    assert checks["resolve:gpu"].status == "fail"


def test_a_missing_control_socket_directory_is_a_warning(
    ssh_config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    add(gpu())
    gone = Path(os.environ["SSHJUP_CONTROL_DIR"])
    gone.rmdir()
    try:
        check = by_id(run_checks(where()))["control:gpu"]
    finally:
        gone.mkdir()
    assert check.status == "warn"
    assert check.fix == f"mkdir -m 700 {gone}"


def test_doctor_for_an_unknown_name_raises_not_found(ssh_config: Path) -> None:
    add(gpu())
    with pytest.raises(NotFound):
        run_checks(where(), "nope")
    result = CliRunner().invoke(cli, ["doctor", "nope"])
    assert result.exit_code == 4


def test_doctor_name_limits_the_host_checks(ssh_config: Path) -> None:
    add(gpu())
    add(Target(name="lab", hostname="10.0.0.5", forwards=(Forward(free_port(), 8889),)))
    ids = {c.id for c in run_checks(where(), "jup-lab")}
    assert "resolve:lab" in ids
    assert "resolve:gpu" not in ids


# --- PuTTY ------------------------------------------------------------------------------------


def _keygen(path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed (apt install openssh-client)")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _session_file(name: str = "jup-gpu") -> Path:
    from sshjup.putty.store import sessions_dir

    return sessions_dir() / name


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output + result.stderr


@pytest.mark.e2e
def test_a_missing_ppk_fails_with_the_puttygen_command(
    ssh_config: Path, isolated: Path, memory_keyring: MemoryKeyring
) -> None:
    if shutil.which("puttygen") is None:
        pytest.skip("puttygen is not installed (apt install putty-tools)")
    key = isolated / ".ssh" / "id_ed25519"
    _keygen(key)
    add(gpu(identity_file=str(key), putty=True))  # writes the session and converts the key
    ppk = Path(f"{key}.sshjup.ppk")
    assert ppk.is_file()

    healthy = by_id(run_checks(where()))
    assert not_passing(list(healthy.values())) == []
    assert healthy["putty:gpu"].details["state"] == "in-sync"
    assert healthy["ppk:gpu"].status == "pass"

    ppk.unlink()
    check = by_id(run_checks(where()))["ppk:gpu"]

    assert check.status == "fail"
    assert str(ppk) in check.summary
    assert check.fix is not None
    assert f"puttygen {key} -o {ppk} -O private" in check.fix
    assert check.details == {"host": "gpu", "ppk": str(ppk), "identity_file": str(key)}

    _invoke("edit", "gpu")  # the other fix doctor names: sshjup converts the key again
    assert by_id(run_checks(where()))["ppk:gpu"].status == "pass"


def test_a_deleted_putty_session_is_missing_and_edit_writes_it_again(
    ssh_config: Path, memory_keyring: MemoryKeyring
) -> None:
    add(gpu(putty=True))
    assert by_id(run_checks(where()))["putty:gpu"].status == "pass"
    _session_file().unlink()

    check = by_id(run_checks(where()))["putty:gpu"]

    assert check.status == "warn"
    assert check.details["state"] == "missing"
    assert check.fix == "write it again from the inventory: `sshjup edit gpu`"
    _invoke("edit", "gpu")
    assert not_passing(run_checks(where())) == []


def test_a_putty_session_changed_in_putty_is_hand_edited(
    ssh_config: Path, memory_keyring: MemoryKeyring
) -> None:
    add(gpu(putty=True))
    session = _session_file()
    session.write_text(session.read_text().replace("UserName=alice", "UserName=carol"))

    check = by_id(run_checks(where()))["putty:gpu"]

    assert check.status == "warn"
    assert check.details["state"] == "hand-edited"
    assert check.fix is not None
    assert "`sshjup edit gpu --force`" in check.fix
    _invoke("edit", "gpu", "--force")
    assert by_id(run_checks(where()))["putty:gpu"].status == "pass"


def test_a_putty_session_behind_the_inventory_is_out_of_date(
    ssh_config: Path, memory_keyring: MemoryKeyring
) -> None:
    add(gpu(putty=True))
    inventory = paths.inventory_path()
    inventory.write_text(inventory.read_text().replace("user: alice", "user: bob"))

    checks = by_id(run_checks(where()))

    check = checks["putty:gpu"]
    assert check.status == "warn"
    assert check.details["state"] == "out-of-date"
    assert "~ UserName: 'alice' -> 'bob'" in check.details["changes"]
    assert "UserName" in check.summary
    assert checks["section"].details["state"] == "out-of-date"
    _invoke("edit", "gpu")
    assert not_passing(run_checks(where())) == []


def test_a_putty_session_sshjup_did_not_write_is_foreign(
    ssh_config: Path, memory_keyring: MemoryKeyring
) -> None:
    from sshjup.store import state

    add(gpu(putty=True))
    state.save(state.State(created_files=state.load().created_files))  # digests lost

    check = by_id(run_checks(where()))["putty:gpu"]

    assert check.status == "warn"
    assert check.details["state"] == "foreign"
    assert check.fix is not None
    assert "sshjup edit gpu --no-putty" in check.fix
    _invoke("edit", "gpu", "--no-putty")  # the fix works: no session is touched, no check
    assert _session_file().is_file()
    assert not [c for c in run_checks(where()) if c.id.startswith("putty:")]


def test_a_session_with_the_user_from_host_star_is_in_sync(
    ssh_config: Path, memory_keyring: MemoryKeyring
) -> None:
    # PuTTY has no `Host *`: sshjup writes the user ssh -G reports into the session, and the
    # comparison must do the same, or every such host looks out of date right after `add`.
    ssh_config.write_text("Host *\n    User bob\n")
    add(gpu(user=None, putty=True))
    assert "UserName=bob" in _session_file().read_text()

    checks = by_id(run_checks(where()))

    assert checks["putty:gpu"].details["state"] == "in-sync"
    assert not_passing(list(checks.values())) == []


def test_hosts_without_putty_get_no_putty_checks(ssh_config: Path) -> None:
    add(gpu(putty=False))
    assert not [c for c in run_checks(where()) if c.id.startswith(("putty:", "ppk:"))]


# --- a real tunnel --------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_running_tunnel_holds_its_port_and_passes(
    ssh_config: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    ssh_config.write_text(sshd.client_config_tail(known_hosts))
    ssh_config.chmod(0o600)
    local = free_port()
    add(
        Target(
            name="e2e",
            hostname="127.0.0.1",
            user=sshd.user,
            port=sshd.port,
            identity_file=str(sshd.client_key),
            forwards=(Forward(local, remote_http.port),),
        )
    )
    try:
        code, err = run_ssh(ssh_config, "jup-e2e")
        assert code == 0, err
        checks = by_id(run_checks(where(), "e2e", remote=True))
    finally:
        stop_master(ssh_config, "jup-e2e")

    assert checks["control:e2e"].status == "pass"
    assert checks["control:e2e"].details["running"] is True
    assert "tunnel up" in checks["control:e2e"].summary
    port = checks["port:e2e"]
    assert port.status == "pass", port.summary
    assert port.details["ports"][0]["by_tunnel"] is True
    assert checks["remote:e2e"].status == "pass"
    jupyter = checks["jupyter:e2e"]
    assert jupyter.status == "pass" or jupyter.fix


# --- output -----------------------------------------------------------------------------------


def test_doctor_json_has_the_documented_shape(ssh_config: Path) -> None:
    add(gpu())
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "counts", "checks"}
    assert data["ok"] is True
    assert set(data["counts"]) == {"pass", "warn", "fail"}
    for check in data["checks"]:
        assert set(check) == {"id", "status", "summary", "fix", "details"}
        assert check["status"] in ("pass", "warn", "fail")
        assert (check["fix"] is None) == (check["status"] == "pass")


def test_doctor_exits_1_when_a_check_fails_and_shows_the_fix_under_it(ssh_config: Path) -> None:
    with listening_socket() as sock:
        add(gpu(forwards=(Forward(sock.getsockname()[1], 8889),)))
        result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    fail_at = next(i for i, line in enumerate(lines) if line.startswith("FAIL  jup-gpu:"))
    assert lines[fail_at + 1].startswith("      fix: ")
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        @staticmethod
        def isatty() -> bool:
            return True

    monkeypatch.setattr("sys.stdout", Tty())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour() is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour() is False


# --- completion ------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shell_script(shell: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "_SSHJUP_COMPLETE" in result.stdout
    assert f"{shell}_complete" in result.stdout


def test_completion_refuses_an_unknown_shell() -> None:
    result = CliRunner().invoke(cli, ["completion", "tcsh"])
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["show", "edit", "remove", "up", "down", "status", "doctor"])
def test_the_completion_protocol_offers_the_managed_names(ssh_config: Path, command: str) -> None:
    add(gpu())
    add(Target(name="lab", hostname="10.0.0.5", forwards=(Forward(free_port(), 8889),)))

    result = CliRunner().invoke(
        cli,
        [],
        prog_name="sshjup",
        env={
            "_SSHJUP_COMPLETE": "bash_complete",
            "COMP_WORDS": f"sshjup {command} ",
            "COMP_CWORD": "2",
        },
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["plain,gpu", "plain,lab"]


def test_completion_of_a_prefix_and_of_aliases(ssh_config: Path) -> None:
    add(gpu())
    add(Target(name="lab", hostname="10.0.0.5", forwards=(Forward(free_port(), 8889),)))
    ctx = cli.make_context("sshjup", ["show", "x"], resilient_parsing=True)
    param = cli.commands["show"].params[0]
    assert [c.value for c in complete_names(ctx, param, "l")] == ["lab"]
    assert [c.value for c in complete_names(ctx, param, "jup-")] == ["jup-gpu", "jup-lab"]


def test_completion_never_raises_on_a_broken_inventory(ssh_config: Path) -> None:
    inventory = paths.inventory_path()
    inventory.parent.mkdir(parents=True, exist_ok=True)
    inventory.write_text("version: 1\nhosts: [this is: not valid\n")
    ctx = cli.make_context("sshjup", ["show", "x"], resilient_parsing=True)
    assert complete_names(ctx, cli.commands["show"].params[0], "") == []


def test_help_still_works_and_lists_the_new_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "doctor" in result.stdout
    assert "completion" in result.stdout


def test_importing_the_cli_does_not_import_the_doctor_library() -> None:
    code = (
        "import sys; import sshjup.cli; "
        "bad = [m for m in ('sshjup.doctor', 'sshjup.hosts', 'keyring', 'yaml') if m in sys.modules]; "
        "print(bad)"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.e2e
def test_remote_checks_find_jupyter_and_its_server_without_showing_the_token(
    ssh_config: Path, sshd_factory: Callable[..., SshServer], tmp_path: Path
) -> None:
    reason = remote_jupyter_unavailable()
    if reason:
        pytest.skip(reason)
    server = sshd_factory(login_user=remote_user())
    with remote_jupyter_dirs() as dirs:
        known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
        ssh_config.write_text(server.client_config_tail(known_hosts))
        ssh_config.chmod(0o600)
        spec = JupyterSpec(kind="server", command=str(dirs.command))
        target = Target(
            name="jr",
            hostname="127.0.0.1",
            user=server.user,
            port=server.port,
            identity_file=str(server.client_key),
            forwards=(Forward(free_port(), free_port()),),
            jupyter=spec,
        )
        add(target)

        before = by_id(run_checks(where(), "jr", remote=True))
        assert before["remote:jr"].status == "pass"
        assert before["jupyter:jr"].status == "pass", before["jupyter:jr"].summary
        assert before["jupyter:jr"].details["server_version"][0].isdigit()
        stopped = before["server:jr"]
        assert stopped.status == "warn"
        assert stopped.fix == "start it: `sshjup jupyter start jr`"

        token = new_token()
        started = None
        try:
            started = remote.start(
                target.alias, ssh_config, spec, target.remote_port, token, timeout=90
            )
            result = CliRunner().invoke(cli, ["doctor", "jr", "--remote", "--json"])
        finally:
            with contextlib.suppress(Exception):
                remote.stop(target.alias, ssh_config, spec, target.remote_port, grace_seconds=5)
            if started is not None and pid_alive(started.server.pid):
                stop_pid(started.server.pid)
    assert token not in result.stdout
    assert token not in result.stderr
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["server:jr"]["status"] == "pass"
    assert checks["server:jr"]["details"]["running"] is True
    assert checks["server:jr"]["details"]["servers"] == [
        {"port": target.remote_port, "pid": started.server.pid}
    ]


def test_remote_checks_report_an_unreachable_host(ssh_config: Path) -> None:
    port = free_port()  # nothing listens there
    ssh_config.write_text("Host *\n    BatchMode yes\n    ConnectTimeout 5\n")
    add(
        Target(name="gone", hostname="127.0.0.1", port=port, forwards=(Forward(free_port(), 8889),))
    )

    checks = by_id(run_checks(where(), "gone", remote=True))

    assert checks["remote:gone"].status == "fail"
    assert "ssh could not run a command on jup-gone" in checks["remote:gone"].summary
    assert checks["remote:gone"].fix is not None
    assert "jupyter:gone" not in checks


def test_the_bash_script_completes_names_in_a_real_bash(ssh_config: Path, tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    add(gpu())
    add(Target(name="lab", hostname="10.0.0.5", forwards=(Forward(free_port(), 8889),)))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sshjup"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sshjup "$@"\n')
    wrapper.chmod(0o755)
    script = CliRunner().invoke(cli, ["completion", "bash"]).stdout
    (tmp_path / "sshjup.bash").write_text(script)
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(root),
    }
    probe = (
        f"source {tmp_path / 'sshjup.bash'}; "
        'COMP_WORDS=(sshjup show ""); COMP_CWORD=2; _sshjup_completion sshjup; '
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == ["gpu", "lab"]
