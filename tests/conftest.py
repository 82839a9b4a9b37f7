"""Test isolation: nothing a test does may reach the real ~/.ssh, ~/.putty, keyring or app dir."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.memkeyring import MemoryKeyring

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = ["tests.support.fixtures"]

# The shared real-world inputs live beside the checkout; SSHJUP_CORPUS points elsewhere.
CORPUS = Path(os.environ.get("SSHJUP_CORPUS") or ROOT.parent / "shared" / "corpus")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI (SSHJUP_REQUIRE_REAL_TOOLS=1) a test that skips for a missing tool fails instead.

    CI installs every tool the tests use, so a skip there means a set-up bug, not a pass.
    Tests marked ``windows`` (the live registry) may still skip on Linux, and tests of the
    shared real-world corpus skip where it is not beside the checkout (it is never copied in).
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        os.environ.get("SSHJUP_REQUIRE_REAL_TOOLS") == "1"
        and report.skipped
        and item.get_closest_marker("windows") is None
        and not hasattr(report, "wasxfail")
        and "corpus" not in str(report.longrepr).lower()
    ):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI, where every real tool must be present: {reason}"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every location sshjup (and PuTTY, keyring, XDG) reads at a temp dir."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SSHJUP_HOME", str(tmp_path / "app"))
    monkeypatch.setenv("SSHJUP_SSH_CONFIG", str(home / ".ssh" / "config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("PUTTYDIR", str(home / ".putty"))
    monkeypatch.delenv("PUTTYSESSIONS", raising=False)
    monkeypatch.delenv("SSHJUP_TOKEN", raising=False)
    monkeypatch.delenv("SSHJUP_DEBUG", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    # Unix socket paths must stay short: pytest's tmp_path can be too long for them.
    control = Path(tempfile.mkdtemp(prefix="sj"))
    monkeypatch.setenv("SSHJUP_CONTROL_DIR", str(control))
    from sshjup.ssh import openssh

    openssh.capabilities.cache_clear()
    yield home
    for leftover in control.iterdir():
        leftover.unlink()
    control.rmdir()


@pytest.fixture
def ssh_config(isolated: Path) -> Path:
    return isolated / ".ssh" / "config"


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring backend for one test; the previous backend comes back after."""
    import keyring

    prev = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(prev)


def corpus_dir(kind: str) -> Path:
    return CORPUS / kind
