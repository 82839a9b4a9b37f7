"""sshjup's .reg export imported by a real registry implementation: Wine's ``reg import``, read
back with ``reg query`` (names, REG_SZ vs REG_DWORD, the escaped session name).

Beside the dict-backed fake of tests/test_putty_registry.py. Wine runs headless (no display) in
a throwaway prefix under tmp_path; CI installs Debian's ``wine`` (.ci/setup).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sshjup.models import Forward, Target
from sshjup.putty.regfile import render_reg, session_key
from sshjup.putty.settings import session_settings

pytestmark = pytest.mark.e2e

WINE = shutil.which("wine")


def _wine(prefix: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WINEPREFIX": str(prefix), "WINEDEBUG": "-all", "DISPLAY": ""}
    env.pop("WAYLAND_DISPLAY", None)
    return subprocess.run(
        [str(WINE), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _stop_wineserver(prefix: Path) -> None:
    server = shutil.which("wineserver")
    if server:
        env = {**os.environ, "WINEPREFIX": str(prefix)}
        subprocess.run([server, "-k"], env=env, timeout=60, check=False, capture_output=True)
        subprocess.run([server, "-w"], env=env, timeout=60, check=False, capture_output=True)


def test_wine_reg_imports_our_export_with_every_name_type_and_escaped_session(
    tmp_path: Path,
) -> None:
    if WINE is None:
        pytest.skip("Wine is not installed (Debian: apt-get install wine; .ci/setup does)")
    target = Target(
        "gpu", "gpu.example.org", user="alice", port=2222, forwards=(Forward(8888, 8889),)
    )
    values = session_settings(target, ppk_path=None, host_keys=[]).values
    odd = "odd name: 50% *?"
    sessions: dict[str, dict[str, str | int]] = {
        "jup-gpu": dict(values),
        odd: {"HostName": "h", "PortNumber": 22},
    }
    reg = tmp_path / "export.reg"
    reg.write_bytes(render_reg(sessions))
    prefix = tmp_path / "wineprefix"
    try:
        imported = _wine(prefix, "reg", "import", str(reg))
        assert imported.returncode == 0, imported.stdout + imported.stderr
        for name, settings in sessions.items():
            key = session_key(name)
            queried = _wine(prefix, "reg", "query", key)
            assert queried.returncode == 0, (key, queried.stdout + queried.stderr)
            found: dict[str, tuple[str, str]] = {}
            for line in queried.stdout.splitlines():
                parts = line.strip().split(None, 2)
                if len(parts) >= 2 and parts[1].startswith("REG_"):
                    found[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
            for vname, value in settings.items():
                assert vname in found, (name, vname)
                kind, text = found[vname]
                if isinstance(value, int):
                    assert kind == "REG_DWORD", (vname, kind)
                    assert int(text, 16) == value % 2**32, (vname, text)
                else:
                    assert kind == "REG_SZ", (vname, kind)
                    assert text == value, (vname, text)
    finally:
        _stop_wineserver(prefix)
