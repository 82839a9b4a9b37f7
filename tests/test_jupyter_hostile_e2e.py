"""End to end against a hostile remote (tests/support/hostile_remote.py): escape sequences in
remote text, tokens in remote errors, a squatter on the remote port after `jupyter stop`, and
the browser's command line of `sshjup open`."""

from __future__ import annotations

import stat
import webbrowser
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sshjup import hosts
from sshjup.cli import cli
from sshjup.jupyter import service
from sshjup.store.tokens import SERVICE
from tests.support import remote_jupyter
from tests.support.hostile_remote import LEAKED_TOKEN, LEAKED_WORD, hostile_jupyter, squat
from tests.support.memkeyring import MemoryKeyring
from tests.support.remote_jupyter import (
    START_TIMEOUT,
    ProcessStartRecorder,
    ProcSampler,
    RemoteAccount,
    invoke,
)

remote_account = remote_jupyter.remote_account
pytestmark = pytest.mark.e2e


def use_jupyter(name: str, command: Path) -> None:
    """Remember ``command`` as the host's remote ``jupyter`` (what ``--jupyter-cmd`` keeps)."""
    service.remember(hosts.Where.locate(None), name, command=str(command))


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_remote_text_with_escape_sequences_reaches_the_terminal_escaped(
    remote_account: RemoteAccount,
) -> None:
    h = remote_account.add("jr")
    use_jupyter(h.name, hostile_jupyter(remote_account, "escapes"))
    result = run("jupyter", "status", h.name)
    shown = result.stdout + result.stderr
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b]0;pwned\\x07" in shown  # the root_dir, escaped, not dropped


def test_a_token_in_remote_error_output_is_masked_in_the_message(
    remote_account: RemoteAccount, memory_keyring: MemoryKeyring
) -> None:
    h = remote_account.add("jr")
    use_jupyter(h.name, hostile_jupyter(remote_account, "leaky-error"))
    result = run("jupyter", "status", h.name)
    assert result.exit_code == 8, result.output + result.stderr
    assert "boom" in result.stderr
    assert LEAKED_TOKEN not in result.stderr
    assert LEAKED_WORD not in result.stderr
    assert "token=***" in result.stderr


def test_after_jupyter_stop_a_squatter_on_the_remote_port_never_gets_the_token(
    remote_account: RemoteAccount, memory_keyring: MemoryKeyring
) -> None:
    h = remote_account.add("jr")
    invoke("jupyter", "setup", h.name, "--server", "--jupyter-cmd", str(h.dirs.command))
    invoke("jupyter", "start", h.name, "--timeout", str(int(START_TIMEOUT)))
    token = memory_keyring.store[(SERVICE, h.alias)]
    assert token in invoke("url", "--no-check", h.name).stdout  # the server sshjup started
    invoke("jupyter", "stop", h.name)
    with squat(h.remote_port) as received:
        for command in (("url", h.name), ("open", h.name, "--print-only")):
            refused = run(*command)
            assert refused.exit_code == 4, refused.output + refused.stderr
            assert token not in refused.stdout + refused.stderr
            assert "was stopped" in refused.stderr
    assert all(token.encode() not in data for data in received)
    run("down", h.name)


def test_open_gives_the_browser_a_0600_page_and_no_token_on_any_command_line(
    remote_account: RemoteAccount,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    h = remote_account.add("jr")
    invoke("jupyter", "setup", h.name, "--server", "--jupyter-cmd", str(h.dirs.command))
    invoke("jupyter", "start", h.name, "--timeout", str(int(START_TIMEOUT)))
    token = memory_keyring.store[(SERVICE, h.alias)]
    seen = tmp_path / "browser-saw"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {seen}\n')
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(browser))
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read $BROWSER again
    monkeypatch.setattr(webbrowser, "_browsers", {})
    sampler = ProcSampler()
    sampler.start()
    with ProcessStartRecorder() as recorder:
        opened = invoke("open", h.name)
    sampler.stop()
    assert token not in opened.stdout + opened.stderr
    arg = seen.read_text()
    assert arg.startswith("file://") and token not in arg
    page = Path(arg.removeprefix("file://"))
    assert token in page.read_text()
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert stat.S_IMODE(page.parent.stat().st_mode) == 0o700
    assert any(str(browser) in repr(a) for _e, a in recorder.events), "browser never started"
    for _event, args in recorder.events:
        assert token not in repr(args)
    for cmdline in sampler.cmdlines:
        assert token.encode() not in cmdline
    again = invoke("open", h.name)
    assert not page.exists(), "the page of the previous run is removed"
    assert token not in again.stdout
    run("down", h.name)
