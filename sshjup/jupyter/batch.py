"""Jupyter as a batch job on a compute node, the pure part: job scripts, the login-node
scripts that submit, poll and cancel it, and the parsers of what they print.

No I/O (sshjup/jupyter/slurm.py runs them over ssh through the alias). The rules:

* The job starts Jupyter on the node it was given, bound to that node's own address as Slurm
  reports it (``scontrol show node``: ``NodeAddr``), never ``0.0.0.0``; on a port the node's
  kernel picks free (``--ServerApp.port=0``), with port retries off; without a browser.
* The token never appears in any argv, nor in the job script Slurm keeps: the submitting
  script writes it to a 0600 file (a here-document on ssh's stdin); the job reads it into
  ``JUPYTER_TOKEN`` and removes the file before Jupyter starts.
* When Jupyter serves, the job prints ``@@sshjup ready ADDR PORT`` into its output file
  (0600, in sshjup's 0700 state dir on the shared home), which the login node reads back.

The launch-command contract (``--launch-command CMD``, for schedulers other than Slurm): CMD
runs on the login node with the job script on its standard input, and must submit it; the
job then prints the ``ready`` line into ``$SSHJUP_READY_FILE`` (the script does this itself).
``pbs_script`` and ``sge_script`` render the same job for PBS/Torque and SGE.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from sshjup.errors import InvalidInput
from sshjup.jupyter.scripts import (
    LOG_DIR,
    MARK,
    _heredoc_delimiter,
    _prologue,
    check_extra_args,
    host_config_dir,
    host_config_path_lines,
    shell_word,
)
from sshjup.models import ALIAS_PREFIX, JupyterSpec, validate_command_arg, validate_name
from sshjup.records import dataclass

STATE_DIR = LOG_DIR  # ~/.local/state/sshjup (0700): token file, job output
_TIME_RE = re.compile(r"(?:\d+-)?\d{1,3}(?::\d{2}){0,2}")
_JOB_ID_RE = re.compile(r"\d+(?:\.[A-Za-z0-9.-]+)?")


def validate_time(value: str) -> str:
    """A Slurm time limit: ``MINUTES``, ``H:MM:SS``, ``D-HH[:MM[:SS]]``."""
    if not _TIME_RE.fullmatch(value):
        msg = f"--time: {value!r} is not a time limit like 60, 2:00:00 or 1-00:00:00"
        raise InvalidInput(msg, hint="give minutes, H:MM:SS or D-HH:MM:SS")
    return value


def job_name(name: str) -> str:
    return "sshjup-" + validate_name(name)


def _jupyter_words(spec: JupyterSpec) -> str:
    args = check_extra_args(spec.args)
    words = [
        spec.kind,
        "--no-browser",
        '--ServerApp.ip="$addr"',
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
    ]
    if spec.root_dir:
        words.append(shell_word(f"--ServerApp.root_dir={spec.root_dir}"))
    words += [shell_word(a) for a in args]
    return " ".join(words)


def job_body(spec: JupyterSpec, name: str, *, node_address: str) -> str:
    """The shell that runs on the compute node (shared by every scheduler's rendering).

    ``node_address``: a shell expression for the node's address (Slurm: from ``scontrol``).
    """
    validate_name(name)
    lines = [
        *_prologue(spec),
        f'state="{STATE_DIR}"',
        f'ready="${{SSHJUP_READY_FILE:-$state/job-{name}.ready}}"',
        f'tokenfile="$state/job-{name}.token"',
        'JUPYTER_TOKEN=$(cat "$tokenfile") || { echo "'
        + MARK
        + ' error token" > "$ready"; exit 5; }',
        'rm -f "$tokenfile"',
        "export JUPYTER_TOKEN",
        f"addr={node_address}",
        f'if [ -z "$addr" ]; then echo "{MARK} error node-address" > "$ready"; exit 5; fi',
        # The host's own settings (`jupyter setup`: a password) first, as for `jupyter start`.
        *host_config_path_lines(host_config_dir(ALIAS_PREFIX + name)),
        'cd "$HOME" || exit 5',
        f'"$JUPYTER" {_jupyter_words(spec)} &',
        "pid=$!",
        "trap 'kill -TERM \"$pid\" 2>/dev/null' TERM INT",
        "i=0",
        'while kill -0 "$pid" 2>/dev/null; do',
        '  port=$("$JUPYTER" server list --json 2>/dev/null | grep "\\"pid\\": $pid[,}]" '
        "| sed -n 's/.*\"port\": \\([0-9][0-9]*\\).*/\\1/p' | head -n 1)",
        '  if [ -n "$port" ]; then',
        f'    echo "{MARK} ready $addr $port" > "$ready"',
        "    break",
        "  fi",
        "  i=$((i + 1)); sleep 1",
        "done",
        'wait "$pid"',
        "status=$?",
        f'echo "{MARK} exited $status" >> "$ready"',
        'exit "$status"',
    ]
    return "\n".join(lines) + "\n"


HOSTNAME_ADDRESS = "$(hostname -i | cut -d' ' -f1)"
SLURM_NODE_ADDRESS = (
    '$(scontrol show node "${SLURMD_NODENAME:-$(hostname -s)}" -o 2>/dev/null '
    "| tr ' ' '\\n' | sed -n 's/^NodeAddr=//p' | head -n 1)"
)


def slurm_job_script(spec: JupyterSpec, name: str) -> str:
    """The sbatch script (options go on sbatch's command line, where ``$HOME`` expands)."""
    return "#!/bin/sh\n" + job_body(spec, name, node_address=SLURM_NODE_ADDRESS)


def command_job_script(spec: JupyterSpec, name: str) -> str:
    """The job for ``--launch-command``: no scheduler headers; the address from ``hostname -i``."""
    return "#!/bin/sh\n" + job_body(spec, name, node_address=HOSTNAME_ADDRESS)


def pbs_script(spec: JupyterSpec, name: str, *, walltime: str | None = None) -> str:
    """The same job for PBS/Torque (``qsub``); the node's address from ``hostname -i``."""
    head = ["#!/bin/sh", f"#PBS -N {job_name(name)}", "#PBS -j oe"]
    if walltime is not None:
        head.append(f"#PBS -l walltime={validate_time(walltime)}")
    return "\n".join(head) + "\n" + job_body(spec, name, node_address=HOSTNAME_ADDRESS)


def sge_script(spec: JupyterSpec, name: str, *, runtime: str | None = None) -> str:
    """The same job for SGE (``qsub``); the node's address from ``hostname -i``."""
    head = ["#!/bin/sh", f"#$ -N {job_name(name)}", "#$ -j y", "#$ -S /bin/sh"]
    if runtime is not None:
        head.append(f"#$ -l h_rt={validate_time(runtime)}")
    return "\n".join(head) + "\n" + job_body(spec, name, node_address=HOSTNAME_ADDRESS)


def sbatch_options(
    name: str,
    *,
    time_limit: str | None = None,
    partition: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``sbatch`` options as shell words (the output path expands ``$HOME`` on the login node)."""
    words = [
        "--parsable",
        shlex.quote(f"--job-name={job_name(name)}"),
        f'--output="{STATE_DIR}/job-{name}-%j.out"',
    ]
    if time_limit is not None:
        words.append(shlex.quote(f"--time={validate_time(time_limit)}"))
    if partition is not None:
        words.append(shlex.quote(f"--partition={validate_command_arg(partition, '--partition')}"))
    for arg in extra:
        validate_command_arg(arg, "--sbatch-arg")
        if arg.split("=", 1)[0] in {"--output", "-o", "--parsable", "--job-name", "-J", "--wrap"}:
            msg = f"--sbatch-arg {arg!r} is set by sshjup"
            raise InvalidInput(msg, hint="leave it out: sshjup names the job and its output")
        words.append(shlex.quote(arg))
    return words


def submit_script(
    spec: JupyterSpec,
    name: str,
    token: str,
    job_script: str,
    submit_words: Sequence[str],
) -> str:
    """On the login node: write the token file (0600), then submit ``job_script`` on stdin.

    ``submit_words``: the submit command as shell words (``sbatch OPTIONS`` or a launch
    command). Prints ``@@sshjup job ID`` (the first word of the command's last line).
    """
    if not token or not all("!" <= ch <= "~" for ch in token):
        msg = "the token must be non-empty printable ASCII without spaces"
        raise InvalidInput(
            msg, hint="give another token (--token, $SSHJUP_TOKEN or `sshjup token set`)"
        )
    delim = _heredoc_delimiter(token, job_script)
    lines = [
        *_prologue(spec, need_jupyter=False),
        f'state="{STATE_DIR}"',
        'mkdir -p "$state" && chmod 700 "$state" || { echo "' + MARK + ' error state"; exit 5; }',
        f'rm -f "$state/job-{name}.ready"',
        f'tokenfile="$state/job-{name}.token"',
        f"cat > \"$tokenfile\" <<'{delim}' || exit 5",
        token,
        delim,
        'chmod 600 "$tokenfile"',
        f'SSHJUP_READY_FILE="$state/job-{name}.ready"; export SSHJUP_READY_FILE',
        f"out=$({' '.join(submit_words)} 2>&1 <<'{delim}'",
        job_script.rstrip("\n"),
        delim,
        ")",
        "rc=$?",
        'if [ "$rc" != 0 ]; then rm -f "$tokenfile"; '
        f'echo "{MARK} begin error"; printf "%s\\n" "$out"; echo "{MARK} end error"; exit 8; fi',
        "id=$(printf '%s\\n' \"$out\" | tail -n 1 | cut -d';' -f1 | tr -d ' ')",
        f'echo "{MARK} job $id"',
    ]
    return "\n".join(lines) + "\n"


def _job_id(job_id: str) -> str:
    if not _JOB_ID_RE.fullmatch(job_id):
        msg = f"{job_id!r} is not a job id"
        raise InvalidInput(msg, hint="a Slurm job id is a number")
    return job_id


def poll_script(job_id: str, name: str, scheduler: str = "slurm") -> str:
    """``squeue`` for the job (state, reason, node, time left) and the job's ready file.

    For a ``--launch-command`` job (``scheduler="command"``) the state is ``UNKNOWN`` until
    the ready file says Jupyter serves: sshjup cannot ask another scheduler.
    """
    job_id = _job_id(job_id)
    if scheduler == "slurm":
        query = f"q=$(squeue -h -j {job_id} -o '%T|%r|%N|%L' 2>/dev/null | head -n 1)"
    else:
        query = "q='UNKNOWN|||'"
    return "\n".join(
        [
            "set -u",
            f'state="{STATE_DIR}"',
            query,
            f'echo "{MARK} queue $q"',
            f'if [ -f "$state/job-{name}.ready" ]; then',
            f'  grep "^{MARK} " "$state/job-{name}.ready"',
            "fi",
            "",
        ]
    )


def cancel_script(job_id: str, name: str, scheduler: str = "slurm") -> str:
    """``scancel`` the job (a ``--launch-command`` job is left to its own scheduler)."""
    job_id = _job_id(job_id)
    return "\n".join(
        [
            "set -u",
            f"scancel {job_id} 2>&1" if scheduler == "slurm" else ":",
            f'rm -f "{STATE_DIR}/job-{name}.token" "{STATE_DIR}/job-{name}.ready"',
            f'echo "{MARK} cancelled"',
            "",
        ]
    )


@dataclass(frozen=True)
class JobState:
    """One poll of a job: ``state`` is Slurm's (PENDING, RUNNING...) or ``""`` when gone."""

    state: str
    reason: str = ""
    node: str = ""
    time_left: str = ""
    address: str | None = None
    port: int | None = None
    exited: int | None = None
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.address is not None and self.port is not None


_ADDR_RE = re.compile(r"[A-Za-z0-9.:-]{1,253}")


def parse_poll(stdout: str) -> JobState:
    queue = ""
    address: str | None = None
    port: int | None = None
    exited: int | None = None
    error: str | None = None
    prefix = MARK + " "
    # Lines end at "\n" only (a carriage return already did: remote output is read with
    # universal newlines): str.splitlines() would also cut squeue's text at \v, \f, NEL or
    # U+2028, so status --json would not carry what the scheduler said.
    for line in stdout.split("\n"):
        if not line.startswith(prefix):
            continue
        key, _, value = line[len(prefix) :].partition(" ")
        if key == "queue":
            queue = value
        elif key == "ready":
            addr, _, port_text = value.partition(" ")
            if _ADDR_RE.fullmatch(addr) and port_text.isdigit() and 0 < int(port_text) < 65536:  # noqa: PLR2004
                address, port = addr, int(port_text)
        elif key == "exited" and value.lstrip("-").isdigit():
            exited = int(value)
        elif key == "error":
            error = value
    parts = ([*queue.split("|"), "", "", "", ""])[:4]
    state, reason, node, left = (p.strip() for p in parts)
    return JobState(state, reason, node, left, address, port, exited, error)


__all__ = [
    "SLURM_NODE_ADDRESS",
    "STATE_DIR",
    "JobState",
    "cancel_script",
    "command_job_script",
    "job_body",
    "job_name",
    "parse_poll",
    "pbs_script",
    "poll_script",
    "sbatch_options",
    "sge_script",
    "slurm_job_script",
    "submit_script",
    "validate_time",
]
