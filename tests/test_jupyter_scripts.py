"""The pure remote-Jupyter part: the command line, the scripts, parsing, URLs, config merge, hashes.

The scripts are also run for real with the local ``sh`` (no ssh needed), against a stand-in
``jupyter`` that records its argv and environment, so what they do is tested, not only how
they read.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from sshjup.errors import ConfigParseError, InvalidInput
from sshjup.jupyter.scripts import (
    CONFIG_FILE,
    ConfigMerge,
    check_extra_args,
    check_password,
    find_server,
    hash_password,
    host_config_dir,
    list_script,
    live_servers,
    local_url,
    merge_server_config,
    new_token,
    parse_markers,
    parse_server_list,
    port_in_use,
    resolve_socket_script,
    scrub,
    server_secrets,
    shell_word,
    start_argv,
    start_script,
    stop_script,
    write_config_script,
)
from sshjup.models import JupyterSpec
from tests.support.remote_jupyter import remote_python

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "47819c652a618b1f319de765823e03efd1da8163601659d7"

LIST_OUTPUT = (
    '{"base_url": "/", "hostname": "127.0.0.1", "password": false, "pid": 19870, "port": 18889, '
    '"root_dir": "/home/alice", "secure": false, "sock": "", "token": "' + TOKEN + '", '
    '"url": "http://127.0.0.1:18889/", "version": "2.21.1"}\n'
    "some noise from a .bashrc\n"
    '{"base_url": "/", "hostname": "localhost", "pid": 20001, "port": 0, '
    '"sock": "/tmp/jupyter.sock", "token": "", "url": "http+unix://x", "version": "2.21.1"}\n'
    '{"port": "not a number", "pid": 5}\n'
    "{broken json\n"
    '{"base_url": "/jh/", "hostname": "127.0.0.1", "pid": 20002, "port": 18890, '
    '"root_dir": "/srv", "token": "", "url": "http://127.0.0.1:18890/jh/"}\n'
)


def _sh(script: str, *, home: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a script the way the remote does: ``sh -s`` with the script on stdin."""
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(
        ["sh", "-s"], input=script, capture_output=True, text=True, env=env, timeout=timeout
    )


# -- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lab", "notebook", "server"])
def test_start_argv_binds_loopback_on_the_port_without_browser_or_retries(kind: str) -> None:
    argv = start_argv(JupyterSpec(kind=kind), 8889)
    assert argv == [
        "jupyter",
        kind,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=8889",
        "--ServerApp.port_retries=0",
    ]


def test_start_argv_uses_the_given_jupyter_root_dir_and_extra_args_last() -> None:
    spec = JupyterSpec(
        kind="lab",
        command="/opt/conda/envs/ml/bin/jupyter",
        args=("--ServerApp.base_url=/jh/", "--LabApp.collaborative=True"),
        root_dir="~/work",
    )
    argv = start_argv(spec, 9999)
    assert argv[0] == "/opt/conda/envs/ml/bin/jupyter"
    assert argv[1] == "lab"
    assert "--ServerApp.root_dir=~/work" in argv
    assert argv[-2:] == ["--ServerApp.base_url=/jh/", "--LabApp.collaborative=True"]


@pytest.mark.parametrize(
    "arg",
    [
        "--ServerApp.ip=0.0.0.0",
        "--ip=0.0.0.0",
        "--port=8888",
        "--ServerApp.port_retries=50",
        "--IdentityProvider.token=abc",
        "--ServerApp.token=abc",
        "--NotebookApp.password=sha1:x:y",
    ],
)
def test_extra_args_cannot_override_the_bind_the_port_or_carry_a_secret(arg: str) -> None:
    with pytest.raises(InvalidInput, match=r"set by sshjup|would put a secret"):
        start_argv(JupyterSpec(args=(arg,)), 8889)


@pytest.mark.parametrize(
    "args",
    [
        ("-ServerApp.token=s3cret",),
        ("--ServerApp.token", "s3cret"),
        ("-IdentityProvider.token", "s3cret"),
        ("--PasswordIdentityProvider.hashed_password=argon2:s3cret",),
        ("--PasswordIdentityProvider.password=s3cret",),
        ("--IdentityProvider.hashed-password=sha1:s3cret",),
        ("--NotebookApp.token=s3cret",),
        ("--notebookapp.TOKEN=s3cret",),
        ("--ServerApp.password", "s3cret"),
        ("---token=s3cret",),
        ("--password=s3cret",),
        ("-ServerApp.port=9",),
        ("-ip=0.0.0.0",),
        ("--port-retries=5",),
    ],
)
def test_every_spelling_jupyter_accepts_of_a_secret_or_reserved_option_is_refused(
    args: tuple[str, ...],
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_extra_args(args)
    assert "s3cret" not in str(caught.value) + (caught.value.hint or "")


def test_an_ordinary_extra_arg_or_a_value_that_looks_like_an_option_name_passes() -> None:
    ok = ("--ServerApp.base_url=/jh/", "--LabApp.collaborative=True", "--debug", "notes/token")
    assert check_extra_args(ok) == ok


def test_scrub_masks_a_known_secret_and_anything_token_shaped() -> None:
    token = "f" * 48
    text = (
        f"http://127.0.0.1:8888/lab?token={token}\n"
        '{"port": 8888, "token": "hand-made-token", "password": false}\n'
        "IdentityProvider.token = my-own-long-secret\n"
        "custom pass phrase: open-sesame-123\n"
        "an ordinary line, pid 1234\n"
    )
    out = scrub(text, ("open-sesame-123",))
    for secret in (token, "hand-made-token", "my-own-long-secret", "open-sesame-123"):
        assert secret not in out
    assert "an ordinary line, pid 1234" in out
    assert out.count("***") == 4


def test_server_secrets_are_the_tokens_of_the_server_list() -> None:
    listed = '{"port": 1, "pid": 2, "token": "abc"}\n{"port": 3, "pid": 4, "token": ""}\n'
    assert server_secrets(listed) == ("abc",)


def test_a_home_relative_path_is_expanded_by_the_remote_shell() -> None:
    assert (
        shell_word("~/venv/bin/jupyter") == "\"$HOME\"'/venv/bin/jupyter'"
        or shell_word("~/venv/bin/jupyter") == '"$HOME"/venv/bin/jupyter'
    )
    assert shell_word("--ServerApp.root_dir=~/w") == '--ServerApp.root_dir="$HOME"/w'
    assert shell_word("a;b") == "'a;b'"


# -- secrets stay out of argv -----------------------------------------------------------------


def test_the_token_is_only_a_shell_assignment_in_the_start_script() -> None:
    spec = JupyterSpec(kind="lab", command="~/venv/bin/jupyter", root_dir="~/nb")
    script = start_script(spec, 8889, TOKEN)
    lines_with_token = [line for line in script.splitlines() if TOKEN in line]
    assert lines_with_token == [f"JUPYTER_TOKEN={TOKEN}"]
    assert "export JUPYTER_TOKEN" in script
    assert all(TOKEN not in word for word in start_argv(spec, 8889))


@pytest.mark.parametrize("bad", ["", "has space", "new\nline", "tab\t"])
def test_the_start_script_refuses_tokens_a_shell_or_url_would_mangle(bad: str) -> None:
    with pytest.raises(InvalidInput):
        start_script(JupyterSpec(), 8889, bad)


def test_a_token_with_shell_characters_reaches_jupyter_unchanged(tmp_path: Path) -> None:
    token = "a'b\"c$d`e\\f;g|h&i*"
    fake = _fake_jupyter(tmp_path)
    script = start_script(JupyterSpec(kind="server", command=str(fake)), 18889, token)
    result = _sh(script, home=tmp_path)
    assert result.returncode == 0, result.stderr
    record = _wait_for(tmp_path / "record.json")
    assert record["token"] == token
    assert all(token not in arg for arg in record["argv"])


def _fake_jupyter(tmp_path: Path) -> Path:
    """A stand-in ``jupyter`` that records its argv, environment token and umask, then exits."""
    fake = tmp_path / "bin" / "jupyter"
    fake.parent.mkdir()
    record = tmp_path / "record.json"
    fake.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        "if sys.argv[1:] == ['--config-dir']:\n"
        "    print(os.environ['HOME'] + '/.jupyter'); sys.exit(0)\n"
        "mask = os.umask(0); os.umask(mask)\n"
        f"tmp = {str(record)!r} + '.tmp'\n"
        "with open(tmp, 'w') as f:\n"
        "    json.dump({'argv': sys.argv[1:], 'token': os.environ.get('JUPYTER_TOKEN'),\n"
        "               'umask': mask, 'sid': os.getsid(0) == os.getpid(),\n"
        "               'cwd': os.getcwd(),\n"
        "               'config_path': os.environ.get('JUPYTER_CONFIG_PATH')}, f)\n"
        f"os.replace(tmp, {str(record)!r})\n"
        "print('fake jupyter ran')\n"
    )
    fake.chmod(0o755)
    return fake


def test_start_script_puts_the_hosts_own_config_dir_first_on_the_config_path(
    tmp_path: Path,
) -> None:
    fake = _fake_jupyter(tmp_path)
    spec = JupyterSpec(kind="server", command=str(fake))
    script = start_script(spec, 18889, TOKEN, config_dir=host_config_dir("jup-gpu"))
    result = _sh(script, home=tmp_path)
    assert result.returncode == 0, result.stderr
    record = _wait_for(tmp_path / "record.json")
    assert record["config_path"] == f"{tmp_path}/.jupyter/sshjup/jup-gpu"
    # The user's global config dir is not replaced: only put after the host's own.
    assert "JUPYTER_CONFIG_DIR" not in script


def _wait_for(path: Path, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_start_script_detaches_jupyter_with_a_private_log(tmp_path: Path) -> None:
    fake = _fake_jupyter(tmp_path)
    (tmp_path / "nb").mkdir()
    spec = JupyterSpec(kind="lab", command=str(fake), root_dir="~/nb", args=("--debug",))
    result = _sh(start_script(spec, 18889, TOKEN), home=tmp_path)
    assert result.returncode == 0, result.stderr
    out = parse_markers(result.stdout)
    assert out.values["pid"].isdigit()
    log = Path(out.values["log"])
    assert log == tmp_path / ".local" / "state" / "sshjup" / "jupyter-18889.log"

    record = _wait_for(tmp_path / "record.json")
    assert record["argv"] == [
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=18889",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={tmp_path}/nb",
        "--debug",
    ]
    assert record["token"] == TOKEN
    assert record["umask"] == 0o077
    assert record["cwd"] == str(tmp_path)
    if subprocess.run(["sh", "-c", "command -v setsid"], capture_output=True).returncode == 0:
        assert record["sid"] is True  # its own session: the ssh session ending does not stop it
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    deadline = time.monotonic() + 10
    while "fake jupyter ran" not in log.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert TOKEN not in log.read_text()


def test_start_script_reports_a_missing_root_dir_and_a_missing_jupyter(tmp_path: Path) -> None:
    fake = _fake_jupyter(tmp_path)
    spec = JupyterSpec(command=str(fake), root_dir="~/nowhere")
    result = _sh(start_script(spec, 18889, TOKEN), home=tmp_path)
    assert parse_markers(result.stdout).values.get("error") == "root-dir"
    assert result.returncode == 6

    spec = JupyterSpec(command="~/no/such/jupyter")
    result = _sh(start_script(spec, 18889, TOKEN), home=tmp_path)
    assert result.returncode == 3
    assert parse_markers(result.stdout).values["missing-jupyter"] == f"{tmp_path}/no/such/jupyter"


def test_stop_script_refuses_init_and_nonsense_pids() -> None:
    for pid in (0, 1, -5):
        with pytest.raises(InvalidInput):
            stop_script(pid)


def test_stop_script_terminates_the_process(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])  # our child: a zombie until we reap it
    try:
        result = _sh(stop_script(sleeper.pid, grace_seconds=5), home=tmp_path)
        assert "stopped" in parse_markers(result.stdout).flags, result.stdout
        assert result.returncode == 0
        assert sleeper.wait(timeout=10) == -15
        again = _sh(stop_script(sleeper.pid), home=tmp_path)  # reaped: nothing left to stop
        assert "gone" in parse_markers(again.stdout).flags
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_stop_script_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"],
        stdout=subprocess.PIPE,
    )
    try:
        # Only once the trap is set does SIGTERM get ignored; before that it would end the shell.
        assert stubborn.stdout is not None
        assert stubborn.stdout.readline() == b"ready\n"
        result = _sh(stop_script(stubborn.pid, grace_seconds=1), home=tmp_path)
        assert {"killed", "stopped"} <= parse_markers(result.stdout).flags, result.stdout
        assert stubborn.wait(timeout=10) == -9
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
            stubborn.wait()
        if stubborn.stdout is not None:
            stubborn.stdout.close()


def test_a_listed_server_whose_process_is_a_zombie_or_gone_is_not_live(tmp_path: Path) -> None:
    # `jupyter server list` trusts `kill -0`: the runtime file of a killed server whose zombie
    # nobody reaped still lists it. The list script names such pids, and live_servers drops them.
    zombie = subprocess.Popen(["true"])  # our child: a zombie until we reap it
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if ") Z " in Path(f"/proc/{zombie.pid}/stat").read_text():
            break
        time.sleep(0.02)
    else:
        pytest.fail("the child did not become a zombie")
    gone = subprocess.Popen(["true"])
    gone.wait()
    live = os.getpid()
    entries = [
        {"port": 18001 + i, "pid": pid, "url": "", "token": "t"}
        for i, pid in enumerate((live, zombie.pid, gone.pid))
    ]
    fake = tmp_path / "jupyter"
    listing = "".join(json.dumps(e) + "\\n" for e in entries)
    fake.write_text(f"#!/bin/sh\nprintf '{listing}'\n")
    fake.chmod(0o700)
    try:
        out = parse_markers(_sh(list_script(JupyterSpec(command=str(fake))), home=tmp_path).stdout)
        assert [s.pid for s in parse_server_list(out.blocks["list"])] == [
            live,
            zombie.pid,
            gone.pid,
        ]
        assert [s.pid for s in live_servers(out)] == [live]
    finally:
        zombie.wait()


# -- reading answers --------------------------------------------------------------------------


def test_server_list_lines_are_parsed_and_noise_is_skipped() -> None:
    servers = parse_server_list(LIST_OUTPUT)
    assert [(s.port, s.pid) for s in servers] == [(18889, 19870), (0, 20001), (18890, 20002)]
    first = servers[0]
    assert first.token == TOKEN
    assert first.root_dir == "/home/alice"
    assert first.url == "http://127.0.0.1:18889/"
    assert first.version == "2.21.1"
    assert not first.password_mode
    assert servers[2].password_mode  # token "" means a password is set
    assert servers[2].base_url == "/jh/"
    assert TOKEN not in repr(first)
    assert TOKEN not in first.describe()


def test_the_server_on_our_port_is_found_and_unix_sockets_are_ignored() -> None:
    servers = parse_server_list(LIST_OUTPUT)
    found = find_server(servers, 18889)
    assert found is not None
    assert found.pid == 19870
    assert find_server(servers, 0) is None
    assert find_server(servers, 8889) is None
    assert parse_server_list("") == []


def test_markers_values_flags_and_blocks() -> None:
    out = parse_markers(
        "motd line\n"
        "@@sshjup pid 123\n"
        "@@sshjup alive 1\n"
        "@@sshjup config-py\n"
        "@@sshjup begin config\n"
        '{\n  "a": 1\n}\n'
        "\n"
        "@@sshjup end config\n"
        "@@sshjup begin log\n"
        "cut off"
    )
    assert out.values == {"pid": "123", "alive": "1"}
    assert out.flags == {"config-py"}
    assert out.blocks["config"] == '{\n  "a": 1\n}\n'
    assert out.blocks["log"] == "cut off"


def test_port_taken_is_recognised_in_jupyters_log() -> None:
    log = (
        "[I ServerApp] The port 8889 is already in use.\n"
        "[C ServerApp] ERROR: the Jupyter server could not be started because port 8889 is not "
        "available.\n"
    )
    assert port_in_use(log, 8889)
    assert not port_in_use(log, 8888)
    assert not port_in_use("[I ServerApp] Jupyter Server 2.21.1 is running at:", 8889)


# -- the URL ----------------------------------------------------------------------------------


def test_local_urls_for_editors_and_browsers() -> None:
    assert local_url(8888, TOKEN) == f"http://127.0.0.1:8888/?token={TOKEN}"
    assert local_url(8888, TOKEN, kind="lab") == f"http://127.0.0.1:8888/lab?token={TOKEN}"
    assert local_url(8888, TOKEN, kind="notebook") == f"http://127.0.0.1:8888/tree?token={TOKEN}"
    assert local_url(8888, None, kind="lab") == "http://127.0.0.1:8888/lab"
    assert local_url(8888, "a b&c/d") == "http://127.0.0.1:8888/?token=a%20b%26c%2Fd"
    assert local_url(8888, "t", base_url="/jh/") == "http://127.0.0.1:8888/jh/?token=t"
    assert local_url(8888, "t", kind="lab", base_url="jh") == "http://127.0.0.1:8888/jh/lab?token=t"
    with pytest.raises(InvalidInput):
        local_url(0, "t")


# -- jupyter_server_config.json ---------------------------------------------------------------


def test_a_new_config_gets_sshjups_settings() -> None:
    merge = merge_server_config(None, 8889)
    assert json.loads(merge.new_text) == {
        "ServerApp": {"ip": "127.0.0.1", "port": 8889, "port_retries": 0, "open_browser": False}
    }
    assert merge.new_text.endswith("}\n")
    assert merge.changed
    assert merge.replaces == ()
    assert merge.diff().startswith("--- /dev/null\n")


def test_merge_keeps_other_settings_and_their_order() -> None:
    old = json.dumps(
        {
            "ServerApp": {"terminals_enabled": False, "port": 8889},
            "MappingKernelManager": {"cull_idle_timeout": 3600},
        },
        indent=4,
    )
    merge = merge_server_config(old, 8889)
    data = json.loads(merge.new_text)
    assert list(data) == ["ServerApp", "MappingKernelManager"]
    assert data["MappingKernelManager"] == {"cull_idle_timeout": 3600}
    assert list(data["ServerApp"]) == [
        "terminals_enabled",
        "port",
        "ip",
        "port_retries",
        "open_browser",
    ]
    assert data["ServerApp"]["terminals_enabled"] is False
    assert [c.name for c in merge.changes] == [
        "ServerApp.ip",
        "ServerApp.port_retries",
        "ServerApp.open_browser",
    ]
    assert merge.replaces == ()  # only additions: nothing the user set gets another value


def test_values_the_user_set_differently_are_reported_as_replacements() -> None:
    everywhere = "0.0.0.0"  # noqa: S104 (a config value under test, not a bind)
    old = json.dumps({"ServerApp": {"ip": everywhere, "port": 8888, "port_retries": 0}}, indent=2)
    merge = merge_server_config(old, 8889)
    assert [c.describe() for c in merge.replaces] == [
        'ServerApp.ip: "0.0.0.0" -> "127.0.0.1"',
        "ServerApp.port: 8888 -> 8889",
    ]
    diff = merge.diff()
    assert '-    "ip": "0.0.0.0",' in diff
    assert diff.endswith("-}\n\\ No newline at end of file\n+}\n")
    assert '+    "ip": "127.0.0.1",' in diff


def test_an_up_to_date_config_is_left_byte_for_byte() -> None:
    old = (
        '{"ServerApp": {"ip": "127.0.0.1", "port": 8889, "port_retries": 0, "open_browser": false}}'
    )
    merge = merge_server_config(old, 8889)
    assert not merge.changed
    assert merge.new_text == old
    assert merge.diff() == ""


def test_a_string_port_or_a_numeric_false_is_not_taken_as_equal() -> None:
    old = '{"ServerApp": {"ip": "127.0.0.1", "port": "8889", "port_retries": 0, "open_browser": 0}}'
    merge = merge_server_config(old, 8889)
    assert [c.name for c in merge.replaces] == ["ServerApp.port", "ServerApp.open_browser"]


def test_the_password_hash_goes_where_jupyter_reads_it_and_is_masked_in_the_diff() -> None:
    digest = hash_password("s3cret-pass", algorithm="sha512")
    merge = merge_server_config(None, 8889, password_hash=digest)
    assert json.loads(merge.new_text)["IdentityProvider"] == {"hashed_password": digest}
    assert digest not in merge.diff()
    assert "<new hash hidden>" in merge.diff()
    assert all(digest not in c.describe() for c in merge.changes)

    old = json.dumps(
        {
            "PasswordIdentityProvider": {"hashed_password": "sha1:aa:bb"},
            "ServerApp": {"password": "sha1:cc:dd"},
        }
    )
    merge = merge_server_config(old, 8889, password_hash=digest)
    data = json.loads(merge.new_text)
    assert data["PasswordIdentityProvider"]["hashed_password"] == digest
    assert data["ServerApp"]["password"] == digest
    assert data["IdentityProvider"]["hashed_password"] == digest
    assert len(merge.notes) == 2
    diff = merge.diff()
    assert "sha1:aa:bb" not in diff
    assert "sha1:cc:dd" not in diff


@pytest.mark.parametrize(
    "old", ["{not json", "[1, 2]", '"text"', '{"ServerApp": "yes"}', '{"ServerApp": [1]}']
)
def test_a_config_that_is_not_an_object_of_objects_is_refused(old: str) -> None:
    with pytest.raises(ConfigParseError):
        merge_server_config(old, 8889)


def test_an_empty_file_counts_as_no_settings() -> None:
    merge = merge_server_config("  \n", 8889)
    assert json.loads(merge.new_text)["ServerApp"]["port"] == 8889


# -- writing the config on the remote (compare-and-swap), run with the local sh ---------------


def _write(cdir: Path, merge: ConfigMerge, home: Path) -> subprocess.CompletedProcess[str]:
    return _sh(write_config_script(str(cdir), merge.old_text, merge.new_text), home=home)


def test_writing_a_new_config_creates_a_private_file(tmp_path: Path) -> None:
    cdir = tmp_path / ".jupyter"
    merge = merge_server_config(None, 8889)
    result = _write(cdir, merge, tmp_path)
    assert result.returncode == 0, result.stderr
    path = cdir / CONFIG_FILE
    assert parse_markers(result.stdout).values["written"] == str(path)
    assert path.read_text() == merge.new_text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (cdir / (CONFIG_FILE + ".sshjup.bak")).exists()
    assert [p.name for p in cdir.iterdir()] == [CONFIG_FILE]


@pytest.mark.parametrize("old", ['{"ServerApp": {"port": 1}}', '{"ServerApp": {"port": 1}}\n\n'])
def test_rewriting_keeps_a_backup_whatever_the_final_newlines(tmp_path: Path, old: str) -> None:
    cdir = tmp_path / ".jupyter"
    cdir.mkdir()
    path = cdir / CONFIG_FILE
    path.write_text(old)
    path.chmod(0o644)
    merge = merge_server_config(old, 8889)
    result = _write(cdir, merge, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_text() == merge.new_text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backup = cdir / (CONFIG_FILE + ".sshjup.bak")
    assert backup.read_text() == old
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_a_config_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    cdir = tmp_path / ".jupyter"
    cdir.mkdir()
    path = cdir / CONFIG_FILE
    path.write_text('{"ServerApp": {"port": 1}}\n')
    merge = merge_server_config(path.read_text(), 8889)
    path.write_text('{"ServerApp": {"port": 2}}\n')  # someone edits it meanwhile
    result = _write(cdir, merge, tmp_path)
    assert "changed" in parse_markers(result.stdout).flags
    assert result.returncode == 7
    assert path.read_text() == '{"ServerApp": {"port": 2}}\n'

    path.unlink()  # a file that appeared where none was
    fresh = merge_server_config(None, 8889)
    path.write_text("{}\n")
    assert "changed" in parse_markers(_write(cdir, fresh, tmp_path).stdout).flags
    assert path.read_text() == "{}\n"


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    cdir = tmp_path / ".jupyter"
    cdir.mkdir()
    target = tmp_path / "dotfiles" / CONFIG_FILE
    target.parent.mkdir()
    target.write_text("{}\n")
    (cdir / CONFIG_FILE).symlink_to(target)
    merge = merge_server_config("{}\n", 8889)
    result = _write(cdir, merge, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (cdir / CONFIG_FILE).is_symlink()
    assert target.read_text() == merge.new_text


def test_the_hash_reaches_the_file_through_the_script_not_a_command_line(tmp_path: Path) -> None:
    digest = hash_password("s3cret-pass", algorithm="sha512")
    merge = merge_server_config(None, 8889, password_hash=digest)
    script = write_config_script(str(tmp_path / "c"), None, merge.new_text)
    heredoc_lines = [line for line in script.splitlines() if digest in line]
    assert heredoc_lines == [f'    "hashed_password": "{digest}"']
    _sh(script, home=tmp_path)
    assert json.loads((tmp_path / "c" / CONFIG_FILE).read_text())["IdentityProvider"] == {
        "hashed_password": digest
    }


# -- tokens and password hashes ---------------------------------------------------------------


def test_new_tokens_look_like_jupyters_own() -> None:
    a, b = new_token(), new_token()
    assert len(a) == 48
    assert int(a, 16) >= 0
    assert a != b


def test_the_stdlib_hash_is_jupyters_salted_form_with_sha512() -> None:
    digest = hash_password("correct horse", algorithm="sha512")
    algorithm, salt, hexdigest = digest.split(":")
    assert algorithm == "sha512"
    assert len(salt) == 32
    assert len(hexdigest) == 128
    assert check_password(digest, "correct horse")
    assert not check_password(digest, "correct horsf")
    assert hash_password("correct horse", algorithm="sha512") != digest  # salted
    assert "correct horse" not in digest
    with pytest.raises(InvalidInput):
        hash_password("")


def _jupyter_python() -> str:
    python = remote_python()
    if not os.access(python, os.X_OK):
        pytest.skip(f"no Python with jupyter_server at {python} (run .ci/setup-remote-jupyter.sh)")
    return python


def _run_in_jupyter_python(code: str, stdin: str) -> str:
    env = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    result = subprocess.run(
        [_jupyter_python(), "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def test_jupyter_server_accepts_the_stdlib_hash() -> None:
    digest = hash_password("correct horse", algorithm="sha512")
    code = (
        "import sys\n"
        "from jupyter_server.auth import passwd_check\n"
        "digest, good, bad = sys.stdin.read().split('\\n')\n"
        "print(passwd_check(digest, good), passwd_check(digest, bad))\n"
    )
    assert _run_in_jupyter_python(code, f"{digest}\ncorrect horse\nwrong") == "True False"


def test_with_argon2_cffi_the_hash_is_exactly_what_jupyter_server_password_makes() -> None:
    code = (
        "import sys\n"
        "from jupyter_server.auth import passwd_check\n"
        "from sshjup.jupyter.scripts import hash_password, check_password\n"
        "pw = sys.stdin.read()\n"
        "h = hash_password(pw)\n"
        "print(h.split('$')[:4], passwd_check(h, pw), passwd_check(h, pw + 'x'),"
        " check_password(h, pw))\n"
    )
    out = _run_in_jupyter_python(code, "correct horse")
    assert out == "['argon2:', 'argon2id', 'v=19', 'm=10240,t=10,p=8'] True False True"


# -- Jupyter on a Unix socket (--remote-socket) -------------------------------------------------

SOCK = "/home/alice/.local/share/sshjup/run/jupyter-gpu.sock"


def test_start_argv_on_a_socket_opens_no_tcp_port() -> None:
    argv = start_argv(JupyterSpec(kind="server"), 18889, SOCK)
    assert argv == [
        "jupyter",
        "server",
        "--no-browser",
        f"--ServerApp.sock={SOCK}",
        "--ServerApp.sock_mode=0600",
        "--ServerApp.port=8888",  # jupyter_server's default: the only port it accepts with --sock
        "--ServerApp.port_retries=0",
    ]
    assert not any(a.startswith("--ServerApp.ip") for a in argv)


@pytest.mark.parametrize(
    "arg",
    [
        "--sock=/tmp/x.sock",
        "--ServerApp.sock=/tmp/x",
        "--sock-mode=0777",
        "--ServerApp.sock_mode=0666",
    ],
)
def test_extra_args_cannot_move_or_open_the_socket(arg: str) -> None:
    with pytest.raises(InvalidInput, match="set by sshjup"):
        start_argv(JupyterSpec(args=(arg,)), 18889, SOCK)


def test_the_server_on_our_socket_is_found_by_its_path() -> None:
    servers = parse_server_list(LIST_OUTPUT)
    found = find_server(servers, 18889, "/tmp/jupyter.sock")
    assert found is not None
    assert found.pid == 20001
    assert found.describe().endswith("on /tmp/jupyter.sock")
    assert find_server(servers, 18889, "/tmp/other.sock") is None


def test_setup_on_a_socket_writes_sock_and_mode_instead_of_ip_and_port() -> None:
    merge = merge_server_config(None, 18889, sock=SOCK)
    assert json.loads(merge.new_text) == {
        "ServerApp": {"sock": SOCK, "sock_mode": "0600", "port_retries": 0, "open_browser": False}
    }


def _socket_path(result: subprocess.CompletedProcess[str]) -> Path:
    assert result.returncode == 0, result.stdout + result.stderr
    return Path(parse_markers(result.stdout).values["socket"])


def test_the_default_socket_goes_in_a_new_private_dir_under_the_data_dir(tmp_path: Path) -> None:
    home = tmp_path / "h"
    (home / ".local").mkdir(parents=True, mode=0o755)
    path = _socket_path(_sh(resolve_socket_script(None, "gpu", create=True), home=home))
    assert path == home / ".local" / "share" / "sshjup" / "run" / "jupyter-gpu.sock"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700  # made with umask 077
    assert not path.exists()  # the socket itself is Jupyter's to create


def test_home_relative_and_absolute_socket_requests_resolve_to_absolute_paths(
    tmp_path: Path,
) -> None:
    home = tmp_path / "h"
    home.mkdir()
    for requested in ("~/.js/j.sock", ".js/j.sock"):
        path = _socket_path(_sh(resolve_socket_script(requested, "gpu", create=True), home=home))
        assert path == home / ".js" / "j.sock"
    (home / "link").symlink_to(home / ".js")
    path = _socket_path(
        _sh(resolve_socket_script(f"{home}/link/j.sock", "gpu", create=True), home=home)
    )
    assert path == home / ".js" / "j.sock"  # the directory's symlinks resolved once


def test_a_socket_dir_others_can_open_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "h"
    (home / "open").mkdir(parents=True)
    (home / "open").chmod(0o755)
    result = _sh(resolve_socket_script("~/open/j.sock", "gpu", create=True), home=home)
    assert result.returncode == 6
    out = parse_markers(result.stdout)
    assert out.values["error"] == "socket-dir drwxr-xr-x"
    assert out.values["dir"] == str(home / "open")
    assert "socket" not in out.values
    assert stat.S_IMODE((home / "open").stat().st_mode) == 0o755  # left as it was


def test_a_dry_run_resolves_the_socket_path_without_creating_anything(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    result = _sh(resolve_socket_script(None, "gpu", create=False), home=home)
    out = parse_markers(result.stdout)
    assert "socket-dir-missing" in out.flags
    assert out.values["socket"] == f"{home}/.local/share/sshjup/run/jupyter-gpu.sock"
    assert list(home.iterdir()) == []


@pytest.mark.parametrize("bad", ["~", "dir/", "a b.sock", "$HOME/x.sock", "/x/%h.sock"])
def test_socket_requests_with_shell_or_ssh_syntax_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        resolve_socket_script(bad, "gpu", create=True)


def test_the_start_script_checks_the_socket_dir_before_starting(tmp_path: Path) -> None:
    fake = _fake_jupyter(tmp_path)
    spec = JupyterSpec(kind="server", command=str(fake))
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    result = _sh(start_script(spec, 18889, TOKEN, f"{open_dir}/j.sock"), home=tmp_path)
    assert (result.returncode, parse_markers(result.stdout).values["error"]) == (
        6,
        "socket-dir drwxr-xr-x",
    )
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "j.sock").write_text("a plain file")
    result = _sh(start_script(spec, 18889, TOKEN, f"{private}/j.sock"), home=tmp_path)
    assert (result.returncode, parse_markers(result.stdout).values["error"]) == (6, "not-a-socket")
    assert not (tmp_path / "record.json").exists()  # Jupyter never started

    sock = tmp_path / "new" / "j.sock"  # a directory removed since: made again, 0700
    result = _sh(start_script(spec, 18889, TOKEN, str(sock)), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    assert f"--ServerApp.sock={sock}" in _wait_for(tmp_path / "record.json")["argv"]  # type: ignore[operator]
