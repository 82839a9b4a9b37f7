"""The Jupyter commands of the CLI without a remote: tokens, precedence, no keyring, refusals.

``sshjup url``, ``sshjup token set|get|delete`` and the checks ``sshjup jupyter start|setup``
make before they contact the remote, run in-process with CliRunner (and once as a real
``python -m sshjup`` process). The host is added with ``sshjup add`` for a name that is never
contacted: every command here must be decided locally, and the tests check that no ssh runs.
The end-to-end half (a real Jupyter behind a real sshd) is tests/test_jupyter_cli_e2e.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest
from click.testing import CliRunner, Result
from keyring.backends import fail

from sshjup.cli import cli
from sshjup.store.tokens import SERVICE
from tests.support.memkeyring import MemoryKeyring
from tests.support.remote_jupyter import ProcessStartRecorder

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef"
NO_BACKEND = "Error: no keyring backend is available to store Jupyter tokens and passwords"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def ok(*args: str, input: str | None = None) -> Result:
    result = run(*args, input=input)
    assert result.exit_code == 0, f"sshjup {' '.join(args)}: {result.output}{result.stderr}"
    return result


@pytest.fixture
def gpu(ssh_config: Path) -> str:
    """A managed host jup-gpu (ssh to 127.0.0.1:9, local port 18888): never contacted here."""
    ok(
        "add",
        "127.0.0.1",
        "--port",
        "9",
        "--name",
        "gpu",
        "--local-port",
        "18888",
        "--remote-port",
        "18889",
    )
    return "gpu"


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """keyring re-reads PYTHON_KEYRING_BACKEND (conftest: the fail backend), as a fresh run does.

    keyring caches its backend per process; an earlier test may have left another one.
    """
    prev = keyring.get_keyring()
    keyring.core.init_backend()
    assert isinstance(keyring.get_keyring(), fail.Keyring)
    try:
        yield
    finally:
        keyring.set_keyring(prev)


def _ssh_starts(recorder: ProcessStartRecorder) -> list[object]:
    """argv of every ssh this process started while ``recorder`` was on."""
    found = []
    for event, args in recorder.events:
        argv = args[1] if event == "subprocess.Popen" else args
        if "ssh" in repr(argv):
            found.append(argv)
    return found


def _assert_no_backend(result: Result, stdout: str = "") -> None:
    assert result.exit_code == 7, result.output + result.stderr
    assert result.stdout == stdout
    first, _, hint = result.stderr.partition("\nHint: ")
    assert first == NO_BACKEND
    for fix in ("install and select a keyring backend", "PYTHON_KEYRING_BACKEND", "SSHJUP_TOKEN"):
        assert fix in hint


# -- the precedence chain: --token, then $SSHJUP_TOKEN, then the keyring ----------------------


def test_url_takes_the_token_from_the_flag_then_the_environment_then_the_keyring(
    gpu: str, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = "http://127.0.0.1:18888/?token="
    ok("token", "set", gpu, input="keyring-token\n")
    assert memory_keyring.store == {(SERVICE, "jup-gpu"): "keyring-token"}

    assert ok("url", "--no-check", gpu).stdout == base + "keyring-token\n"
    monkeypatch.setenv("SSHJUP_TOKEN", "env-token")
    assert ok("url", "--no-check", gpu).stdout == base + "env-token\n"
    assert ok("url", "--no-check", gpu, "--token", "cli-token").stdout == base + "cli-token\n"
    # Empty counts as not given; surrounding whitespace is dropped.
    assert ok("url", "--no-check", gpu, "--token", "  ").stdout == base + "env-token\n"
    monkeypatch.setenv("SSHJUP_TOKEN", " \n")
    assert ok("url", "--no-check", gpu).stdout == base + "keyring-token\n"
    assert ok("url", "--no-check", gpu, "--token", " cli-token\n").stdout == base + "cli-token\n"


def test_url_quotes_the_token_and_warns_when_there_is_none(
    gpu: str, memory_keyring: MemoryKeyring
) -> None:
    assert ok("url", "--no-check", gpu, "--token", "a&b+c/d").stdout == (
        "http://127.0.0.1:18888/?token=a%26b%2Bc%2Fd\n"
    )
    result = ok("url", "--no-check", gpu)
    assert result.stdout == "http://127.0.0.1:18888/\n"
    assert result.stderr == "Warning: no token known (fine if the server uses a password).\n"


def test_url_forms_for_editors_and_json_with_base_url_and_token_apart(
    gpu: str, memory_keyring: MemoryKeyring
) -> None:
    root = "http://127.0.0.1:18888/"
    assert ok("url", "--no-check", gpu, "--token", "t1", "--lab").stdout == root + "lab?token=t1\n"
    assert (
        ok("url", "--no-check", gpu, "--token", "t1", "--tree").stdout == root + "tree?token=t1\n"
    )
    assert ok("url", "--no-check", gpu, "--token", "t1", "--root").stdout == root + "?token=t1\n"
    data = json.loads(ok("url", "--no-check", gpu, "--token", "t1", "--lab", "--json").stdout)
    assert data == {
        "url": root + "lab?token=t1",
        "base_url": root,
        "token": "t1",
        "token_source": "cli",
    }


def test_token_set_reads_stdin_get_prints_it_and_delete_removes_it(
    gpu: str, memory_keyring: MemoryKeyring
) -> None:
    result = ok("token", "set", gpu, input=TOKEN + "\n")
    assert result.stdout == "Stored in the keyring.\n"
    assert TOKEN not in result.output + result.stderr
    assert memory_keyring.store == {(SERVICE, "jup-gpu"): TOKEN}
    assert ok("token", "get", gpu).stdout == TOKEN + "\n"
    assert ok("token", "get", "jup-gpu").stdout == TOKEN + "\n"  # the alias works too

    assert ok("token", "delete", gpu).stdout == "Deleted.\n"
    assert memory_keyring.store == {}
    assert ok("token", "delete", gpu).stdout == "No token was stored.\n"
    missing = run("token", "get", gpu)
    assert missing.exit_code == 4
    assert missing.stderr == (
        "Error: no token is stored for jup-gpu\n"
        "Hint: start Jupyter with `sshjup jupyter start gpu`, or `sshjup token set gpu`\n"
    )


def test_token_set_refuses_an_empty_or_unusable_token_without_quoting_it(
    gpu: str, memory_keyring: MemoryKeyring
) -> None:
    empty = run("token", "set", gpu, input="\n")
    assert empty.exit_code == 2
    assert "the token is empty" in empty.stderr
    spaced = run("token", "set", gpu, input="s3cret with space\n")
    assert spaced.exit_code == 2
    assert "printable ASCII characters without spaces" in spaced.stderr
    assert "s3cret" not in spaced.output + spaced.stderr
    assert memory_keyring.store == {}
    unknown = run("token", "set", "nosuch", input=TOKEN + "\n")
    assert unknown.exit_code == 4
    assert "nosuch" in unknown.stderr


def test_a_given_token_is_checked_before_anything_runs_and_never_echoed(
    gpu: str, memory_keyring: MemoryKeyring
) -> None:
    with ProcessStartRecorder() as recorder:
        bad = run("jupyter", "start", gpu, "--token", "s3cret token")
        reserved = run(
            "jupyter", "start", gpu, "--token", TOKEN, "--jupyter-arg", "--ServerApp.token=s3cret"
        )
    assert bad.exit_code == 2
    assert "printable ASCII characters without spaces" in bad.stderr
    assert reserved.exit_code == 2
    assert "Jupyter argument '--ServerApp.token' would put a secret" in reserved.stderr
    for result in (bad, reserved):
        assert "s3cret" not in result.output + result.stderr
    assert TOKEN not in reserved.output + reserved.stderr
    assert _ssh_starts(recorder) == []
    assert memory_keyring.store == {}


# -- no keyring backend: exit 7 with the fixes; what needs no secret keeps working ------------


def test_without_a_keyring_every_command_that_needs_one_exits_7_before_any_ssh(
    gpu: str, no_keyring: None
) -> None:
    with ProcessStartRecorder() as recorder:
        _assert_no_backend(run("token", "set", gpu, input=TOKEN + "\n"))
        _assert_no_backend(run("token", "get", gpu))
        _assert_no_backend(run("token", "delete", gpu))
        _assert_no_backend(run("url", gpu))
        _assert_no_backend(run("jupyter", "start", gpu, "--server"))
        setup = run("jupyter", "setup", gpu, "--password", input="s3cret\ns3cret\n")
        _assert_no_backend(setup)  # before it asks for a password it could not keep
        assert "s3cret" not in setup.output + setup.stderr
    # Nothing reached the remote: start checks the keyring before it starts Jupyter.
    assert _ssh_starts(recorder) == []


def test_without_a_keyring_commands_that_need_no_secret_keep_working(
    no_keyring: None, gpu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `gpu` (the fixture's `sshjup add`) runs after `no_keyring`: adding needs no keyring.
    assert "jup-gpu" in ok("list").stdout
    assert ok("url", "--no-check", "gpu", "--token", "cli-token").stdout == (
        "http://127.0.0.1:18888/?token=cli-token\n"
    )
    monkeypatch.setenv("SSHJUP_TOKEN", "env-token")
    assert ok("url", "--no-check", "gpu").stdout == "http://127.0.0.1:18888/?token=env-token\n"
    ok("remove", "gpu")


def test_a_fresh_process_without_a_keyring_gets_the_message_and_the_fix(
    ssh_config: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert env["PYTHON_KEYRING_BACKEND"] == "keyring.backends.fail.Keyring"

    def sshjup(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sshjup", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    added = sshjup("add", "127.0.0.1", "--port", "9", "--name", "gpu", "--local-port", "18888")
    assert added.returncode == 0, added.stderr
    got = sshjup("token", "get", "gpu")
    assert got.returncode == 7
    assert got.stdout == ""
    assert got.stderr.startswith(NO_BACKEND + "\nHint: install and select a keyring backend")
    url = sshjup("url", "--no-check", "gpu", "--token", "cli-token")
    assert url.returncode == 0, url.stderr
    assert url.stdout == "http://127.0.0.1:18888/?token=cli-token\n"
