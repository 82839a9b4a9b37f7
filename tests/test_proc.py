"""sshjup.proc.run: the posix_spawn path (``ssh -G``'s) gives what the subprocess path gives.

``run(argv, quick=True)`` with no input and no environment of its own runs without
subprocess where posix_spawn exists; ``env={}`` (the same environment, as a copy) takes the
subprocess path. Both run the same real programs here.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import pytest

from sshjup import proc
from sshjup.errors import SshjupError, ToolMissing

pytestmark = pytest.mark.skipif(not proc._CAN_SPAWN, reason="no posix_spawn on this platform")

SCRIPT = (
    "import sys\n"
    "sys.stdout.write('out\\r\\nline\\u2028two\\n' + 'x' * 200000)\n"
    "sys.stderr.write('err: ' + sys.stdin.read() + '|' + sys.argv[1])\n"
    "sys.exit(int(sys.argv[2]))\n"
)


@pytest.mark.parametrize("keep", [True, False], ids=["keep_newlines", "text"])
@pytest.mark.parametrize("code", [0, 3, 255])
def test_it_captures_what_subprocess_captures(code: int, keep: bool) -> None:
    argv = [sys.executable, "-c", SCRIPT, "an arg", str(code)]
    spawned = proc.run(argv, keep_newlines=keep, quick=True)
    classic = proc.run(argv, keep_newlines=keep, env={})
    assert spawned == classic
    assert spawned.returncode == code
    first = "out\r\nline\u2028two\n" if keep else "out\nline\u2028two\n"
    assert spawned.stdout.startswith(first)
    assert len(spawned.stdout) == 200000 + len(first)
    assert spawned.stderr == "err: |an arg"  # (stdin is /dev/null)


def test_a_missing_program_is_tool_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="`ssh` was not found on PATH"):
        proc.run(["ssh", "-G", "x"], keep_newlines=True, quick=True)


def test_a_program_that_outlives_the_timeout_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    start = time.monotonic()
    with pytest.raises(SshjupError, match="did not finish within 3 s"):
        proc.run([sys.executable, "-c", script], keep_newlines=True, timeout=3.0, quick=True)
    assert time.monotonic() - start < 10
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped: no zombie is left either
        os.kill(pid, 0)


def test_no_descriptor_is_left_open() -> None:
    before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    if before is None:
        pytest.skip("no /proc/self/fd here")
    for _ in range(5):
        proc.run([sys.executable, "-c", "print(1)"], keep_newlines=True, quick=True)
    assert set(os.listdir("/proc/self/fd")) == before


def test_the_child_gets_sigpipe_back_as_subprocess_gives_it() -> None:
    """Python ignores SIGPIPE; a child that writes into a closed pipe must die of it."""
    script = "import signal; print(signal.getsignal(signal.SIGPIPE) == signal.SIG_DFL)"
    spawned = proc.run([sys.executable, "-S", "-c", script], quick=True)
    classic = proc.run([sys.executable, "-S", "-c", script], env={})
    assert spawned.stdout == classic.stdout


def test_started_runs_overlap_and_give_what_run_gives() -> None:
    argv = [sys.executable, "-c", SCRIPT, "an arg", "3"]
    script = "import time; a = time.time(); time.sleep(0.5); print(a, time.time())"
    runs = [proc.start([sys.executable, "-S", "-c", script]) for _ in range(3)]
    first = proc.start(argv, keep_newlines=True)
    assert first.wait() == proc.run(argv, keep_newlines=True, env={})
    spans = [[float(w) for w in r.wait().stdout.split()] for r in runs]
    assert max(began for began, _ in spans) < min(ended for _, ended in spans)  # (side by side)
    assert runs[0].wait() is runs[0].wait()  # (waited once: the outcome is kept)


def test_a_started_run_that_is_stopped_is_killed_and_reaped() -> None:
    before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    run = proc.start([sys.executable, "-S", "-c", "import time; time.sleep(60)"])
    pid = run.pid
    assert pid > 0
    run.stop()
    run.stop()  # (twice is harmless: nothing is closed or killed again)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    if before is not None:
        assert set(os.listdir("/proc/self/fd")) == before
    with pytest.raises(SshjupError, match="stopped before it was waited for"):
        run.wait()


def test_a_started_run_that_outlives_its_timeout_is_killed() -> None:
    run = proc.start([sys.executable, "-S", "-c", "import time; time.sleep(60)"], timeout=1.0)
    pid = run.pid
    with pytest.raises(SshjupError, match="did not finish within 1 s"):
        run.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_missing_program_is_tool_missing_when_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="`ssh` was not found on PATH"):
        proc.start(["ssh", "-G", "x"])


# --- fed runs: stdin is a pipe that sshjup writes the input into as it makes it -------------

DIGEST = (
    "import hashlib, sys; data = sys.stdin.buffer.read(); "
    "print(len(data), hashlib.sha256(data).hexdigest())"
)


def _fds() -> set[str] | None:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None


def test_a_fed_run_reads_exactly_the_pieces_sent_in_order() -> None:
    before = _fds()
    text = "".join(f"line {i} caf\u00e9 \udcff\n" for i in range(150_000))  # (~3 MB: > the pipe)
    run = proc.start_fed([sys.executable, "-S", "-c", DIGEST])
    run.send("head\n")
    run.send(text, 10, 2_000_000)
    run.send(text, 2_000_000)  # (the rest of it, from there on)
    run.end_input()  # (what the pipe has not taken goes from a thread)
    out = run.wait()
    expected = ("head\n" + text[10:]).encode("utf-8", "surrogateescape")  # (\udcff: byte ff)
    assert out.returncode == 0
    assert out.stdout.split() == [str(len(expected)), hashlib.sha256(expected).hexdigest()]
    if before is not None:
        assert _fds() == before  # (stdin's write end closed, the thread gone with it)


def test_a_fed_run_that_stops_reading_ends_the_input_quietly() -> None:
    run = proc.start_fed([sys.executable, "-S", "-c", "import sys; sys.exit(3)"])
    run.send("x" * 5_000_000)  # (more than any pipe holds: the reader exits first)
    out = run.wait()
    assert out.returncode == 3
    run.send("more")  # (nothing goes: the run has stopped reading)


def test_a_fed_run_stopped_while_its_writer_waits_is_killed_and_reaped() -> None:
    before = _fds()
    run = proc.start_fed([sys.executable, "-S", "-c", "import time; time.sleep(60)"])
    pid = run.pid
    run.send("y" * 5_000_000)
    run.end_input()  # (the writer thread blocks: nobody reads)
    started = time.monotonic()
    run.stop()
    assert time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    if before is not None:
        assert _fds() == before


def test_a_fed_run_that_outlives_its_timeout_is_killed() -> None:
    run = proc.start_fed([sys.executable, "-S", "-c", "import time; time.sleep(60)"], timeout=1.0)
    pid = run.pid
    run.send("z" * 3_000_000)
    with pytest.raises(SshjupError, match="did not finish within 1 s"):
        run.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
