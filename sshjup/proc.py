"""The one place that starts local processes (ssh, plink, puttygen).

Every call passes an argv list (never a shell string) built from validated values, with a
timeout. A missing program becomes ``ToolMissing`` with the package to install.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from sshjup.errors import SshjupError, ToolMissing

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    import subprocess

_PACKAGES = {
    "ssh": "the OpenSSH client (Debian/Ubuntu: apt install openssh-client)",
    "plink": "PuTTY's command-line tools (Debian/Ubuntu: apt install putty-tools)",
    "puttygen": "PuTTY's command-line tools (Debian/Ubuntu: apt install putty-tools)",
}


def which(program: str) -> str | None:
    import shutil  # noqa: PLC0415 (imports bz2 and lzma: off the start-up path)

    return shutil.which(program)


def run(
    argv: Sequence[str],
    *,
    input_text: str | None = None,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    stdin_devnull: bool = True,
    keep_newlines: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion and capture its output (text, undecodable bytes replaced).

    ``keep_newlines``: decode the output without universal-newline translation, so a ``\r``
    inside a value (``ssh -G`` prints quoted values raw) is not mistaken for a line break.
    """
    import subprocess  # noqa: PLC0415 (commands that run nothing, like `list`, skip its import)

    full_env = None if env is None else {**os.environ, **env}
    try:
        if keep_newlines:
            raw = subprocess.run(
                list(argv),
                input=None if input_text is None else input_text.encode("utf-8"),
                stdin=None if input_text is not None or not stdin_devnull else subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                env=full_env,
                check=False,
            )
            return subprocess.CompletedProcess(
                raw.args,
                raw.returncode,
                raw.stdout.decode("utf-8", "replace"),
                raw.stderr.decode("utf-8", "replace"),
            )
        return subprocess.run(
            list(argv),
            input=input_text,
            stdin=None if input_text is not None or not stdin_devnull else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=full_env,
            check=False,
        )
    except FileNotFoundError as err:
        raise missing(argv[0]) from err
    except subprocess.TimeoutExpired as err:
        msg = f"`{argv[0]}` did not finish within {timeout:.0f} s"
        raise SshjupError(
            msg, hint="check the network and the remote host, then try again"
        ) from err


def spawn(argv: Sequence[str], *, own_group: bool = True) -> subprocess.Popen[bytes]:
    """Start ``argv`` with pipes on its stdin and stdout (stderr inherited) and return it:
    for a process that lives as long as its owner (``sshjup kernel run``'s ssh session).

    The caller owns its end: it closes stdin (the child sees EOF), waits, and terminates
    it if need be. ``own_group``: a process group of its own (POSIX), so a signal the front
    end sends the owner's group does not reach it.
    """
    import subprocess  # noqa: PLC0415

    new_session = own_group and os.name == "posix"
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=new_session,
        )
    except FileNotFoundError as err:
        raise missing(argv[0]) from err


def missing(program: str) -> ToolMissing:
    what = _PACKAGES.get(os.path.basename(program), program)
    msg = f"`{program}` was not found on PATH"
    return ToolMissing(msg, hint=f"install {what}")


__all__ = ["missing", "run", "spawn", "which"]
