"""A hostile scheduler: what ``squeue`` says of a job (state, reason, node, time left) is the
login node's text, and ``jupyter status`` / ``jupyter start --slurm`` print it.

Unit level, at the Slurm code's seam: ``remote.run_script`` runs sshjup's real poll, submit
and cancel scripts with a local ``sh -s`` whose PATH starts with a stand-in ``squeue``,
``sbatch`` and ``scancel`` (as tests/test_jupyter_batch.py does for ``sbatch``). The stand-in
``squeue`` answers with terminal escapes (CSI, OSC with BEL), C0/C1 controls, a carriage
return, Unicode line separators and bidi overrides, newlines and very long text.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sshjup import proc
from sshjup.cli import cli
from sshjup.jupyter import batch, slurm
from tests.support.net import free_port

# Everything a terminal acts on, and every way text can look like more than one line
# (printable() keeps tab and newline; sshjup's own lines are separated by newlines).
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)

OSC_TITLE = "\x1b]0;pwned\x07"
CSI_CLEAR = "\x1b[2J\x1b[H"
LONG = "x" * 20_000
NODE = f"cn01{CSI_CLEAR}\u202eevil\x9b31m"
REASON = f"Resources{OSC_TITLE}\x0b\x0c\u2028\x85{LONG}"
LEFT = "1:00:00\x1b[31m\x01\x7f"  # (not NUL: the login shell's $(...) drops it)
CUT = "\rRUNNING|fake|line|here"  # a CR ends the line (remote output: universal newlines)


@pytest.fixture
def hpc(ssh_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A managed host ``hpc`` whose login node is this machine's ``sh``, with a stand-in
    ``squeue`` that prints the file ``queue`` (written by each test)."""
    added = CliRunner().invoke(cli, ["add", "hpc.example.org", "--local-port", str(free_port())])
    assert added.exit_code == 0, added.output
    fake_bin, home = tmp_path / "bin", tmp_path / "login-home"
    fake_bin.mkdir()
    home.mkdir()
    queue = tmp_path / "queue"
    scripts = {
        "squeue": f'#!/bin/sh\ncat "{queue}"\n',
        "sbatch": '#!/bin/sh\ncat > /dev/null\necho "4242;cluster"\n',
        "scancel": f'#!/bin/sh\necho "$@" >> "{tmp_path / "cancelled"}"\n',
    }
    for name, text in scripts.items():
        (fake_bin / name).write_text(text)
        (fake_bin / name).chmod(0o755)

    def run_script(alias: str, cfg: Path, script: str, **_: Any) -> Any:
        assert alias == "jup-hpc"
        argv = ["env", f"HOME={home}", f"PATH={fake_bin}:{os.environ.get('PATH', '/bin')}"]
        return proc.run([*argv, "sh", "-s"], input_text=script, timeout=30)  # (as ssh's is read)

    monkeypatch.setattr(slurm.remote, "run_script", run_script)
    monkeypatch.setattr(slurm, "POLL_INTERVAL", 0.01)
    monkeypatch.setenv("SSHJUP_TOKEN", "t" * 48)
    return {"queue": queue, "cancelled": tmp_path / "cancelled"}


def _squeue_says(hpc: dict[str, Path], state: str, reason: str, node: str, left: str) -> str:
    """What the stand-in squeue prints for ``-o '%T|%r|%N|%L'``, and a second line (a
    newline inside a field: the poll keeps the first line only). Returns the first line."""
    first = f"{state}|{reason}|{node}|{left}"
    hpc["queue"].write_bytes(f"{first}{CUT}\n{OSC_TITLE}second line|x|y|z\n".encode())
    return first


def _known_job(node: str) -> None:
    slurm._save_jobs({"hpc": slurm.Job("hpc", "4242", "slurm", "10.0.0.5", 8889, node)})


def _assert_safe(text: str, lines: int | None = None) -> None:
    found = RAW_CONTROL.findall(text)
    assert not found, f"raw control characters reach the terminal: {found[:5]!r}"
    assert "\x1b" not in text
    if lines is not None:
        assert len(text.splitlines()) == lines, text[:400]


# What squeue answers: a running job on a hostile node, a pending one with a hostile reason,
# and a hostile state.
HOSTILE_POLLS = pytest.mark.parametrize(
    ("state", "reason", "node", "left"),
    [
        ("RUNNING", "None", NODE, LEFT),
        ("PENDING", REASON, "", ""),
        (f"RUNNING{OSC_TITLE}{CSI_CLEAR}{LONG}", REASON, NODE, LEFT),
    ],
    ids=["running-hostile-node", "pending-hostile-reason", "hostile-state"],
)


def _status(*args: str) -> Result:
    return CliRunner().invoke(cli, ["jupyter", "status", "hpc", *args])


@HOSTILE_POLLS
def test_jupyter_status_prints_a_hostile_schedulers_text_escaped_on_one_line(
    hpc: dict[str, Path], state: str, reason: str, node: str, left: str
) -> None:
    _squeue_says(hpc, state, reason, node, left)
    _known_job(NODE)  # (the node an earlier poll reported, kept in jobs.json)
    result = _status()
    assert result.exit_code == (0 if state == "RUNNING" else 1), result.output
    _assert_safe(result.stdout, lines=1)
    _assert_safe(result.stderr, lines=1)  # ("Asking jup-hpc's scheduler ...")
    assert result.stdout.startswith("Job 4242: ")
    assert "\\x1b" in result.stdout  # shown, escaped: not dropped
    if state == "PENDING":
        assert "\\x1b]0;pwned\\x07\\x0b\\x0c\\u2028\\x85" + LONG in result.stdout
    assert "fake" not in result.stdout


@HOSTILE_POLLS
def test_jupyter_status_json_carries_a_hostile_schedulers_text_faithfully_and_safely(
    hpc: dict[str, Path], state: str, reason: str, node: str, left: str
) -> None:
    first = _squeue_says(hpc, state, reason, node, left)
    _known_job("cn01")
    result = _status("--json")
    assert result.exit_code == (0 if state == "RUNNING" else 1), result.output
    _assert_safe(result.stdout)
    assert result.stdout.isascii()  # every control and non-ASCII character as \uXXXX
    data = json.loads(result.stdout)
    expected = batch.parse_poll(f"@@sshjup queue {first}\n")
    assert (data["state"], data["reason"], data["node"], data["time_left"]) == (
        expected.state,
        expected.reason,
        expected.node or "cn01",
        expected.time_left,
    )
    assert data["running"] is (expected.state == "RUNNING")
    if reason == REASON:  # the text itself, byte for byte, once decoded
        assert data["reason"] == REASON.strip()
    if node == NODE:
        assert data["node"] == NODE
    assert "second line" not in result.stdout  # the poll keeps the first line only
    assert "fake" not in result.stdout


def test_start_slurm_progress_and_error_escape_a_hostile_reason(hpc: dict[str, Path]) -> None:
    """PENDING with a hostile reason until the (zero) timeout: every progress line and the
    error stay one line each, escaped; the job is cancelled."""
    _squeue_says(hpc, "PENDING", REASON, "", "")
    result = CliRunner().invoke(cli, ["jupyter", "start", "hpc", "--slurm", "--timeout", "0"])
    assert result.exit_code == 8, result.output
    _assert_safe(result.stdout + result.stderr)
    lines = result.stderr.splitlines()
    assert lines[0] == "submitted job 4242 on jup-hpc"
    [progress] = [line for line in lines if line.startswith("job 4242: PENDING (")]
    assert "\\x1b]0;pwned\\x07\\x0b\\x0c\\u2028\\x85" + LONG in progress
    [error] = [line for line in lines if line.startswith("Error: ")]
    assert "was still PENDING after 0 s; Slurm's reason: Resources\\x1b]0;pwned" in error
    assert hpc["cancelled"].read_text().split() == ["4242"]
    assert not slurm.load_jobs()
