"""`sshjup service`: the renderings (golden files, each platform's own checker where it runs
here) and install/uninstall/status through the one writer (issue 8)."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from sshjup import hosts
from sshjup.cli import cli
from sshjup.models import Target
from sshjup.services import install, render

GOLDEN = Path(__file__).parent / "data" / "services"
ARGV = ["/usr/local/bin/sshjup", "keep", "gpu"]
WIN_ARGV = [r"C:\Program Files\Python312\Scripts\sshjup.exe", "keep", "gpu"]
LOG = "/Users/alice/Library/Logs/org.sshjup.keep.gpu.log"


def test_the_systemd_unit_matches_its_golden_file() -> None:
    assert render.systemd_unit("gpu", ARGV) == (GOLDEN / "sshjup-gpu.service").read_text()


def test_the_launchd_agent_matches_its_golden_file_and_round_trips() -> None:
    data = render.launchd_plist("gpu", ARGV, LOG)
    assert data == (GOLDEN / "org.sshjup.keep.gpu.plist").read_bytes()
    loaded = plistlib.loads(data)
    assert loaded["Label"] == "org.sshjup.keep.gpu"
    assert loaded["ProgramArguments"] == ARGV
    assert loaded["RunAtLoad"] is True
    assert plistlib.dumps(loaded, sort_keys=True) == data


def test_the_task_matches_its_golden_file_and_has_the_schema_s_required_parts() -> None:
    text = render.task_xml("gpu", WIN_ARGV)
    assert text == (GOLDEN / "sshjup-gpu.xml").read_text()
    ns = {"t": render.TASK_NS}
    root = ET.fromstring(text)  # noqa: S314 (our own rendering, not untrusted input)

    def text_of(node: ET.Element, path: str) -> str | None:
        found = node.find(path, ns)
        assert found is not None, path
        return found.text

    assert root.tag == f"{{{render.TASK_NS}}}Task"
    assert root.get("version") == "1.2"
    # Actions (with at least one Exec/Command) is the one element the schema requires; the
    # logon trigger, principal and settings are what makes it a per-user service.
    assert text_of(root, "t:Actions/t:Exec/t:Command") == WIN_ARGV[0]
    assert text_of(root, "t:Actions/t:Exec/t:Arguments") == "keep gpu"
    assert root.find("t:Triggers/t:LogonTrigger/t:Enabled", ns) is not None
    assert text_of(root, "t:Principals/t:Principal/t:LogonType") == "InteractiveToken"
    assert text_of(root, "t:Settings/t:ExecutionTimeLimit") == "PT0S"
    spaced = ET.fromstring(render.task_xml("gpu", ["C:\\a b\\sshjup.exe", "keep", "a&b"]))  # noqa: S314
    assert text_of(spaced, "t:Actions/t:Exec/t:Command") == "C:\\a b\\sshjup.exe"


def test_systemd_words_are_quoted_and_specifiers_escaped() -> None:
    unit = render.systemd_unit("gpu", ["/opt/my tools/sshjup", "keep", "100%$x"])
    assert 'ExecStart="/opt/my tools/sshjup" "keep" "100%%$$x"' in unit


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt install systemd)")
    unit = tmp_path / render.unit_name("gpu")
    # An ExecStart that exists here: systemd-analyze checks that the program is executable.
    unit.write_text(render.systemd_unit("gpu", [sys.executable, "-m", "sshjup", "keep", "gpu"]))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime)}

    def verify(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool, "verify", "--user", str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    result = verify(unit)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # systemd-analyze reports a bad line there, exit 0
    broken = tmp_path / "sshjup-broken.service"
    broken.write_text(unit.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    assert "restart specifier" in verify(broken).stderr  # the checker does catch a bad unit


def test_service_install_dry_run_writes_nothing_then_install_status_uninstall(
    ssh_config: Path, tmp_path: Path
) -> None:
    hosts.add_target(hosts.Where.locate(None), Target(name="gpu", hostname="gpu.example.org"))
    unit = install.plan("gpu", "linux").path
    assert str(unit).startswith(str(tmp_path))  # the isolated XDG_CONFIG_HOME

    dry = CliRunner().invoke(cli, ["service", "install", "gpu", "--platform", "linux", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "ExecStart=" in dry.output
    assert "keep" in dry.output
    assert "systemctl --user enable --now sshjup-gpu.service" in dry.output
    assert not unit.exists()

    done = CliRunner().invoke(
        cli, ["service", "install", "gpu", "--platform", "linux", "--no-enable"]
    )
    assert done.exit_code == 0, done.output
    assert unit.read_text().startswith("[Unit]")
    assert oct(unit.stat().st_mode & 0o777) == "0o644"
    assert (
        CliRunner().invoke(cli, ["service", "status", "gpu", "--platform", "linux"]).exit_code == 0
    )

    gone = CliRunner().invoke(
        cli, ["service", "uninstall", "gpu", "--platform", "linux", "--no-disable"]
    )
    assert gone.exit_code == 0, gone.output
    assert not unit.exists()
    assert (
        CliRunner().invoke(cli, ["service", "status", "gpu", "--platform", "linux"]).exit_code == 1
    )


def test_service_install_of_an_unknown_name_is_not_found(ssh_config: Path) -> None:
    result = CliRunner().invoke(cli, ["service", "install", "nope", "--dry-run"])
    assert result.exit_code == 4


def test_windows_command_line_quotes_the_way_the_c_runtime_splits() -> None:
    assert render.windows_command_line(["keep", "gpu"]) == "keep gpu"
    assert render.windows_command_line(["a b", 'c"d', "e\\", ""]) == '"a b" "c\\"d" e\\ ""'
    assert render.windows_command_line(["C:\\x y\\"]) == '"C:\\x y\\\\"'
