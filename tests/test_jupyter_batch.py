"""The pure batch-job part (sshjup/jupyter/batch.py): job scripts (golden files for Slurm, PBS
and SGE), sbatch options, the submit script's handling of the token, and the poll parser.

Regenerate the golden files after an intended change with ``SSHJUP_REGEN_GOLDEN=1``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sshjup.errors import InvalidInput
from sshjup.jupyter import batch
from sshjup.jupyter.scripts import parse_markers
from sshjup.models import JupyterSpec

GOLDEN = Path(__file__).parent / "golden" / "batch"
SPEC = JupyterSpec(kind="lab", command="~/venv/bin/jupyter", root_dir="~/work")
TOKEN = "47819c652a618b1f319de765823e03efd1da8163601659d7"


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("slurm.sh", lambda: batch.slurm_job_script(SPEC, "hpc")),
        ("pbs.sh", lambda: batch.pbs_script(SPEC, "hpc", walltime="2:00:00")),
        ("sge.sh", lambda: batch.sge_script(SPEC, "hpc", runtime="2:00:00")),
    ],
)
def test_job_scripts_match_their_golden_files(name: str, render: object) -> None:
    text = render()  # type: ignore[operator]
    path = GOLDEN / name
    if os.environ.get("SSHJUP_REGEN_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("name", ["slurm.sh", "pbs.sh", "sge.sh"])
def test_job_scripts_are_valid_sh_and_bind_the_node_address_with_retries_off(name: str) -> None:
    text = (GOLDEN / name).read_text()
    assert subprocess.run(["sh", "-n"], input=text, text=True, timeout=10).returncode == 0
    assert '--ServerApp.ip="$addr" --ServerApp.port=0 --ServerApp.port_retries=0' in text
    assert "0.0.0.0" not in text  # noqa: S104 (checking it is absent)
    # The token comes from the 0600 file, which is gone before Jupyter starts.
    read, removed = (
        text.index('JUPYTER_TOKEN=$(cat "$tokenfile")'),
        text.index('rm -f "$tokenfile"'),
    )
    assert read < removed < text.index('"$JUPYTER" lab ')


def test_slurm_finds_the_node_address_with_scontrol() -> None:
    assert "scontrol show node" in batch.SLURM_NODE_ADDRESS
    assert "NodeAddr=" in batch.SLURM_NODE_ADDRESS


def test_sbatch_options_are_quoted_and_checked() -> None:
    words = batch.sbatch_options(
        "hpc", time_limit="1-02:00:00", partition="gpu", extra=("--gres=gpu:1", "--mem=8G")
    )
    assert words == [
        "--parsable",
        "--job-name=sshjup-hpc",
        '--output="${XDG_STATE_HOME:-$HOME/.local/state}/sshjup/job-hpc-%j.out"',
        "--time=1-02:00:00",
        "--partition=gpu",
        "--gres=gpu:1",
        "--mem=8G",
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_limit": "2 hours"}, "time limit"),
        ({"partition": "gpu;rm"}, "not allowed"),
        ({"extra": ("--output=/tmp/x",)}, "set by sshjup"),
        ({"extra": ("--wrap=id",)}, "set by sshjup"),
        ({"extra": ("$(id)",)}, "not allowed"),
    ],
)
def test_sbatch_options_refuse_shell_syntax_and_what_sshjup_sets(
    kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(InvalidInput, match=match):
        batch.sbatch_options("hpc", **kwargs)  # type: ignore[arg-type]


def test_the_token_reaches_a_0600_file_through_a_here_document_only(tmp_path: Path) -> None:
    """Run the submit script with a stand-in submit command; the token is never an argument."""
    fake = tmp_path / "fake-sbatch"
    fake.write_text("#!/bin/sh\ncat > \"$HOME/submitted.sh\"\necho '4242;cluster'\n")
    fake.chmod(0o755)
    script = batch.submit_script(
        SPEC, "hpc", TOKEN, batch.slurm_job_script(SPEC, "hpc"), [str(fake)]
    )
    lines = script.splitlines()
    assert [i for i, line in enumerate(lines) if TOKEN in line] == [lines.index(TOKEN)]  # alone
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    cp = subprocess.run(
        ["sh", "-s"], input=script, capture_output=True, text=True, env=env, timeout=30
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert parse_markers(cp.stdout).values["job"] == "4242"
    token_file = tmp_path / ".local" / "state" / "sshjup" / "job-hpc.token"
    assert token_file.read_text() == TOKEN + "\n"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.parent.stat().st_mode & 0o777 == 0o700
    submitted = (tmp_path / "submitted.sh").read_text()
    assert submitted == batch.slurm_job_script(SPEC, "hpc")
    assert TOKEN not in submitted  # what the scheduler keeps has no token


def test_a_failed_submission_reports_its_output_and_removes_the_token(tmp_path: Path) -> None:
    fake = tmp_path / "fake-sbatch"
    fake.write_text(
        "#!/bin/sh\necho 'sbatch: error: invalid partition specified: nope' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    script = batch.submit_script(SPEC, "hpc", TOKEN, "#!/bin/sh\n", [str(fake)])
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    cp = subprocess.run(
        ["sh", "-s"], input=script, capture_output=True, text=True, env=env, timeout=30
    )
    assert cp.returncode == 8
    assert "invalid partition" in parse_markers(cp.stdout).blocks["error"]
    assert not (tmp_path / ".local" / "state" / "sshjup" / "job-hpc.token").exists()


def test_poll_output_is_parsed() -> None:
    pending = batch.parse_poll("noise\n@@sshjup queue PENDING|Resources||1:00:00\n")
    assert (pending.state, pending.reason, pending.ready) == ("PENDING", "Resources", False)
    running = batch.parse_poll(
        "@@sshjup queue RUNNING|None|node07|59:58\n@@sshjup ready 10.1.2.7 41234\n"
    )
    assert (running.node, running.time_left, running.address, running.port) == (
        "node07",
        "59:58",
        "10.1.2.7",
        41234,
    )
    gone = batch.parse_poll("@@sshjup queue \n@@sshjup ready 10.1.2.7 41234\n@@sshjup exited 0\n")
    assert (gone.state, gone.exited) == ("", 0)
    hostile = batch.parse_poll("@@sshjup queue RUNNING|None|n|1\n@@sshjup ready a;b 99999\n")
    assert hostile.address is None and hostile.port is None


@pytest.mark.parametrize("bad", ["1; rm -rf ~", "", "abc", "$(id)"])
def test_job_ids_are_checked_before_they_reach_a_script(bad: str) -> None:
    with pytest.raises(InvalidInput):
        batch.poll_script(bad, "hpc")
    with pytest.raises(InvalidInput):
        batch.cancel_script(bad, "hpc")
